"""Automatic replies, deciding and queueing: whether a message is answered, and with what.

Queueing (`queue_reply`) runs inside the pipeline's transaction, once a message's cases and
findings are flushed.  It decides whether the message gets an answer at all, renders it
(`reports.notices`), builds the MIME message (`intake.reply_mime`) and stores its bytes in the
blob store; the `replies` row records the sha256.  Delivering it is `intake.sending`'s job.

Why render at queue time and not at send time: `send` must send exactly what was decided when
the mail arrived.  The running counts and findings describe the unit's materials *as of that
mail*; a later resubmission must not change what an earlier receipt says.  The Message-ID is
fixed once, so a retry after an ambiguous failure repeats the same message (receivers and staff
can see it is one reply), and the dry-run file, the staff copy and the delivered mail are the
same bytes.  A template error shows up while the message is processed, not hours later.  The
cost: a template edited after queueing changes only replies queued after the edit.

Guards (RFC 3834 and SPEC "Replies"): only submissions from a known unit are answered (or any
person's mail when the campaign enables a guidance reply); never automatic mail, bounces, lists
or no-reply senders (the classifier already set `kind`; the address is checked again here with
the classifier's own `is_machine_address`), never our own addresses, at most
`replies_per_address_per_day` replies to one address in 24 hours, and one reply per message (a
unique key on `replies.message_id`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign import Campaign
from intake.config import Settings
from intake.reply_mime import (
    addresses,
    build_reply_mime,
    original_references,
    reply_subject,
    sender_identity,
    valid_address,
)
from parsers.classify import is_machine_address
from reports.notices import collect_notice, render_notice
from store import models as m
from store.blobs import BlobStore

log = logging.getLogger(__name__)


def own_addresses(settings: Settings, campaign: Campaign) -> set[str]:
    """Every address that is us: an answer to any of them would be a loop."""
    own = {sender_identity(settings, campaign)[1].lower(), campaign.office.email.lower()}
    own.update(addresses(settings.staff_copy))
    own.update(addresses(settings.report_to))
    if "@" in settings.smtp_user:
        own.add(settings.smtp_user.lower())
    own.discard("")
    return own


# --------------------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Decision:
    """Whether a message is answered, and why not when it is not (for logs and staff)."""

    answer: bool
    reason: str
    guidance: bool = False


def reply_decision(
    session: Session,
    campaign: Campaign,
    settings: Settings,
    message: m.Message,
    now: datetime,
) -> Decision:
    sender = (message.sender or "").strip().lower()
    if message.state in ("quarantined", "ignored"):
        return Decision(False, f"message is {message.state}")
    guidance = False
    if message.kind == "submission" and message.unit_id is not None:
        pass
    elif message.kind in ("submission", "other") and campaign.guidance_reply:
        guidance = True
    elif message.kind == "submission":
        return Decision(False, "unit unknown: left to staff")
    else:
        return Decision(False, f"not a submission ({message.kind}): left to staff")
    if not sender or not valid_address(sender):
        return Decision(False, f"sender address {sender!r} cannot be answered safely")
    if is_machine_address(sender):
        return Decision(False, "no-reply or daemon sender")
    if sender in own_addresses(settings, campaign):
        return Decision(False, "sender is one of our own addresses")
    limit = settings.replies_per_address_per_day
    recent = session.scalar(
        select(func.count(m.Reply.id)).where(
            func.lower(m.Reply.to_addr) == sender,
            m.Reply.created_at >= now - timedelta(hours=24),
        )
    )
    if (recent or 0) >= limit:
        return Decision(False, f"{recent} replies to {sender} in 24 h (limit {limit})")
    return Decision(True, "guidance" if guidance else "submission", guidance=guidance)


# --------------------------------------------------------------------------- queueing


def held_for_review(settings: Settings, kind: str) -> bool:
    """`reply_review`: staff read these before they go out (`held` until approved)."""
    review = settings.reply_review
    return review == "all" or (review == "deficiency" and kind == "deficiency")


def queue_reply(
    session: Session,
    campaign: Campaign,
    settings: Settings,
    message: m.Message,
    *,
    now: datetime | None = None,
) -> m.Reply | None:
    """Queue the one automatic answer to `message`, or return None when it gets none.

    Call inside the transaction that processed the message, after its cases and findings are
    flushed.  Idempotent: a message that already has a reply gets that reply back.
    """
    now = now or datetime.now(UTC)
    existing = session.scalar(select(m.Reply).where(m.Reply.message_id == message.id))
    if existing is not None:
        return existing
    decision = reply_decision(session, campaign, settings, message, now)
    if not decision.answer:
        log.info("no reply to message %s: %s", message.id, decision.reason)
        return None
    rendered = _render(session, campaign, settings, message, now, decision.guidance)
    if rendered is None:
        return None
    kind, mime, digest = rendered
    reply = m.Reply(
        message_id=message.id,
        to_addr=message.sender.strip(),
        kind=kind,
        state="held" if held_for_review(settings, kind) else "queued",
        subject=str(mime["Subject"]),
        our_message_id=str(mime["Message-ID"]).strip().strip("<>"),
        raw_sha256=digest,
        attempts=0,
        created_at=now,
    )
    session.add(reply)
    session.flush()
    log.info("queued %s %s to %s for message %s", kind, reply.id, reply.to_addr, message.id)
    return reply


def rerender_reply(
    session: Session, campaign: Campaign, settings: Settings, reply: m.Reply
) -> None:
    """Render a held reply again from what the store says now, before staff release it.

    A held reply was never sent, so it may change: staff who waived a finding while reading it
    expect the notice that goes out to leave that finding out (and perhaps to be a receipt).
    """
    message = session.get_one(m.Message, reply.message_id)
    now = datetime.now(UTC)
    rendered = _render(session, campaign, settings, message, now, reply.kind == "guidance")
    if rendered is None:
        return
    kind, mime, digest = rendered
    reply.kind = kind
    reply.subject = str(mime["Subject"])
    reply.our_message_id = str(mime["Message-ID"]).strip().strip("<>")
    reply.raw_sha256 = digest


def _render(
    session: Session,
    campaign: Campaign,
    settings: Settings,
    message: m.Message,
    now: datetime,
    guidance: bool,
) -> tuple[str, EmailMessage, str] | None:
    """The notice's kind, its MIME message and the sha256 of its stored bytes."""
    from_name, from_addr = sender_identity(settings, campaign)
    if not valid_address(from_addr):
        log.error("no reply to message %s: no valid smtp_from or office email", message.id)
        return None
    notice = collect_notice(session, campaign, message, now, guidance=guidance)
    rendered = render_notice(notice, settings.templates_dir)
    blobs = BlobStore(settings.blob_dir)
    fallback = campaign.subject_for(notice.unit) if notice.unit else campaign.title
    mime = build_reply_mime(
        text=rendered.text,
        html=rendered.html,
        from_name=from_name,
        from_addr=from_addr,
        to_name=message.sender_name,
        to_addr=message.sender.strip(),
        subject=reply_subject(message.subject, fallback),
        in_reply_to=message.message_id,
        references=original_references(blobs, message),
        when=now.astimezone(ZoneInfo(campaign.timezone)),
    )
    digest = blobs.put(mime.as_bytes(policy=SMTP))
    return notice.kind, mime, digest
