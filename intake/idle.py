"""IMAP IDLE: hear about new mail at once instead of at the next scheduled poll.

Owns the IDLE connection (its own, read-only), telling the service when the server announces
new mail, renewing IDLE (`imap_idle_renew_s`), noticing within a second that the connection
dropped (EOF, BYE or a socket error), reconnecting with exponential backoff (1 s doubling,
capped at 30 s) and asking for a poll right after each reconnect, which fetches by UID what
arrived meanwhile.  The scheduled poll stays the fallback for anything IDLE misses.
"""

from __future__ import annotations

import contextlib
import logging
import select
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

# RFC 2177 asks to re-issue IDLE at least every 29 minutes; NATs forget quiet connections after
# about 5.  The service uses the `imap_idle_renew_s` setting (2 min by default): each renewal is
# also a round trip that proves the connection still works.
IDLE_RENEW_S = 2 * 60
# Waits between reconnects: 1, 2, 4 … s, at most this, so a restarted server is back in IDLE
# within seconds of coming up.
IDLE_BACKOFF_MAX = 30.0


def idle_loop(
    settings: Settings,
    on_new_mail: Callable[[], None],
    stop: threading.Event,
    *,
    check_s: float = 1.0,
    renew_s: float | None = None,
    backoff: tuple[float, float] = (BACKOFF_FIRST, IDLE_BACKOFF_MAX),
) -> None:
    """Wait for new mail with IDLE on a connection of its own and call `on_new_mail` when the
    server announces some.  Runs until `stop` is set; the scheduled poll is the fallback for
    anything IDLE misses (a dropped connection, a server without IDLE)."""
    connected = False
    renew = renew_s or settings.imap_idle_renew_s or IDLE_RENEW_S

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
                    _listen(client, on_new_mail, stop, check_s, renew)
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
        responses = list(client.idle_check(timeout=check_s))
        if (not responses and _readable(client)) or time.monotonic() - since > renew_s:
            # A closed connection (server killed: EOF; reset: socket error) makes the socket
            # readable with nothing to read, and imapclient's idle_check swallows that.  Ending
            # IDLE is a round trip: it raises when the server is gone (and we reconnect), and
            # otherwise renews IDLE, as RFC 2177 asks anyway.
            responses += client.idle_done()[1]
            client.idle()
            since = time.monotonic()
        if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
            on_new_mail()
        if any(r and r[0] == b"BYE" for r in responses):
            # The server is shutting down (restart): reconnect.  Mail that arrives
            # meanwhile is caught by the poll that follows our reconnect.
            raise ConnectionResetError("server said BYE")
    client.idle_done()


def _readable(client: IMAPClient) -> bool:
    """Has the socket something (or an end, or an error) to report right now?"""
    try:
        ready, _, failed = select.select([client.socket()], [], [client.socket()], 0)
    except (OSError, ValueError):  # closed under us
        return True
    return bool(ready or failed)
