"""Claiming a message in the database before any work on it: never lose one, never do one twice.

Owns the message's identity from its headers (raw hash, sender|Message-ID dedupe key, arrival
time), the claim row (unique raw hash and dedupe key, owner and lease), taking up claims left by
a dead run (a bounded number of times), and quarantining a message whose processing failed.
"""

from __future__ import annotations

import os
import socket
import traceback
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from intake.locks import pid_alive
from store import models as m
from store import repo
from store.blobs import sha256_hex

MAX_ATTEMPTS = 3
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, OSError)
# How long another host's claim on a message is honoured before it counts as abandoned.
CLAIM_LEASE = timedelta(minutes=30)


def claim_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dedupe_key(raw: bytes) -> str | None:
    """sender|Message-ID, or None when the message has no Message-ID."""
    sender, message_id = _identity(raw)
    # Hashed: a hostile Message-ID of any length still fits the column.
    return sha256_hex(f"{sender}|{message_id}".encode()) if message_id else None


def is_known(sessions: sessionmaker[Session], digest: str, dedupe_key: str | None) -> bool:
    with sessions() as session:
        existing = repo.find_same_message(session, digest, dedupe_key)
        return existing is not None and existing.state != "received"


def claim(
    sessions: sessionmaker[Session],
    raw: bytes,
    digest: str,
    dedupe_key: str | None,
    source: str,
    source_key: str | None,
    arrived_at: datetime | None,
) -> int | None:
    """Insert the message row, or return None when it is already known."""
    try:
        with sessions() as session, session.begin():
            existing = repo.find_same_message(session, digest, dedupe_key)
            now = datetime.now(UTC)
            if existing is not None:
                if existing.state != "received" or not claim_is_stale(existing, now):
                    # Done, or being worked on right now by another live process.
                    return None
                # Claimed earlier by a run that died mid-work: try again, a bounded number
                # of times, so one poison message cannot loop forever.
                existing.claimed_by, existing.claimed_at = claim_owner(), now
                existing.attempts += 1
                if existing.attempts > MAX_ATTEMPTS:
                    existing.state = "quarantined"
                    existing.error = existing.error or "processing never finished"
                    return None
                return existing.id
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
                claimed_by=claim_owner(),
                claimed_at=now,
            )
            session.add(msg)
            session.flush()
            return msg.id
    except IntegrityError:
        # Another worker claimed the same message between our check and insert.
        return None


def stale_claims(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    """Raw hash and source key of messages whose claim was left by a dead run."""
    now = datetime.now(UTC)
    with sessions() as session:
        return [
            (msg.raw_sha256, msg.source_key)
            for msg in session.scalars(select(m.Message).where(m.Message.state == "received"))
            if claim_is_stale(msg, now)
        ]


def quarantine(sessions: sessionmaker[Session], message_pk: int, exc: BaseException) -> None:
    with sessions() as session, session.begin():
        msg = session.get_one(m.Message, message_pk)
        msg.state = "quarantined"
        msg.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        msg.processed_at = datetime.now(UTC)


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


def _headers(raw: bytes) -> Message:
    """The header block alone: the stdlib parser would decode a 100 MB body to find its end."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    block = raw[: min(ends) + 4] if ends else raw[:1_000_000]
    return BytesHeaderParser(policy=compat32).parsebytes(block)


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
