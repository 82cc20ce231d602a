"""Locks across processes, taken without waiting and dropped when their holder dies.

`exclusive`: one poll at a time, also across processes: `intake run`, a cron `intake poll`, a
second container started by mistake.

Two polls of one mailbox would not process a message twice (the database claim stops that),
but they would fetch the same mail twice and race on the mailbox's high-water mark.

- PostgreSQL: a session-level advisory lock, because the processes sharing a PostgreSQL
  database may run on different hosts or containers with nothing else in common.  The lock
  lives on one held connection; the server drops it when that connection ends, so a process
  killed with SIGKILL does not leave it behind.
- SQLite: the database is a local file, so everyone using it shares the data dir; an `flock`
  on a file there does the same job (the kernel drops it when the process dies).  `flock`, not
  `lockf`: it belongs to the open file, so two threads of one process exclude each other too.

`file_lock`: that same `flock`, on its own; one send run at a time (`intake.sending`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, from a readable name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(engine: Engine, data_dir: Path, name: str) -> Iterator[bool]:
    """Try to take the lock `name` without waiting; yields whether this caller holds it."""
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine, name) as held:
            yield held
    else:
        with file_lock(data_dir / "locks" / f"{_file_name(name)}.lock") as held:
            yield held


@contextmanager
def _pg_lock(engine: Engine, name: str) -> Iterator[bool]:
    key = lock_key(name)
    with engine.connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        # Leave no transaction open on the held connection for as long as the poll runs.
        conn.commit()
        try:
            yield held
        finally:
            if held:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
                except Exception:  # connection already gone: the server released the lock
                    log.warning("could not release advisory lock %s", name)
                    conn.invalidate()


@contextmanager
def file_lock(path: Path) -> Iterator[bool]:
    """Try to take an `flock` on the file `path` without waiting; yields whether we hold it.

    The kernel releases it when the process dies, so a holder never has to clean up after a
    crashed one.  Also the send run's lock (`intake.sending`), on every database.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a puzzled operator
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _file_name(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return f"{safe[:60]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
