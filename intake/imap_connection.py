"""Connecting to the IMAP server, and what to do when that fails.

Owns logging in (SSL, STARTTLS or plain; aware INTERNALDATEs), closing a connection that may
already be gone, the one-line text of an IMAP error, which errors are worth a reconnect, and
the tenacity pieces the poll and the IDLE loop share: a wait that a stop event cuts short, and
what a failed attempt reports.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
import threading
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from tenacity import RetryCallState

from intake.config import Settings

CONNECT_TIMEOUT = 60.0
# The first wait after a dropped connection; each further failure doubles it up to a cap.
BACKOFF_FIRST = 1.0


class ImapLoginError(Exception):
    """The server refused our credentials: a configuration problem, not worth retrying."""


def imap_port(settings: Settings) -> int:
    return settings.imap_port or (993 if settings.imap_security == "ssl" else 143)


def connect(settings: Settings, timeout: float = CONNECT_TIMEOUT) -> IMAPClient:
    """A logged-in client; the caller selects the folder."""
    security = settings.imap_security
    port = imap_port(settings)
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
        disconnect(client)
        raise ImapLoginError(f"login refused for {settings.imap_user}: {error_text(exc)}") from exc
    except BaseException:
        disconnect(client)
        raise
    return client


def disconnect(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection may already be gone; nothing to clean up then
        with contextlib.suppress(Exception):
            client.shutdown()


def error_text(exc: BaseException) -> str:
    msg = str(exc)
    if isinstance(exc, IMAPClientError | imaplib.IMAP4.error) and msg.startswith("b'"):
        msg = msg[2:-1]
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def retryable(exc: BaseException) -> bool:
    """Dropped connections, timeouts, a server going down; not NO/BAD answers."""
    if isinstance(exc, OSError | IMAPClientAbortError | imaplib.IMAP4.abort):
        return True
    if isinstance(exc, ImapLoginError):
        # Dovecot answers logins with this while its auth process restarts.
        return "UNAVAILABLE" in str(exc)
    return False


class Stopped(Exception):
    """The stop event was set while waiting to reconnect."""


def sleep_unless_stopped(stop: threading.Event) -> Callable[[float], None]:
    """A tenacity `sleep` that wakes at once when `stop` is set, and then ends the retrying."""

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise Stopped

    return sleep


def failure(state: RetryCallState) -> tuple[str, float]:
    """For a tenacity `before_sleep`: the failed attempt's error and the wait before the next."""
    exc = state.outcome.exception() if state.outcome is not None else None
    text = error_text(exc) if exc is not None else "unknown error"
    return text, state.next_action.sleep if state.next_action is not None else 0.0
