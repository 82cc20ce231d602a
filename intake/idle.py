"""IMAP IDLE: hear about new mail at once instead of at the next scheduled poll.

Owns the IDLE connection (its own, read-only), telling the service when the server announces
new mail, renewing IDLE, and reconnecting with exponential backoff when the connection drops
or the server restarts.  The scheduled poll stays the fallback for anything IDLE misses.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from imapclient import IMAPClient
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from intake.config import Settings
from intake.imap_connection import (
    BACKOFF_FIRST,
    Stopped,
    connect,
    disconnect,
    failure,
    sleep_unless_stopped,
)
from intake.logs import event

log = logging.getLogger(__name__)

# RFC 2177 asks to re-issue IDLE at least every 29 minutes.  We do it every 5: imapclient's
# idle_check swallows an EOF, so a connection dropped without a BYE (server killed, NAT
# timeout) only shows when we next send a command.
IDLE_RENEW_S = 5 * 60


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
    connected = False

    def before_reconnect(state: RetryCallState) -> None:
        text, wait_s = failure(state)
        name = "idle.dropped" if connected else "idle.connect_failed"
        event(log, name, logging.WARNING, error=text, wait_s=wait_s)

    # Any failure is retried until `stop`: this loop has no one to report to but the log.
    retrying = Retrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=backoff[0], max=backoff[1]),
        sleep=sleep_unless_stopped(stop),
        before_sleep=before_reconnect,
        reraise=True,
    )
    if stop.is_set():
        return
    with contextlib.suppress(Stopped):
        for attempt in retrying:
            with attempt:
                connected = False
                client = connect(settings)
                connected = True
                try:
                    if not client.has_capability("IDLE"):
                        event(log, "idle.unsupported", logging.WARNING, host=settings.imap_host)
                        return
                    client.select_folder(settings.imap_folder, readonly=True)
                    client.idle()
                    event(log, "idle.started", folder=settings.imap_folder)
                    # Mail may have come in while we were not listening (before the first IDLE,
                    # or while reconnecting): one poll now costs a SEARCH and closes that gap.
                    on_new_mail()
                    # Listening again: the next drop waits the first delay, not a doubled one.
                    attempt.retry_state.attempt_number = 1
                    _listen(client, on_new_mail, stop, check_s, renew_s)
                finally:
                    disconnect(client)


def _listen(
    client: IMAPClient,
    on_new_mail: Callable[[], None],
    stop: threading.Event,
    check_s: float,
    renew_s: float,
) -> None:
    """Call `on_new_mail` on each EXISTS until `stop` is set; raises when the connection ends."""
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
