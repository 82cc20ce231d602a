"""The mailbox's `Source` row: UIDVALIDITY, the mark and the poll heartbeat.

The mark (`Source.last_uid`) is the highest UID handed to the pipeline; it only moves forward
and only within the same UIDVALIDITY.  The heartbeat says when we polled, when a poll last
succeeded and the last error seen, for `intake status` and the staff.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from intake.logs import event
from store import models as m
from store import repo

log = logging.getLogger(__name__)


def check_uidvalidity(
    sessions: sessionmaker[Session], source: str, uidvalidity: int
) -> tuple[int, int, bool]:
    """The source row's id, the mark to fetch above, and whether the mailbox was renumbered."""
    resync = False
    with sessions() as session, session.begin():
        src = repo.get_or_create_source(session, source)
        stored = src.uidvalidity
        if stored is not None and stored != uidvalidity:
            # The server renumbered the mailbox: every message will look new.  Start from
            # UID 1; raw-hash and Message-ID dedupe turn the old ones into duplicates.
            event(
                log,
                "imap.uidvalidity_changed",
                logging.WARNING,
                source=source,
                old=stored,
                new=uidvalidity,
                old_last_uid=src.last_uid,
            )
            resync = True
            src.last_uid = 0
        elif stored is None:
            src.last_uid = 0
        src.uidvalidity = uidvalidity
        return src.id, src.last_uid or 0, resync


def known_uids(
    sessions: sessionmaker[Session], source_id: int, uidvalidity: int, uids: list[int]
) -> set[int]:
    """UIDs above the mark that are already stored: the run before died after the
    pipeline finished but before the mark moved.  Skipping them saves a download."""
    keys = {f"{uidvalidity}:{u}": u for u in uids}
    with sessions() as session:
        rows = session.scalars(
            select(m.Message.source_key).where(
                m.Message.source_id == source_id,
                m.Message.source_key.in_(list(keys)),
                m.Message.state != "received",
            )
        )
        return {keys[k] for k in rows if k is not None}


def advance(sessions: sessionmaker[Session], source_id: int, uidvalidity: int, uid: int) -> None:
    """Move the mark to `uid`: only forward, only within the same UIDVALIDITY."""
    with sessions() as session, session.begin():
        src = session.get_one(m.Source, source_id)
        if src.uidvalidity == uidvalidity and (src.last_uid or 0) < uid:
            src.last_uid = uid


def record_poll(
    sessions: sessionmaker[Session], source: str, succeeded: bool, error: str | None
) -> None:
    """The heartbeat: when we polled, when a poll last succeeded, the last error seen."""
    now = datetime.now(UTC)
    try:
        with sessions() as session, session.begin():
            src = repo.get_or_create_source(session, source)
            src.last_poll_at = now
            if succeeded:
                src.last_success_at = now
            if error:
                src.last_error = f"{now.isoformat(timespec='seconds')} {error}"
    except Exception:  # the database itself may be what failed; the log still has it
        log.exception("could not record the poll heartbeat")
