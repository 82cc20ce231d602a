"""Claiming a message in the database before any work on it: never lose one, never do one twice.

Owns the message's identity from its headers (raw hash, sender|Message-ID dedupe key, arrival
time, and Message-ID, sender, subject and date written in the claim's own short transaction, so
that even a message whose processing never finishes says what it is), the claim row (unique raw
hash and dedupe key, owner and lease), taking up claims left by a dead run, quarantining a
message whose processing failed, and putting quarantined messages back (`intake requeue`).

How attempts are counted, and why (the numbers are settings, `Retry.from_settings`):

- An exception raised while processing counts against the message: it is quarantined at once,
  with the error, for staff (a bug or a hostile file fails the same way every time; staff replay
  it with `intake requeue` once the cause is removed).
- A claim left by a dead process (SIGKILL, OOM, a deploy, the machine rebooting) counts too, but
  says little about the message: a supervisor restarting a crashing service would take the same
  message up again every second.  So each claim sets `next_attempt_at` — `retry_first_s`
  (60 s), doubling up to `retry_max_s` (1 h), as a mail queue does — and a dead claim is not
  taken up before it.  New mail is processed first (`Pipeline.resume_stale` runs after it).
- Quarantine for dying needs both `retry_limit` (5) attempts and `quarantine_after_s` (1 h)
  since the first of them: a message that really kills the process every time is set aside
  within about an hour and a half, while a restart loop of any speed cannot exhaust it.
- A failure of the database or the disk (`TRANSIENT_ERRORS`) is not the message's: our own claim
  stays and the next poll retries it at once.
"""

from __future__ import annotations

import os
import socket
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from intake.config import Settings
from parsers.mail import parse_mail
from programs.run import pid_alive
from store import models as m
from store import repo
from store.blobs import sha256_hex

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, OSError)
# How long another host's claim on a message is honoured before it counts as abandoned.
CLAIM_LEASE = timedelta(minutes=30)


# What a claim attempt came to, when it did not give the message to us.
Refused = Literal["duplicate", "deferred", "quarantined"]


@dataclass(frozen=True)
class Retry:
    """When a message left by a dead run is tried again, and when it is given up."""

    first: timedelta = timedelta(seconds=60)
    cap: timedelta = timedelta(hours=1)
    limit: int = 5
    span: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> Retry:
        return cls(
            first=timedelta(seconds=max(0.0, settings.retry_first_s)),
            cap=timedelta(seconds=max(0.0, settings.retry_max_s)),
            limit=max(1, settings.retry_limit),
            span=timedelta(seconds=max(0.0, settings.quarantine_after_s)),
        )

    def delay(self, attempts: int) -> timedelta:
        """Wait after attempt number `attempts` before a dead claim may be taken up again."""
        return min(self.first * (2 ** min(max(0, attempts - 1), 30)), self.cap)


def claim_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dedupe_key(raw: bytes) -> str | None:
    """sender|Message-ID, or None when the message has no Message-ID."""
    sender, message_id = _identity(raw)
    # Hashed: a hostile Message-ID of any length still fits the column.
    return sha256_hex(f"{sender}|{message_id}".encode()) if message_id else None


def is_known(
    sessions: sessionmaker[Session],
    digest: str,
    dedupe_key: str | None,
    retry_quarantined: bool = False,
) -> bool:
    with sessions() as session:
        existing = repo.find_same_message(session, digest, dedupe_key)
        if existing is None or existing.state == "received":
            return False
        return not (retry_quarantined and existing.state == "quarantined")


def claim(
    sessions: sessionmaker[Session],
    raw: bytes,
    digest: str,
    dedupe_key: str | None,
    source: str,
    source_key: str | None,
    arrived_at: datetime | None,
    retry: Retry | None = None,
    retry_quarantined: bool = False,
) -> int | Refused:
    """Insert the message row (or take up a dead run's) and return its id; or say why not."""
    retry = retry or Retry()
    try:
        with sessions() as session, session.begin():
            existing = repo.find_same_message(session, digest, dedupe_key)
            now = datetime.now(UTC)
            if existing is not None:
                return _retake(existing, now, retry, retry_quarantined)
            src = repo.get_or_create_source(session, source)
            if source_key and repo.source_key_taken(session, src.id, source_key):
                # A reused file name or a rewritten mbox: another message at the same
                # place is still another message.
                source_key = f"{source_key}#{digest[:16]}"
            msg = m.Message(
                raw_sha256=digest,
                dedupe_key=dedupe_key,
                source_id=src.id,
                source_key=source_key,
                size=len(raw),
                received_at=plausible(arrived_at) or _arrival_time(raw),
                state="received",
                attempts=1,
                attempts_since=now,
                next_attempt_at=now + retry.delay(1),
                claimed_by=claim_owner(),
                claimed_at=now,
            )
            _set_identity(msg, raw)
            session.add(msg)
            session.flush()
            return msg.id
    except IntegrityError:
        # Another worker claimed the same message between our check and insert.
        return "duplicate"


