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
- **Reconnects** with exponential backoff when the connection drops or the server restarts,
  resuming from the stored mark.  A message that keeps failing is quarantined by the pipeline
  (after a bounded number of attempts when it crashes the process) and does not block the rest.
- **One poll at a time**, also across processes (`intake.locks`).
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from sqlalchemy import select

from intake import locks
from intake.config import ConfigError, Settings
from intake.logs import event
from store import models as m
from store import repo

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger(__name__)

FETCH_ITEMS = ["BODY.PEEK[]", "INTERNALDATE"]
BODY = b"BODY[]"
# A batch is also bounded in bytes: a season's mail averages 17 MB, with videos far more.
MAX_BATCH_BYTES = 64 * 1024 * 1024
# UIDs per FETCH of sizes, and per query of already-known UIDs (keeps command lines short).
WINDOW = 500
CONNECT_TIMEOUT = 60.0
# Connection failures inside one poll: retry after 1, 2, 4, 8, 16 s, then give up until the
# next scheduled poll.
RECONNECT_ATTEMPTS = 5
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0
# RFC 2177 asks to re-issue IDLE at least every 29 minutes.  We do it every 5: imapclient's
# idle_check swallows an EOF, so a connection dropped without a BYE (server killed, NAT
# timeout) only shows when we next send a command.
IDLE_RENEW_S = 5 * 60

Status = Literal["ok", "failed", "skipped", "stopped"]


class ImapLoginError(Exception):
    """The server refused our credentials: a configuration problem, not worth retrying."""


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


def connect(settings: Settings, timeout: float = CONNECT_TIMEOUT) -> IMAPClient:
    """A logged-in client; the caller selects the folder."""
    security = settings.imap_security
    port = settings.imap_port or (993 if security == "ssl" else 143)
    context = ssl.create_default_context()
    client = IMAPClient(
        settings.imap_host,
        port=port,
        ssl=security == "ssl",
        ssl_context=context if security == "ssl" else None,
        timeout=timeout,
    )
    try:
        if security == "starttls":
            client.starttls(context)
        # Aware datetimes for INTERNALDATE instead of naive local time.
        client.normalise_times = False
        client.login(settings.imap_user, settings.imap_password)
    except LoginError as exc:
        _close(client)
        raise ImapLoginError(f"login refused for {settings.imap_user}: {_text(exc)}") from exc
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection may already be gone; nothing to clean up then
        with contextlib.suppress(Exception):
            client.shutdown()


def _text(exc: BaseException) -> str:
    msg = str(exc)
    if isinstance(exc, IMAPClientError | imaplib.IMAP4.error) and msg.startswith("b'"):
        msg = msg[2:-1]
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _retryable(exc: BaseException) -> bool:
    """Dropped connections, timeouts, a server going down; not NO/BAD answers."""
    if isinstance(exc, OSError | IMAPClientAbortError | imaplib.IMAP4.abort):
        return True
    if isinstance(exc, ImapLoginError):
        # Dovecot answers logins with this while its auth process restarts.
        return "UNAVAILABLE" in str(exc)
    return False


