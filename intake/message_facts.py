"""A message's facts for the message rules (`validators.facts.MessageFacts`), and the part of
them that its raw bytes alone decide (`intake.derived.MessageBytes`).

Ingest builds the facts from the parsed mail and keeps that part by the raw message's sha256;
retriage builds them again from what was kept, so it neither parses the raw mail nor expands
its archives again (a season's retriage spent 2.4 s parsing mail and 3.3 s re-expanding
archives for these four values).  What depends on the campaign (the subject's deviations) is
matched again from the kept subject by the caller.
"""

from __future__ import annotations

from campaign import Campaign
from intake.derived import Derived, MessageBytes
from parsers.archives import expand
from parsers.cloud_links import find_cloud_links
from parsers.mail import parse_mail
from parsers.model import Attachment, CloudLink, Contact, Expanded, ParsedMail, SubjectDeviation
from programs import unar
from store import models as m
from store.blobs import BlobStore
from validators.facts import MessageFacts


def materials(mail: ParsedMail) -> list[Attachment]:
    """The attached files, without images embedded in the HTML body (logos, pasted pictures)."""
    return [a for a in mail.attachments if not a.inline]


def message_facts(
    campaign: Campaign,
    mail: ParsedMail,
    unit_name: str | None,
    deviations: tuple[SubjectDeviation, ...],
    expanded: Expanded,
    cloud_links: list[CloudLink],
    msg: m.Message,
) -> MessageFacts:
    said = MessageBytes(mail.subject, len(materials(mail)), cloud_links, expanded.problems)
    return facts_from_bytes(campaign, said, unit_name, deviations, msg)


def facts_from_bytes(
    campaign: Campaign,
    said: MessageBytes,
    unit_name: str | None,
    deviations: tuple[SubjectDeviation, ...],
    msg: m.Message,
) -> MessageFacts:
    return MessageFacts(
        campaign=campaign,
        kind="submission",
        subject=said.subject,
        unit=unit_name,
        subject_deviations=deviations,
        contact=Contact(msg.contact_name, msg.contact_phone, msg.contact_email),
        attachment_count=said.attachment_count,
        cloud_links=said.cloud_links,
        archive_problems=said.archive_problems,
        received_at=msg.received_at,
    )


def keep_message_facts(blobs: BlobStore, raw_sha256: str, facts: MessageFacts) -> None:
    """Keep what the message's bytes alone decided, for retriage (not when a RAR tool was
    missing or too slow here: that says nothing about the message)."""
    said = MessageBytes(
        facts.subject, facts.attachment_count, facts.cloud_links, facts.archive_problems
    )
    Derived(blobs).keep_message(raw_sha256, said)


def message_bytes(blobs: BlobStore, raw_sha256: str) -> MessageBytes:
    """What the stored raw message says: as kept, else parsed and expanded again (and kept)."""
    derived = Derived(blobs)
    said = derived.message(raw_sha256)
    if said is None:  # kept by no ingest (an older version, a RAR tool missing then)
        mail = parse_mail(blobs.get(raw_sha256), blobs)
        expanded = expand(materials(mail), rar=unar.read_member, sink=blobs)
        links = find_cloud_links(mail.text, mail.html)
        said = MessageBytes(mail.subject, len(materials(mail)), links, expanded.problems)
        derived.keep_message(raw_sha256, said)
    return said
