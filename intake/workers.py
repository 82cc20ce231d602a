"""`intake ingest` and `intake retriage` in N worker processes, each with its own pipeline:
ingest hands out whole mail files, retriage shares of the stored messages.

Claims (`intake.claims`) already make concurrent pipelines safe: a message is processed by
whoever claims it first, in this process, another worker, or another `intake` on another
machine sharing the PostgreSQL database.  Each worker has its own database connections, warm
converter and probe worker.  On SQLite the pipeline reads a message's files before its first
write (`Triage.read_groups`), so workers wait for the write lock only for short transactions.

Workers are spawned, not forked: a fork of a process with threads (the converter's supervisor,
database pools) could inherit held locks.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from intake.app import App
from intake.config import Settings
from intake.sources import read_messages
from programs.run import die_with_parent

log = logging.getLogger(__name__)

# Messages in one retriage share, and in the first share timed in this process.
SAMPLE = 4
# Starting a worker (spawn, imports, database): 1.2-1.7 s measured on 2 busy cores.
WORKER_START_S = 1.5

_app: App | None = None


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
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(files)),
        mp_context=ctx,
        initializer=_start_worker,
        initargs=(app.settings, app.pipeline.replies, logging.getLogger().level),
    ) as pool:
        futures = [pool.submit(_work, path) for path in files]
        for future in as_completed(futures):
            counts += future.result()
            done()
    return counts


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
        with ProcessPoolExecutor(
            max_workers=min(workers, len(shares)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(app.settings, pipeline.replies, logging.getLogger().level),
        ) as pool:
            futures = {pool.submit(_retriage, share): len(share) for share in shares}
            for future in as_completed(futures):
                count += future.result()
                for _ in range(futures[future]):
                    done()
    pipeline.retriage_units()
    return count


def _retriage(ids: list[int]) -> int:
    assert _app is not None, "worker not started"
    return _app.pipeline.retriage_messages(ids)


def _start_worker(settings: Settings, replies: bool, level: int) -> None:
    global _app
    # A worker must not outlive an `intake` that is killed (SIGKILL, OOM): the kernel ends it.
    die_with_parent()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    _app = App(settings)
    _app.pipeline.replies = replies


def _work(path: Path) -> Counter[str]:
    assert _app is not None, "worker not started"
    return ingest_path(_app, path)