def uid_batches(
    uids: Sequence[int], sizes: dict[int, int], max_count: int, max_bytes: int
) -> Iterator[list[int]]:
    """UIDs in order, in batches of at most `max_count` messages and `max_bytes` (a single
    larger message goes alone)."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= max_count or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


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
    ) -> None:
        self.app = app
        self.settings = app.settings
        self.source = source_name(app.settings)
        self.stop = stop or threading.Event()
        self.attempts = max(1, attempts or RECONNECT_ATTEMPTS)
        self.backoff = backoff or (BACKOFF_FIRST, BACKOFF_MAX)
        self.client_factory = client_factory
        self.writes = bool(self.settings.imap_processed_flag or self.settings.imap_move_to)
        # Test-only: widen the window between "ingested" and "mark advanced" so a test can
        # SIGKILL the process inside it.
        self._slow_s = int(os.environ.get("INTAKE_TEST_SLOW_MS", "0") or 0) / 1000

    # -- one poll ----------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """One poll cycle: reconnects as needed, records the outcome in the Source row."""
        require_configured(self.settings)
        result = PollResult(source=self.source)
        started = time.monotonic()
        with locks.exclusive(
            self.app.engine, self.settings.data_dir, f"poll:{self.source}"
        ) as held:
            if not held:
                result.status = "skipped"
                event(log, "poll.skipped", source=self.source, reason="another poll is running")
                return result
            # A run that died mid-message left it claimed; its raw bytes are stored, and the
            # mailbox mark may already be past it, so finish it from the store.
            try:
                resumed = self.app.pipeline.resume_stale()
            except Exception:  # the poll below records the database trouble in the heartbeat
                log.exception("poll.resume_failed")
                resumed = 0
            if resumed:
                event(log, "poll.resumed", source=self.source, messages=resumed)
            errors: list[str] = []
            delay = self.backoff[0]
            for attempt in range(1, self.attempts + 1):
                try:
                    self._session(result)
                    break
                except Exception as exc:
                    text = _text(exc)
                    errors.append(text)
                    if not _retryable(exc):
                        result.status, result.error = "failed", text
                        if isinstance(exc, ImapLoginError):
                            result.error = "login refused: " + text
                        # A refused login needs no traceback; anything else unexpected does.
                        log.error(
                            "poll.failed",
                            exc_info=not isinstance(exc, ImapLoginError),
                            extra={"source": self.source, "error": text},
                        )
                        break
                    if self.stop.is_set():
                        result.status = "stopped"
                        break
                    if attempt == self.attempts:
                        result.status = "failed"
                        result.error = f"{text} (after {attempt} attempts)"
                        event(
                            log,
                            "poll.failed",
                            logging.ERROR,
                            source=self.source,
                            error=text,
                            attempts=attempt,
                        )
                        break
                    result.reconnects += 1
                    event(
                        log,
                        "imap.reconnect",
                        logging.WARNING,
                        source=self.source,
                        error=text,
                        attempt=attempt,
                        wait_s=delay,
                    )
                    if self.stop.wait(delay):
                        result.status = "stopped"
                        break
                    delay = min(delay * 2, self.backoff[1])
            self._record(result, errors)
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
            source_id, last_uid = self._check_uidvalidity(uidvalidity, result)
            result.uidvalidity, result.last_uid = uidvalidity, last_uid
            # `UID n:*` always matches the newest message, even when n is above every UID.
            new = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
            for start in range(0, len(new), WINDOW):
                window = new[start : start + WINDOW]
                known = self._known_uids(source_id, uidvalidity, window)
                if self.writes and known:
                    # Stored on an earlier run that died before marking them.
                    self._mark(client, sorted(known), result)
                todo = [u for u in window if u not in known]
                sizes = {
                    uid: int(item.get(b"RFC822.SIZE", 0))
                    for uid, item in (client.fetch(todo, ["RFC822.SIZE"]) if todo else {}).items()
                }
                for batch in uid_batches(window, sizes, self.settings.imap_batch, MAX_BATCH_BYTES):
                    if self.stop.is_set():
                        result.status = "stopped"
                        return
                    self._batch(client, source_id, uidvalidity, batch, known, result)
                    if result.status == "stopped":
                        return
        finally:
            _close(client)

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
        data: dict[int, dict[bytes, Any]] = client.fetch(todo, FETCH_ITEMS) if todo else {}
        for uid in batch:
            if uid in known:
                self._advance(source_id, uidvalidity, uid, result)
                continue
            item = data.pop(uid, None)  # pop: let the bytes go as soon as they are stored
            raw = item.get(BODY) if item else None
            if not isinstance(raw, bytes):
                # Expunged by someone between SEARCH and FETCH: nothing to take.
                event(log, "imap.vanished", logging.WARNING, source=self.source, uid=uid)
                self._advance(source_id, uidvalidity, uid, result)
                continue
            arrived = item.get(b"INTERNALDATE") if item else None
            outcome = self.app.pipeline.ingest(
                raw,
                source=self.source,
                source_key=f"{uidvalidity}:{uid}",
                arrived_at=_utc(arrived),
            )
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

    # -- marking the mail on the server ------------------------------------------------------

    def _mark(self, client: IMAPClient, uids: list[int], result: PollResult) -> None:
        """Flag and/or move mail whose raw bytes are stored.  A NO from the server (e.g. the
        target folder cannot be created) is logged and does not stop intake."""
        flag, target = self.settings.imap_processed_flag, self.settings.imap_move_to
        try:
            if flag:
                client.add_flags(uids, [flag], silent=True)
            if target:
                if client.has_capability("MOVE"):
                    client.move(uids, target)
                else:
                    # Without MOVE: copy, then flag \Deleted and expunge only these UIDs.
                    client.copy(uids, target)
                    client.add_flags(uids, [b"\\Deleted"], silent=True)
                    if client.has_capability("UIDPLUS"):
                        client.uid_expunge(uids)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            text = _text(exc)
            result.warnings.append(text)
            event(
                log, "imap.mark_failed", logging.WARNING, source=self.source, uids=uids, error=text
            )

    # -- the Source row ----------------------------------------------------------------------

    def _check_uidvalidity(self, uidvalidity: int, result: PollResult) -> tuple[int, int]:
        with self.app.sessions() as session, session.begin():
            src = repo.get_or_create_source(session, self.source)
            stored = src.uidvalidity
            if stored is not None and stored != uidvalidity:
                # The server renumbered the mailbox: every message will look new.  Start from
                # UID 1; raw-hash and Message-ID dedupe turn the old ones into duplicates.
                event(
                    log,
                    "imap.uidvalidity_changed",
                    logging.WARNING,
                    source=self.source,
                    old=stored,
                    new=uidvalidity,
                    old_last_uid=src.last_uid,
                )
                result.resync = True
                src.last_uid = 0
            elif stored is None:
                src.last_uid = 0
            src.uidvalidity = uidvalidity
            return src.id, src.last_uid or 0

    def _known_uids(self, source_id: int, uidvalidity: int, uids: list[int]) -> set[int]:
        """UIDs above the mark that are already stored: the run before died after the
        pipeline finished but before the mark moved.  Skipping them saves a download."""
        keys = {f"{uidvalidity}:{u}": u for u in uids}
        with self.app.sessions() as session:
            rows = session.scalars(
                select(m.Message.source_key).where(
                    m.Message.source_id == source_id,
                    m.Message.source_key.in_(list(keys)),
                    m.Message.state != "received",
                )
            )
            return {keys[k] for k in rows if k is not None}

    def _advance(self, source_id: int, uidvalidity: int, uid: int, result: PollResult) -> None:
        """Move the mark to `uid`: only forward, only within the same UIDVALIDITY."""
        with self.app.sessions() as session, session.begin():
            src = session.get_one(m.Source, source_id)
            if src.uidvalidity == uidvalidity and (src.last_uid or 0) < uid:
                src.last_uid = uid
        result.last_uid = max(result.last_uid, uid)

    def _record(self, result: PollResult, errors: list[str]) -> None:
        """The heartbeat: when we polled, when a poll last succeeded, the last error seen."""
        now = datetime.now(UTC)
        try:
            with self.app.sessions() as session, session.begin():
                src = repo.get_or_create_source(session, self.source)
                src.last_poll_at = now
                if result.status in ("ok", "stopped"):
                    src.last_success_at = now
                if result.error or errors:
                    src.last_error = f"{now.isoformat(timespec='seconds')} " + (
                        result.error or errors[-1]
                    )
        except Exception:  # the database itself may be what failed; the log still has it
            log.exception("could not record the poll heartbeat")


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


# -- IMAP IDLE --------------------------------------------------------------------------------


def idle_loop(
    settings: Settings,
    on_new_mail: Callable[[], None],
    stop: threading.Event,
    *,
    check_s: float = 1.0,
    renew_s: float = IDLE_RENEW_S,
    backoff: tuple[float, float] = (BACKOFF_FIRST, 300.0),
) -> None:
    """Wait for new mail with IDLE on a connection of its own and call `on_new_mail` when the
    server announces some.  Runs until `stop` is set; the scheduled poll is the fallback for
    anything IDLE misses (a dropped connection, a server without IDLE)."""
    delay = backoff[0]
    while not stop.is_set():
        try:
            client = connect(settings)
        except Exception as exc:
            event(log, "idle.connect_failed", logging.WARNING, error=_text(exc), wait_s=delay)
            if stop.wait(delay):
                return
            delay = min(delay * 2, backoff[1])
            continue
        try:
            if not client.has_capability("IDLE"):
                event(log, "idle.unsupported", logging.WARNING, host=settings.imap_host)
                return
            client.select_folder(settings.imap_folder, readonly=True)
            client.idle()
            event(log, "idle.started", folder=settings.imap_folder)
            # Mail may have come in while we were not listening (before the first IDLE, or
            # while reconnecting): one poll now costs a SEARCH and closes that gap.
            on_new_mail()
            delay = backoff[0]
            since = time.monotonic()
            while not stop.is_set():
                responses = client.idle_check(timeout=check_s)
                if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                    on_new_mail()
                if any(r and r[0] == b"BYE" for r in responses):
                    # The server is shutting down (restart): reconnect.  Mail that arrives
                    # meanwhile is caught by the poll that follows our reconnect.
                    raise ConnectionResetError("server said BYE")
                if time.monotonic() - since > renew_s:
                    client.idle_done()
                    client.idle()
                    since = time.monotonic()
            client.idle_done()
        except Exception as exc:
            event(log, "idle.dropped", logging.WARNING, error=_text(exc), wait_s=delay)
            if stop.wait(delay):
                return
            delay = min(delay * 2, backoff[1])
        finally:
            _close(client)
