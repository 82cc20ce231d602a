"""Sending queued replies: the send run, its one-at-a-time lock, claims, outcomes and backoff.

What is sent was fixed when the reply was queued (`intake.replies`): the run only delivers the
stored bytes through a transport (`intake.transport`) and records what happened.

Reply states (`replies.state`):

    queued ──claim──▶ sending ──server accepted, committed──▶ sent
       ▲                 │ temporary failure (4xx; connection lost or timed out before the
       │                 │   end of the message data was sent)
       └──── backoff ◀───┤   … after MAX_ATTEMPTS attempts ─▶ failed
                         │ permanent refusal (5xx) ─────────▶ failed
                         │ no answer to the end of DATA ────▶ unknown (reported; never resent)
                         └ the process died while `sending` ─▶ unknown (next run; never resent)
                           (dry-run: `sent` if its outbox file exists, else `queued` again)

A `held` reply (`reply_review`) and a `cancelled` one are never picked up here: only `queued`
is due; staff move held replies on in the console (`intake.reply_actions`).

`sending` is an internal, transient state: it is committed *before* the SMTP conversation, so
that a process killed after the server accepted the mail but before `sent` was committed leaves
a trace.  Only one send run works at a time (a lock file under the data folder, released by the
kernel when a process dies), so a `sending` reply seen by a run that holds the lock belongs to a
dead run: it becomes `unknown`, is reported, and is never resent automatically — a duplicate
deficiency notice confuses a clerk more than staff checking one reply by hand.  An export that
catches a run in flight shows `sending`; it means the same as `unknown` until the run ends.

For the same reason a connection lost, or a server silent for `DATA_END_TIMEOUT`, after the
final "." of DATA went out makes the reply `unknown` at once (see `intake.transport`): a slow
relay may have queued the mail already, and a retry would deliver it twice.

The send lock is a file under the data folder on every database, PostgreSQL included (not
`intake.locks.exclusive`): send runs share the data folder anyway, since the queued bytes are
in its blob store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from campaign import Campaign
from intake.config import Settings
from intake.faults import ServerUnreachable
from intake.locks import file_lock
from intake.reply_mime import addresses, sender_identity
from intake.transport import DeliveryError, Transport, eml_name, make_transport
from store import models as m
from store.blobs import BlobStore

log = logging.getLogger(__name__)

# Attempts before a reply is left for staff as `failed`; waits between them grow 1, 4, 16, 64 min.
MAX_ATTEMPTS = 5
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_FACTOR = 4
LOCK_NAME = "send.lock"


@dataclass
class SendSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    waiting: int = 0  # queued, next attempt later
    dry_run: bool = False
    where: str = ""
    # A problem with the run as a whole (cannot connect, another run in progress).
    error: str | None = None
    busy: bool = False
    # The server could not be used at all: what `intake send` tells the person in one line.
    unreachable: ServerUnreachable | None = None

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unknown or (self.error and not self.busy))

    def line(self) -> str:
        if self.busy:
            return "send: another send run is in progress; nothing done"
        parts = [f"sent {self.sent}"]
        for count, label in (
            (self.retrying, "to retry"),
            (self.failed, "failed"),
            (self.unknown, "unknown (not resent, check by hand)"),
            (self.waiting, "waiting"),
        ):
            if count:
                parts.append(f"{count} {label}")
        line = f"replies: {', '.join(parts)} via {self.where}"
        if self.error:
            line += f"; {self.error}"
        return line


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1, 4, 16, 64 minutes."""
    return BACKOFF_FIRST * (BACKOFF_FACTOR ** max(0, attempts - 1))