def _retake(msg: m.Message, now: datetime, retry: Retry, retry_quarantined: bool) -> int | Refused:
    """An existing row: take it up again if a dead run left it and its wait is over."""
    if msg.state == "quarantined" and retry_quarantined:
        # The same bytes handed in again by staff: a replay, with a fresh count.
        _reset(msg)
    elif msg.state != "received" or not claim_is_stale(msg, now):
        # Done, or being worked on right now by another live process.
        return "duplicate"
    else:
        # Left by a dead run: wait between attempts (our own transient failure need not), and
        # give up only after several of them spread over a minimum time (module docstring).
        waiting = msg.next_attempt_at is not None and now < msg.next_attempt_at
        if waiting and msg.claimed_by != claim_owner():
            return "deferred"
        since = msg.attempts_since or msg.created_at or now
        if msg.attempts >= retry.limit and now - since >= retry.span:
            msg.state = "quarantined"
            msg.error = msg.error or (
                f"processing never finished: the process stopped {msg.attempts} times while "
                "working on this message"
            )
            msg.processed_at = now
            msg.next_attempt_at = None
            return "quarantined"
    msg.claimed_by, msg.claimed_at = claim_owner(), now
    msg.attempts += 1
    msg.attempts_since = msg.attempts_since or now
    msg.next_attempt_at = now + retry.delay(msg.attempts)
    return msg.id


def _reset(msg: m.Message) -> None:
    msg.state = "received"
    msg.attempts = 0
    msg.attempts_since = None
    msg.next_attempt_at = None
    msg.claimed_by = msg.claimed_at = None
    msg.error = None
    msg.processed_at = None


def requeue(sessions: sessionmaker[Session], message_pk: int | None = None) -> list[str]:
    """Put quarantined messages (all, or the one given) back to be processed; their raw hashes.

    Raises LookupError when the one given does not exist or is not quarantined.
    """
    with sessions() as session, session.begin():
        query = select(m.Message).where(m.Message.state == "quarantined")
        if message_pk is not None:
            msg = session.get(m.Message, message_pk)
            if msg is None:
                raise LookupError(f"no message {message_pk}")
            if msg.state != "quarantined":
                raise LookupError(f"message {message_pk} is {msg.state}, not quarantined")
            query = query.where(m.Message.id == message_pk)
        rows = list(session.scalars(query.order_by(m.Message.id)))
        for msg in rows:
            _reset(msg)
        return [msg.raw_sha256 for msg in rows]


def stale_claims(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    """Raw hash and source key of messages whose claim was left by a dead run."""
    now = datetime.now(UTC)
    with sessions() as session:
        due = (m.Message.state == "received") & or_(
            m.Message.next_attempt_at.is_(None), m.Message.next_attempt_at <= now
        )
        return [
            (msg.raw_sha256, msg.source_key)
            for msg in session.scalars(select(m.Message).where(due).order_by(m.Message.id))
            if claim_is_stale(msg, now)
        ]


def quarantine(sessions: sessionmaker[Session], message_pk: int, exc: BaseException) -> None:
    with sessions() as session, session.begin():
        msg = session.get_one(m.Message, message_pk)
        msg.state = "quarantined"
        msg.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        msg.processed_at = datetime.now(UTC)
        msg.next_attempt_at = None


def claim_is_stale(msg: m.Message, now: datetime) -> bool:
    """May this process take up a message left in `received`?"""
    owner = msg.claimed_by or ""
    if owner == claim_owner():
        return True  # our own earlier attempt failed transiently
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
        return True
    return msg.claimed_at is None or now - msg.claimed_at > CLAIM_LEASE


def plausible(when: datetime | None) -> datetime | None:
    """A date a mail can really carry; `9999-12-31 -1200` overflows UTC and the database."""
    if when is None or not 1990 <= when.year <= datetime.now(UTC).year + 1:
        return None
    return when


def _header_block(raw: bytes) -> bytes:
    crlf = raw.find(b"\r\n\r\n")
    # A bare-LF blank line counts only before the CRLF one: a CRLF message has none, and
    # looking for it through a 100 MB body cost 0.13 s, three times per message.
    lf = raw.find(b"\n\n", 0, crlf + 2 if crlf >= 0 else len(raw))
    ends = [i for i in (crlf, lf) if i >= 0]
    return raw[: min(ends) + 4] if ends else raw[:1_000_000]


def _headers(raw: bytes) -> Message:
    """The header block alone: the stdlib parser would decode a 100 MB body to find its end."""
    return BytesHeaderParser(policy=compat32).parsebytes(_header_block(raw))


def _set_identity(msg: m.Message, raw: bytes) -> None:
    """Message-ID, sender, subject and date from the header block alone (cheap: no body)."""
    try:
        head = parse_mail(bytes(_header_block(raw)))
    except Exception:  # parse_mail never raises by contract; the claim must not fail anyway
        return
    msg.message_id = (head.message_id or "")[:998] or None
    msg.sender = (head.from_addr or "")[:320]
    msg.sender_name = (head.from_name or "")[:320]
    msg.subject = head.subject
    msg.date = plausible(head.date)


def _identity(raw: bytes) -> tuple[str, str | None]:
    """Sender and Message-ID from the headers alone, before the full (costly) parse."""
    try:
        headers = _headers(raw)
        addresses = getaddresses([str(headers.get("From", ""))])
        sender = addresses[0][1].strip().lower() if addresses else ""
        mid = str(headers.get("Message-ID", "") or "").strip().strip("<>").strip()
        return sender, (mid or None)
    except Exception:  # malformed headers: identity by raw hash only
        return "", None


def _arrival_time(raw: bytes) -> datetime | None:
    """When our server got it: the date of the newest Received header, else None."""
    try:
        headers = _headers(raw)
        received = headers.get_all("Received") or []
        for value in received[:1]:
            stamp = str(value).rsplit(";", 1)[-1].strip()
            when = parsedate_to_datetime(stamp)
            return plausible(when if when.tzinfo else when.replace(tzinfo=UTC))
    except Exception:  # an unparseable stamp falls back to the Date header
        return None
    return None
