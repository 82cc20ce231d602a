"""IMAP intake: fetch new mail from the inbox and hand each message to the pipeline.

What makes this safe to run unattended, against an inbox staff also read by hand:

- **Never \\Seen.**  Staff open the same mail; whether a person has read a message says nothing
  about whether we have.  We track UIDVALIDITY and the highest UID handed to the pipeline in
  the mailbox's `Source` row, fetch only UIDs above it with `BODY.PEEK[]` (plain `BODY[]` would
  mark the mail read under the staff's eyes), and never download the whole mailbox again.
- **The mark moves last.**  `Source.last_uid` advances only after the pipeline returned for that
  UID, so a crash at any point re-fetches at most the message in hand, and the pipeline's claim
  (unique raw hash, sender|Message-ID, source key) turns the repeat into a no-op.
- **UIDVALIDITY.**  When the server renumbers the mailbox (restored from backup, recreated),
  the old UIDs mean nothing: we start again from UID 1 and rely on the raw-hash and Message-ID
  dedupe, so nothing is processed twice.
- **Flag or move only after the raw bytes are stored**, and only if configured; the mailbox is
  opened read-only otherwise.  Nothing is ever deleted except by a server-side MOVE.
- **Reconnects** with exponential backoff (tenacity) when the connection drops or the server
  restarts, resuming from the stored mark.  A message that keeps failing is quarantined by the
  pipeline (when it keeps crashing the process: after several attempts spread over time, see
  `intake.claims`) and does not block the rest; such messages are resumed after new mail.
- **One poll at a time**, also across processes (`intake.locks`).

This module owns the `Poller` (one poll: fetch, ingest, mark, reconnect); logging in and what
is worth retrying are `intake.imap_connection`, batching, fetching and flagging or moving the
mail `intake.imap_mail`, the mark and the heartbeat in the `Source` row `intake.imap_source`,
waiting for new mail with IDLE `intake.idle`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from imapclient import IMAPClient
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential,
)

from intake import imap_mail, imap_source, locks
from intake.app import App
from intake.config import ConfigError, Settings
from intake.imap_connection import (
    BACKOFF_FIRST,
    ImapLoginError,
    Stopped,
    connect,
    disconnect,
    error_text,
    failure,
    retryable,
    sleep_unless_stopped,
)
from intake.logs import event
from intake.pipeline import Outcome
from intake.workers import RawMessage, WorkerPool, ingest_raw_in_order

log = logging.getLogger(__name__)

# Connection failures inside one poll: retry after 1, 2, 4, 8, 16 s, then give up until the
# next scheduled poll.
RECONNECT_ATTEMPTS = 5
BACKOFF_MAX = 60.0

Status = Literal["ok", "failed", "skipped", "stopped"]


@dataclass
class PollResult:
    source: str
    status: Status = "ok"
    uidvalidity: int | None = None
    resync: bool = False
    fetched: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    error: str | None = None
    last_uid: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def login_refused(self) -> bool:
        return self.error is not None and self.error.startswith("login refused")


def source_name(settings: Settings) -> str:
    return f"imap:{settings.imap_user}@{settings.imap_host}/{settings.imap_folder}"


def require_configured(settings: Settings) -> None:
    missing = [k for k in ("imap_host", "imap_user") if not getattr(settings, k)]
    if missing:
        names = ", ".join(f"INTAKE_{k.upper()}" for k in missing)
        raise ConfigError(f"no IMAP inbox configured: set {names} (and INTAKE_IMAP_PASSWORD)")


class Poller:
    """Polls one mailbox.  Keep one per process (the service does) or make one per poll."""

    def __init__(
        self,
        app: App,
        *,
        stop: threading.Event | None = None,
        attempts: int | None = None,
        backoff: tuple[float, float] | None = None,
        client_factory: Callable[[Settings], IMAPClient] = connect,
        keep_workers: bool = False,
    ) -> None:
        self.app = app
        self.settings = app.settings
        self.source = source_name(app.settings)
        self.stop = stop or threading.Event()
        self.attempts = max(1, attempts or RECONNECT_ATTEMPTS)
        self.backoff = backoff or (BACKOFF_FIRST, BACKOFF_MAX)
        self.client_factory = client_factory
        self.writes = bool(self.settings.imap_processed_flag or self.settings.imap_move_to)
        # Started by the first batch worth sharing out; kept between polls when `keep_workers`
        # (the service), else stopped at the end of each poll.
        self._workers: WorkerPool | None = None
        self.keep_workers = keep_workers
        # Test-only: widen the window between "ingested" and "mark advanced" so a test can
        # SIGKILL the process inside it.
        self._slow_s = int(os.environ.get("INTAKE_TEST_SLOW_MS", "0") or 0) / 1000

    # -- one poll ----------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """One poll cycle: reconnects as needed, records the outcome in the Source row."""
        require_configured(self.settings)
        try:
            return self._poll()
        finally:
            if not self.keep_workers:
                self.close()

    def _poll(self) -> PollResult:
        result = PollResult(source=self.source)
        started = time.monotonic()
        with locks.exclusive(
            self.app.engine, self.settings.data_dir, f"poll:{self.source}"
        ) as held:
            if not held:
                result.status = "skipped"
                event(log, "poll.skipped", source=self.source, reason="another poll is running")
                return result
            errors: list[str] = []
            self._reconnecting(result, errors)
            # A run that died mid-message left it claimed; its raw bytes are stored, and the
            # mailbox mark may already be past it, so finish it from the store — after new
            # mail, so that a message that keeps killing the process holds up nothing else.
            if not self.stop.is_set():
                self._resume(result)
            imap_source.record_poll(
                self.app.sessions,
                self.source,
                succeeded=result.status in ("ok", "stopped"),
                error=result.error or (errors[-1] if errors else None),
            )
        event(
            log,
            "poll.done",
            logging.INFO if result.status in ("ok", "stopped") else logging.ERROR,
            source=self.source,
            status=result.status,
            fetched=result.fetched,
            counts=dict(result.counts),
            resync=result.resync,
            reconnects=result.reconnects,
            last_uid=result.last_uid,
            seconds=round(time.monotonic() - started, 3),
            error=result.error,
        )
        return result

    def _resume(self, result: PollResult) -> None:
        resumed: Counter[str] = Counter()
        try:
            self.app.pipeline.resume_stale(resumed)
        except Exception:  # the database, most likely: the next poll tries again
            log.exception("poll.resume_failed")
        if resumed:
            result.counts.update(resumed)
            event(log, "poll.resumed", source=self.source, counts=dict(resumed))

    def _reconnecting(self, result: PollResult, errors: list[str]) -> None:
        """Sessions until one finishes: on connection trouble wait 1, 2, 4 … s (up to the cap)
        and connect again, at most `attempts` times; NO/BAD answers and a refused login end
        the poll at once.  Every error seen goes to `errors`."""

        def before_reconnect(state: RetryCallState) -> None:
            text, wait_s = failure(state)
            errors.append(text)
            result.reconnects += 1
            event(
                log,
                "imap.reconnect",
                logging.WARNING,
                source=self.source,
                error=text,
                attempt=state.attempt_number,
                wait_s=wait_s,
            )

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self.attempts) | stop_when_event_set(self.stop),
            wait=wait_exponential(multiplier=self.backoff[0], max=self.backoff[1]),
            sleep=sleep_unless_stopped(self.stop),
            before_sleep=before_reconnect,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._session(result)
        except Stopped:
            result.status = "stopped"
        except Exception as exc:
            text = error_text(exc)
            errors.append(text)
            if not retryable(exc):
                result.status, result.error = "failed", text
                if isinstance(exc, ImapLoginError):
                    result.error = "login refused: " + text
                # A refused login needs no traceback; anything else unexpected does.
                log.error(
                    "poll.failed",
                    exc_info=not isinstance(exc, ImapLoginError),
                    extra={"source": self.source, "error": text},
                )
            elif self.stop.is_set():
                result.status = "stopped"
            else:
                result.status = "failed"
                result.error = f"{text} (after {self.attempts} attempts)"
                event(
                    log,
                    "poll.failed",
                    logging.ERROR,
                    source=self.source,
                    error=text,
                    attempts=self.attempts,
                )

    def _session(self, result: PollResult) -> None:
        """One connection's worth of work; raises on connection trouble (the caller retries)."""
        client = self.client_factory(self.settings)
        try:
            folder = self.settings.imap_folder
            if self.settings.imap_move_to and not client.folder_exists(self.settings.imap_move_to):
                client.create_folder(self.settings.imap_move_to)
            # Read-only (EXAMINE) unless we are asked to mark mail: then nothing can change.
            info = client.select_folder(folder, readonly=not self.writes)
            uidvalidity = int(info[b"UIDVALIDITY"])
            source_id, last_uid, resync = imap_source.check_uidvalidity(
                self.app.sessions, self.source, uidvalidity
            )
            result.resync = result.resync or resync
            result.uidvalidity, result.last_uid = uidvalidity, last_uid
            # `UID n:*` always matches the newest message, even when n is above every UID.
            new = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
            for start in range(0, len(new), imap_mail.WINDOW):
                window = new[start : start + imap_mail.WINDOW]
                known = imap_source.known_uids(self.app.sessions, source_id, uidvalidity, window)
                if self.writes and known:
                    # Stored on an earlier run that died before marking them.
                    self._mark(client, sorted(known), result)
                todo = [u for u in window if u not in known]
                sizes = imap_mail.sizes(client, todo)
                for batch in imap_mail.uid_batches(window, sizes, self.settings.imap_batch):
                    if self.stop.is_set():
                        result.status = "stopped"
                        return
                    self._batch(client, source_id, uidvalidity, batch, known, result)
                    if result.status == "stopped":
                        return
        finally:
            disconnect(client)

    def _batch(
        self,
        client: IMAPClient,
        source_id: int,
        uidvalidity: int,
        batch: list[int],
        known: set[int],
        result: PollResult,
    ) -> None:
        todo = [u for u in batch if u not in known]
        messages: dict[int, RawMessage] = {
            uid: (raw, self.source, f"{uidvalidity}:{uid}", arrived)
            for uid, raw, arrived in imap_mail.fetch(client, todo)
        }
        outcomes = self._ingest(list(messages.values()))
        for uid in batch:
            if uid in known:
                self._advance(source_id, uidvalidity, uid, result)
                continue
            if uid not in messages:
                # Expunged by someone between SEARCH and FETCH: nothing to take.
                event(log, "imap.vanished", logging.WARNING, source=self.source, uid=uid)
                self._advance(source_id, uidvalidity, uid, result)
                continue
            raw = messages.pop(uid)[0]
            outcome = next(outcomes)
            result.fetched += 1
            result.counts[outcome] += 1
            event(
                log, "message.ingested", source=self.source, uid=uid, outcome=outcome, size=len(raw)
            )
            if self._slow_s:
                time.sleep(self._slow_s)
            if self.writes:
                # The pipeline stored the raw bytes before it returned, except for a duplicate
                # whose earlier copy had other bytes: store these too before touching the mail.
                self.app.blobs.put(raw)
                self._mark(client, [uid], result)
            self._advance(source_id, uidvalidity, uid, result)
            if self.stop.is_set():
                result.status = "stopped"
                return

    def _ingest(self, messages: list[RawMessage]) -> Iterator[Outcome]:
        """The batch's outcomes in UID order: from the worker processes when there is more than
        one message and more than one worker, else each ingested here as it is asked for."""
        if len(messages) > 1 and self.settings.workers > 1:
            if self._workers is None:
                self._workers = WorkerPool(self.app, self.settings.workers)
            return ingest_raw_in_order(self._workers, messages)
        return (
            self.app.pipeline.ingest(raw, source=source, source_key=key, arrived_at=arrived)
            for raw, source, key, arrived in messages
        )

    def close(self) -> None:
        """Stop the worker processes (and their converter), if a poll started them."""
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def _advance(self, source_id: int, uidvalidity: int, uid: int, result: PollResult) -> None:
        imap_source.advance(self.app.sessions, source_id, uidvalidity, uid)
        result.last_uid = max(result.last_uid, uid)

    # -- marking the mail on the server ------------------------------------------------------

    def _mark(self, client: IMAPClient, uids: list[int], result: PollResult) -> None:
        flag, target = self.settings.imap_processed_flag, self.settings.imap_move_to
        text = imap_mail.mark(client, uids, flag, target)
        if text is not None:
            result.warnings.append(text)
            event(
                log, "imap.mark_failed", logging.WARNING, source=self.source, uids=uids, error=text
            )
