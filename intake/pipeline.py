"""One raw message in, stored message, cases, files and findings out.

Order matters for never losing or double-processing a message: the raw bytes are stored
durably first, then the message is claimed in the database (unique raw hash and Message-ID,
`intake.claims`), and only then worked on.  A failure rolls the work back and records the
message as `quarantined` with the error, its raw bytes kept for staff.

This module owns that order and the first look at a message (automatic mail, submission or
other, which unit sent it); storing, reading and judging its cases is `intake.triage`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from campaign import Campaign
from intake import claims
from intake.claims import TRANSIENT_ERRORS, plausible
from intake.config import Settings
from intake.message_facts import keep_message_facts, materials, message_facts
from intake.replies import queue_reply
from intake.triage import Triage, add_findings, fit
from parsers.archives import expand
from parsers.call_match import submission_or_other
from parsers.classify import classify_automatic
from parsers.cloud_links import find_cloud_links
from parsers.contacts import extract_contact, extract_people
from parsers.grouping import group_files
from parsers.mail import parse_mail
from parsers.model import Kind
from parsers.subject import find_unit_in_names, match_subject
from programs import unar
from programs.warm_converter import DocumentConverter
from reports.thumbnails import cache_folder
from store import models as m
from store import repo
from store.blobs import BlobStore, sha256_hex
from validators.registry import judge_message

log = logging.getLogger(__name__)

# "deferred": a dead run's claim whose retry delay has not passed yet (`intake.claims`).
Outcome = Literal["processed", "ignored", "duplicate", "deferred", "quarantined"]


@dataclass
class Pipeline:
    campaign: Campaign
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    settings: Settings
    libreoffice: str | None = None
    workers: int = 2
    warm: DocumentConverter | None = None
    # Off for a backfill of old mail, which was answered when it first arrived.
    replies: bool = True

    @property
    def triage(self) -> Triage:
        return Triage(
            self.campaign,
            self.blobs,
            self.libreoffice,
            self.workers,
            self.warm,
            cache_folder(self.settings.reports),
        )

    def ingest(
        self,
        raw: bytes,
        *,
        source: str = "files",
        source_key: str | None = None,
        arrived_at: datetime | None = None,
        retry_quarantined: bool = False,
    ) -> Outcome:
        """Store, claim and process one message.  `retry_quarantined`: the same bytes handed
        in again by staff (`intake ingest`, `intake requeue`) replay a quarantined message."""
        digest = sha256_hex(raw)
        dedupe_key = claims.dedupe_key(raw)
        if claims.is_known(self.sessions, digest, dedupe_key, retry_quarantined):
            return "duplicate"
        self.blobs.put(raw)
        claimed = claims.claim(
            self.sessions,
            raw,
            digest,
            dedupe_key,
            source,
            source_key,
            arrived_at,
            claims.Retry.from_settings(self.settings),
            retry_quarantined,
        )
        if isinstance(claimed, str):
            return claimed
        try:
            with self.sessions() as session, session.begin():
                msg = session.get_one(m.Message, claimed)
                outcome = self._process(session, msg, raw)
                session.flush()
                # Queued in the same transaction as the findings it reports: a crash leaves
                # neither, and the retry queues exactly one reply.
                if self.replies:
                    queue_reply(session, self.campaign, self.settings, msg)
            return outcome
        except TRANSIENT_ERRORS:
            # The database or the disk failed, not the message: leave it claimed by us, so the
            # next attempt (a later poll; attempts are counted) takes it up again.
            log.exception("message %s: transient failure, will retry", claimed)
            raise
        except Exception as exc:  # a poison message must not stop the run
            log.exception("message %s failed", claimed)
            claims.quarantine(self.sessions, claimed, exc)
            return "quarantined"

    def resume_stale(self, counts: Counter[str] | None = None) -> int:
        """Finish messages whose claim was left by a dead run and whose retry is due; their raw
        bytes are stored.  Call it after new mail: a message that keeps killing the process
        must not hold up the others.  Outcomes are added to `counts`."""
        stale = claims.stale_claims(self.sessions)
        for digest, key in stale:
            outcome = self.ingest(self.blobs.get(digest), source_key=key)
            if counts is not None:
                counts[outcome] += 1
        return len(stale)

    def requeue(self, message_pk: int | None = None) -> Counter[str]:
        """`intake requeue`: put quarantined messages back and process them now.
        Raises LookupError when the message given is not there or not quarantined."""
        counts: Counter[str] = Counter()
        for digest in claims.requeue(self.sessions, message_pk):
            counts[self.ingest(self.blobs.get(digest), retry_quarantined=True)] += 1
        return counts

    # -- work ----------------------------------------------------------------------------------

    def reprocess_as_submission(self, session: Session, msg: m.Message) -> None:
        """Staff say this stored message is a submission after all: judge it as one."""
        self._process(session, msg, self.blobs.get(msg.raw_sha256), submission=True)

    def _process(
        self, session: Session, msg: m.Message, raw: bytes, *, submission: bool = False
    ) -> Outcome:
        mail = parse_mail(raw, self.blobs)  # large files go to the store as they are decoded
        msg.message_id = fit(mail.message_id, 998)
        msg.sender = fit(mail.from_addr, 320) or ""
        msg.sender_name = fit(mail.from_name, 320) or ""
        msg.subject = mail.subject
        msg.date = plausible(mail.date)
        if msg.received_at is None:
            msg.received_at = mail.date
        automatic = None if submission else classify_automatic(mail)
        if automatic is not None:
            msg.kind = automatic
            msg.state = "ignored"
            msg.processed_at = datetime.now(UTC)
            return "ignored"
        subject = match_subject(mail.subject, self.campaign)
        expanded = expand(materials(mail), rar=unar.read_member, sink=self.blobs)
        cloud_links = find_cloud_links(mail.text, mail.html)
        has_materials = bool(materials(mail) or cloud_links)
        # Mail of another call, newsletters and spam are kept for staff, never answered;
        # staff may still say a message is a submission (the console's "mark as submission").
        kind: Kind = (
            "submission"
            if submission
            else submission_or_other(
                mail, expanded.files, self.campaign, has_materials=has_materials,
                subject_unit=subject.unit,
            )
        )  # fmt: skip
        msg.kind = kind
        if kind == "other":
            for a in mail.attachments:
                session.add(
                    self.triage.file_row(msg, None, (a.name,), "other", a.payload, a.content_type)
                )
            msg.state = "processed"
            msg.processed_at = datetime.now(UTC)
            return "processed"

        grouping = group_files(expanded.files)
        # Read the cases (convert, probe, decode) before the first write: on SQLite no write
        # transaction then stays open meanwhile, keeping other workers waiting for the lock.
        reads = self.triage.read_groups(grouping.cases)
        unit_name = (
            subject.unit
            or repo.unit_of_sender(session, mail.from_addr, msg.id)
            or find_unit_in_names(
                [a.name for a in mail.attachments] + ["/".join(f.path) for f in expanded.files],
                self.campaign,
            )
        )
        unit = repo.get_or_create_unit(session, unit_name) if unit_name else None
        msg.unit = unit
        office = self.campaign.office
        people = extract_people(mail.text, ignore=(office.contact, office.phone, office.email))
        contact = people[0] if people else extract_contact("")
        msg.contacts = [dataclasses.asdict(p) for p in people[1:]]
        msg.contact_name, msg.contact_phone, msg.contact_email = (
            fit(contact.name, 255),
            fit(contact.phone, 64),
            fit(contact.email, 320),
        )
        facts = message_facts(
            self.campaign, mail, unit_name, subject.deviations, expanded, cloud_links, msg
        )
        add_findings(session, judge_message(facts), message=msg, unit=unit)
        keep_message_facts(self.blobs, msg.raw_sha256, facts)  # retriage need not parse again

        triage = self.triage
        for a in mail.attachments:
            if a.inline:
                session.add(
                    triage.file_row(
                        msg, None, ("（正文内嵌图片）", a.name), "other", a.payload, a.content_type
                    )
                )
        for file in grouping.unit_files:
            session.add(
                triage.file_row(msg, None, file.path, file.role, file.payload, file.content_type)
            )
        cases = [triage.store_case(session, msg, unit, unit_name, g) for g in grouping.cases]
        session.flush()
        triage.triage_cases(session, cases, unit_name, reads)
        if unit is not None:
            triage.triage_unit(session, unit)
        msg.state = "processed"
        msg.processed_at = datetime.now(UTC)
        return "processed"

    def triage_unit(self, session: Session, unit: m.Unit) -> None:
        """Versions, recommendation order and unit findings over all the unit's current cases."""
        self.triage.triage_unit(session, unit)

    def count_retriage(self) -> int:
        """How many messages `retriage` would judge again (for a progress bar)."""
        return len(self.retriage_ids())

    def retriage_ids(self) -> list[int]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(m.Message.id)
                    .where(m.Message.kind == "submission", m.Message.state == "processed")
                    .order_by(m.Message.id)
                )
            )

    def retriage(self, progress: Callable[[], None] = lambda: None) -> int:
        """Re-run every rule over stored messages and files; no mailbox is read again.

        One transaction per message, so the service's own writes are never locked out for
        the whole run, and one message that fails is logged and skipped, not the run.
        `progress` is called after each message.
        """
        count = self.retriage_messages(self.retriage_ids(), progress)
        self.retriage_units()
        return count

    def retriage_messages(self, ids: list[int], progress: Callable[[], None] = lambda: None) -> int:
        """Judge these stored messages again (`intake.workers` hands each worker a share)."""
        triage = self.triage
        count = 0
        for pk in ids:
            try:
                with self.sessions() as session, session.begin():
                    triage.retriage_message(session, session.get_one(m.Message, pk))
                count += 1
            except Exception:  # one bad message must not stop the others
                log.exception("retriage of message %s failed", pk)
            progress()
        return count

    def retriage_units(self) -> None:
        """Versions, order and unit findings again, once every message has been judged."""
        triage = self.triage
        with self.sessions() as session:
            unit_ids = session.scalars(select(m.Unit.id)).all()
        for pk in unit_ids:
            with self.sessions() as session, session.begin():
                triage.triage_unit(session, session.get_one(m.Unit, pk))
