"""Worker processes for `intake ingest`, `intake retriage` and the IMAP poller: each worker has
its own pipeline; ingest hands out whole mail files, retriage shares of the stored messages, the
poller the raw messages of a fetched batch.

Claims (`intake.claims`) already make concurrent pipelines safe: a message is processed by
whoever claims it first, in this process, another worker, or another `intake` on another
machine sharing the PostgreSQL database.  Each worker has its own database connections and
probe worker; the `.doc` forms of all of them go to one warm LibreOffice in a converter host
(`programs.converter_host`), because one LibreOffice per worker cost ~250 MB each.  On SQLite
the pipeline reads a message's files before its first write (`Triage.read_groups`), so workers
wait for the write lock only for short transactions.

Workers are spawned, not forked: a fork of a process with threads (the converter's supervisor,
database pools) could inherit held locks.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from datetime import datetime
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import Any, TypeVar

from intake.app import App
from intake.config import Settings
from intake.memory import return_freed_memory, trim
from intake.pipeline import Outcome
from intake.sources import read_messages
from programs.converter_host import ConverterHost, HostAddress, RemoteConverter
from programs.run import die_with_parent
from programs.warm_converter import DocumentConverter

log = logging.getLogger(__name__)

T = TypeVar("T")
# A fetched message for a worker: raw bytes, source, source key, when it arrived.
RawMessage = tuple[bytes, str, str, datetime | None]
# Messages in one retriage share, and in the first share timed in this process.
SAMPLE = 4
# Starting a worker (spawn, imports, database): 1.2-1.7 s measured on 2 busy cores.
WORKER_START_S = 1.5

_app: App | None = None


class WorkerPool:
    """`size` spawned worker processes, each with its own App, sharing one converter host.

    While the pool is open this process's own pipeline converts through the host too, so an
    `intake` run has one LibreOffice however many workers it has.  A worker that dies (killed,
    out of memory) breaks the pool: the call in progress raises `BrokenProcessPool` and the next
    one starts a fresh pool.
    """

    def __init__(self, app: App, size: int) -> None:
        self.app = app
        self.size = size
        self.host: ConverterHost | None = None
        self._own: DocumentConverter | None = app.pipeline.warm
        if app.settings.converter == "warm":
            self.host = ConverterHost(
                app.settings.unoserver or None, app.settings.libreoffice or None
            )
            app.pipeline.warm = RemoteConverter(self.host.address)
        self._pool: ProcessPoolExecutor | None = None
        # Workers log through this process's handlers (JSON lines for `intake run`, the brief
        # console format for commands), so one run writes one consistent log.
        self._context = multiprocessing.get_context("spawn")
        self._log_queue: multiprocessing.Queue[logging.LogRecord] = self._context.Queue()
        self._log_listener = QueueListener(
            self._log_queue, *logging.getLogger().handlers, respect_handler_level=True
        )
        self._log_listener.start()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is not None and not getattr(self._pool, "_broken", False):
            return self._pool
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ProcessPoolExecutor(
            max_workers=self.size,
            mp_context=self._context,
            initializer=_start_worker,
            initargs=(
                self.app.settings,
                self.app.pipeline.replies,
                logging.getLogger().level,
                self._log_queue,
                self.host.address if self.host is not None else None,
            ),
        )
        return self._pool

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._executor().submit(fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.host is not None:
            self.app.pipeline.warm = self._own
            self.host.close()
            self.host = None
        self._log_listener.stop()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ingest_path(app: App, path: Path) -> Counter[str]:
    """Every message at one path (a file, an mbox, a Maildir) through the pipeline; outcomes."""
    counts: Counter[str] = Counter()
    try:
        for item in read_messages(path):
            try:
                outcome = app.pipeline.ingest(
                    item.raw, source="files", source_key=item.key, retry_quarantined=True
                )
                counts[outcome] += 1
            except Exception:  # e.g. the database went away: say so, go on
                log.exception("cannot ingest %s", item.key)
                counts["failed"] += 1
    except OSError as exc:
        log.error("cannot read %s: %s", path, exc)
        counts["unreadable"] += 1
    return counts


def ingest_files(
    app: App,
    files: list[Path],
    workers: int,
    done: Callable[[], None] = lambda: None,
) -> Counter[str]:
    """All files, in `workers` processes (in this one when 1, or for a single file)."""
    counts: Counter[str] = Counter()
    if workers <= 1 or len(files) <= 1:
        for path in files:
            counts += ingest_path(app, path)
            done()
        return counts
    with WorkerPool(app, min(workers, len(files))) as pool:
        for future in as_completed([pool.submit(_ingest_path, path) for path in files]):
            counts += future.result()
            done()
    return counts


def ingest_raw_in_order(pool: WorkerPool, messages: list[RawMessage]) -> Iterator[Outcome]:
    """The poller's batch: each `(raw, source, source_key, arrived_at)` ingested by a worker,
    outcomes yielded in the order given, so the caller moves its mailbox mark in UID order."""
    futures = [pool.submit(_ingest_raw, *message) for message in messages]
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()


def retriage_all(app: App, workers: int, done: Callable[[], None] = lambda: None) -> int:
    """`intake retriage` with the stored messages shared out among `workers` processes; the
    unit-level judgement (versions, order) runs once at the end, here.

    A first share is judged here, and timed: when what it read was kept (`intake.derived`),
    judging the rest here is quicker than starting workers (season of 64 messages: 2.4 s in
    one process, 4.7 s with two workers), which pay off only when forms must be read again."""
    pipeline = app.pipeline
    ids = pipeline.retriage_ids()
    started = time.monotonic()
    count = pipeline.retriage_messages(ids[:SAMPLE], done)
    ids = ids[SAMPLE:]
    rest_here = (time.monotonic() - started) / SAMPLE * len(ids)
    if workers <= 1 or len(ids) <= 1 or rest_here * (1 - 1 / workers) < WORKER_START_S:
        log.info("retriage: %d more messages in this process", len(ids))
        count += pipeline.retriage_messages(ids, done)
    else:
        # Small shares, so one slow message does not leave the other workers idle.
        shares = [ids[i : i + SAMPLE] for i in range(0, len(ids), SAMPLE)]
        log.info("retriage: %d more messages in %d workers", len(ids), min(workers, len(shares)))
        with WorkerPool(app, min(workers, len(shares))) as pool:
            futures = {pool.submit(_retriage, share): len(share) for share in shares}
            for future in as_completed(futures):
                count += future.result()
                for _ in range(futures[future]):
                    done()
    pipeline.retriage_units()
    return count


def _start_worker(
    settings: Settings,
    replies: bool,
    level: int,
    log_queue: multiprocessing.Queue[logging.LogRecord],
    host: HostAddress | None,
) -> None:
    global _app
    # A worker must not outlive an `intake` that is killed (SIGKILL, OOM): the kernel ends it.
    die_with_parent()
    return_freed_memory()
    root = logging.getLogger()
    root.handlers[:] = [QueueHandler(log_queue)]
    root.setLevel(level)
    _app = App(settings)
    _app.pipeline.replies = replies
    if host is not None:
        _app.pipeline.warm = RemoteConverter(host)


def _worker_app() -> App:
    assert _app is not None, "worker not started"
    return _app


def _ingest_path(path: Path) -> Counter[str]:
    try:
        return ingest_path(_worker_app(), path)
    finally:
        trim()


def _ingest_raw(raw: bytes, source: str, source_key: str, arrived_at: datetime | None) -> Outcome:
    try:
        return _worker_app().pipeline.ingest(
            raw, source=source, source_key=source_key, arrived_at=arrived_at
        )
    finally:
        trim()


def _retriage(ids: list[int]) -> int:
    try:
        return _worker_app().pipeline.retriage_messages(ids)
    finally:
        trim()