def send_queued(
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    settings: Settings,
    campaign: Campaign,
    *,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> SendSummary:
    """Deliver every due reply: SMTP, or the outbox folder in dry-run.

    Raises ConfigError when SMTP is wanted but not configured.  `now` lets tests move the clock
    past a backoff; `transport` lets them substitute the delivery.
    """
    transport = transport or make_transport(settings)
    summary = SendSummary(dry_run=settings.dry_run, where=transport.description)
    with file_lock(settings.data_dir / LOCK_NAME) as locked:
        if not locked:
            summary.busy = True
            summary.error = "another send run is in progress"
            return summary
        now = now or datetime.now(UTC)
        summary.unknown = _recover_interrupted(sessions, settings)
        due = _due_ids(sessions, now)
        summary.waiting = _waiting(sessions, now)
        if not due:
            return summary
        try:
            for reply_id in due:
                if not transport.is_open():
                    try:
                        transport.open()
                    except DeliveryError as exc:
                        # Nothing was claimed for this reply: it stays queued, untouched.
                        log.error("send run stopped: %s", exc)
                        summary.error = str(exc)
                        summary.unreachable = exc.unreachable
                        break
                outcome = _send_one(sessions, blobs, settings, campaign, transport, reply_id, now)
                if outcome == "sent":
                    summary.sent += 1
                elif outcome == "retrying":
                    summary.retrying += 1
                elif outcome == "failed":
                    summary.failed += 1
                elif outcome == "unknown":
                    summary.unknown += 1
        finally:
            transport.close()
    return summary


Outcome = Literal["sent", "retrying", "failed", "unknown", "skipped"]


def _recover_interrupted(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Replies a dead run left `sending`: SMTP ones become `unknown` (they may have been
    delivered); a dry-run one is `sent` if its outbox file is there, else `queued` again
    (nothing left the machine, so writing it again duplicates nothing).  The number unknown."""
    unknown = 0
    with sessions() as session, session.begin():
        stuck = session.scalars(select(m.Reply).where(m.Reply.state == "sending")).all()
        for reply in stuck:
            if settings.dry_run:
                written = (settings.outbox / eml_name(reply)).exists()
                reply.state = "sent" if written else "queued"
                reply.sent_at = datetime.now(UTC) if written else None
                reply.next_attempt_at = None
                log.warning("reply %s: interrupted dry-run write, now %s", reply.id, reply.state)
                continue
            unknown += 1
            reply.state = "unknown"
            reply.next_attempt_at = None
            reply.error = (
                "the send run stopped after handing this reply to the server and before "
                "recording the result; it may or may not have been delivered and is not resent"
            )
            log.error("reply %s to %s: delivery unknown, not resent", reply.id, reply.to_addr)
        return unknown


def _due_clause(now: datetime) -> Any:
    return (m.Reply.state == "queued") & or_(
        m.Reply.next_attempt_at.is_(None), m.Reply.next_attempt_at <= now
    )


def _due_ids(sessions: sessionmaker[Session], now: datetime) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(select(m.Reply.id).where(_due_clause(now)).order_by(m.Reply.id))
        )


def _waiting(sessions: sessionmaker[Session], now: datetime) -> int:
    with sessions() as session:
        count = session.scalar(
            select(func.count(m.Reply.id)).where(
                m.Reply.state == "queued", m.Reply.next_attempt_at > now
            )
        )
        return int(count or 0)


def _claim(sessions: sessionmaker[Session], reply_id: int, now: datetime) -> m.Reply | None:
    """Mark the reply `sending` and commit, before any byte goes to the server."""
    with sessions() as session, session.begin():
        result = cast(
            CursorResult[Any],
            session.execute(
                update(m.Reply)
                .where(m.Reply.id == reply_id, _due_clause(now))
                .values(state="sending", attempts=m.Reply.attempts + 1, next_attempt_at=None)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            return None
        return session.get_one(m.Reply, reply_id)


def _send_one(
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    settings: Settings,
    campaign: Campaign,
    transport: Transport,
    reply_id: int,
    now: datetime,
) -> Outcome:
    reply = _claim(sessions, reply_id, now)
    if reply is None:
        return "skipped"
    try:
        if not reply.raw_sha256 or not blobs.exists(reply.raw_sha256):
            raise DeliveryError("the queued reply's bytes are missing", permanent=True)
        raw = blobs.get(reply.raw_sha256)
        sender = sender_identity(settings, campaign)[1]
        staff = [a for a in addresses(settings.staff_copy) if a != reply.to_addr.lower()]
        # The staff copy is a blind copy by envelope only: the unit never sees staff addresses.
        transport.deliver(reply, raw, sender, [reply.to_addr, *staff])
    except DeliveryError as exc:
        return _record_failure(sessions, reply, exc, now)
    _record_sent(sessions, reply.id)
    log.info("reply %s sent to %s", reply.id, reply.to_addr)
    return "sent"


def _record_sent(sessions: sessionmaker[Session], reply_id: int) -> None:
    with sessions() as session, session.begin():
        reply = session.get_one(m.Reply, reply_id)
        reply.state = "sent"
        reply.sent_at = datetime.now(UTC)
        reply.error = None
        reply.next_attempt_at = None


def _record_failure(
    sessions: sessionmaker[Session], reply: m.Reply, exc: DeliveryError, now: datetime
) -> Outcome:
    with sessions() as session, session.begin():
        row = session.get_one(m.Reply, reply.id)
        row.error = str(exc)[:2000]
        if exc.unknown:
            # Like a crash after the server's acceptance: reported, never resent automatically.
            row.state = "unknown"
            row.next_attempt_at = None
            log.error("reply %s to %s: delivery unknown, not resent: %s", row.id, row.to_addr, exc)
            return "unknown"
        if exc.permanent or row.attempts >= MAX_ATTEMPTS:
            row.state = "failed"
            row.next_attempt_at = None
            log.error("reply %s to %s failed: %s", row.id, row.to_addr, exc)
            return "failed"
        row.state = "queued"
        row.next_attempt_at = now + backoff(row.attempts)
        log.warning(
            "reply %s to %s: attempt %s failed (%s); next at %s",
            row.id,
            row.to_addr,
            row.attempts,
            exc,
            row.next_attempt_at.isoformat(),
        )
        return "retrying"
