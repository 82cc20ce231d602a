"""Delivering one reply's bytes: SMTP (`SmtpTransport`) or the outbox folder in dry-run
(`DryRunTransport`), and the `DeliveryError` that says whether a retry can help.

A transport knows nothing of reply states; `intake.sending` claims a reply, hands its bytes to
`deliver`, and records what the error (or its absence) means.

A connection lost, or a server silent for `DATA_END_TIMEOUT`, after the final "." of DATA went
out makes the reply `unknown` at once: a slow relay may have queued the mail already, and a
retry would deliver it twice.  A failure before that point (connect, MAIL FROM, RCPT TO, the
DATA command, or while the data is still going out) cannot have delivered anything and is
retried with backoff; the error names the step.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from intake.config import SettingError, Settings
from intake.faults import ServerUnreachable
from intake.reply_mime import header_text
from store import models as m
from store.blobs import write_atomically

log = logging.getLogger(__name__)

# Connect and every command but the end of DATA: short, a dead relay should not stall a run.
SMTP_TIMEOUT = 60.0
# The answer to the end of DATA (RFC 5321 §4.5.3.2.6: at least 10 minutes): the relay may be
# scanning or relaying the message before it says 250, and giving up early means `unknown`.
DATA_END_TIMEOUT = 600.0
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


class DeliveryError(Exception):
    """One reply could not be delivered.

    `permanent` when retrying cannot help (5xx); `unknown` when the server may have accepted the
    mail (the whole message was sent and no answer came back), so that it must not be resent.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        unknown: bool = False,
        unreachable: ServerUnreachable | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unknown = unknown
        # The server itself could not be used (down, refusing, login rejected): the whole run
        # stops, and a one-shot `intake send` says so in one line.
        self.unreachable = unreachable


class Transport(Protocol):
    @property
    def description(self) -> str: ...

    def open(self) -> None: ...

    def is_open(self) -> bool: ...

    def deliver(self, reply: m.Reply, raw: bytes, sender: str, recipients: list[str]) -> None: ...

    def close(self) -> None: ...


def tls_context() -> ssl.SSLContext:
    """The TLS context for SMTP: system trust store, certificate and host name checked."""
    return ssl.create_default_context()


# The SMTP steps of one delivery, as named in errors; only a failure at END_OF_DATA is ambiguous.
END_OF_DATA = "end of DATA"


@dataclass
class SmtpTransport:
    settings: Settings
    conn: smtplib.SMTP | None = None
    # How long to wait for the answer to the end of DATA (tests make it short).
    data_end_timeout: float = DATA_END_TIMEOUT

    @property
    def description(self) -> str:
        s = self.settings
        port = s.smtp_port or DEFAULT_PORTS[s.smtp_security]
        return f"SMTP {s.smtp_host}:{port} ({s.smtp_security})"

    def open(self) -> None:
        s = self.settings
        port = s.smtp_port or DEFAULT_PORTS[s.smtp_security]
        conn: smtplib.SMTP | None = None
        try:
            if s.smtp_security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.smtp_host, port, timeout=SMTP_TIMEOUT, context=tls_context()
                )
            else:
                conn = smtplib.SMTP(s.smtp_host, port, timeout=SMTP_TIMEOUT)
                if s.smtp_security == "starttls":
                    conn.ehlo()
                    conn.starttls(context=tls_context())
            conn.ehlo()
            if s.smtp_user:
                # The password comes from settings (environment or secret file) and goes
                # nowhere else: smtplib's errors carry only the server's answer.
                conn.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            self._drop(conn)
            raise DeliveryError(
                f"login as {s.smtp_user} refused: {_smtp_text(exc)}",
                unreachable=ServerUnreachable(
                    "SMTP",
                    "smtp_password",
                    f"{s.smtp_host}:{port}",
                    "the server rejected the login",
                ),
            ) from None
        except UnicodeError:
            # smtplib sends AUTH credentials as ASCII only; say so without echoing them.
            self._drop(conn)
            raise DeliveryError("smtp_user or smtp_password is not ASCII; cannot log in") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(conn)
            raise DeliveryError(
                f"cannot connect to {self.description}: {_describe(exc)}",
                unreachable=ServerUnreachable(
                    "SMTP", "smtp_host", f"{s.smtp_host}:{port}", connection_reason(exc)
                ),
            ) from None
        self.conn = conn

    def is_open(self) -> bool:
        return self.conn is not None

    def deliver(self, reply: m.Reply, raw: bytes, sender: str, recipients: list[str]) -> None:
        """One SMTP transaction; the unit's address first and required.

        Written out instead of `sendmail` so that a refused unit address ends the transaction
        before DATA: otherwise the staff copy would be delivered on every retry of a reply the
        unit never gets.  DATA is written out too (instead of `SMTP.data`), to know whether the
        final "." went out — after it, silence is not a failure but an unknown outcome — and to
        wait `data_end_timeout` for the answer to it.
        """
        conn = self.conn
        if conn is None:
            raise DeliveryError("not connected")
        to, *copies = recipients
        step = "EHLO"
        try:
            conn.ehlo_or_helo_if_needed()
            step = "MAIL FROM"
            code, answer = conn.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, answer, sender)
            step = "RCPT TO"
            code, answer = conn.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, answer)})
            for copy in copies:
                code, answer = conn.rcpt(copy)
                if code not in (250, 251):
                    log.warning("reply %s: copy to %s refused: %s %r", reply.id, copy, code, answer)
            step = "DATA"
            code, answer = conn.docmd("data")
            if code != 354:
                raise smtplib.SMTPDataError(code, answer)
            step = "message data"
            # Until `send` returns, the final "." has not (all) gone out: nothing can be delivered.
            conn.send(_data_block(raw))
            step = END_OF_DATA
            code, answer = self._end_of_data_reply(conn)
            if 400 <= code < 600:
                raise smtplib.SMTPDataError(code, answer)
            if not 200 <= code < 300:
                # Not an SMTP answer at all: whether the relay kept the mail is unknowable.
                raise DeliveryError(
                    f"unintelligible answer after the end of DATA ({code} "
                    f"{_answer_text(answer)}); the server may have accepted the reply, "
                    "not resent",
                    unknown=True,
                )
        except DeliveryError:
            self._drop(conn)
            self.conn = None
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            code, text = _refusal(exc.recipients.get(to))
            raise DeliveryError(
                f"recipient refused: {code} {text}", permanent=code >= 500
            ) from None
        except smtplib.SMTPResponseException as exc:
            # MAIL FROM or DATA refused, or 421 (the server is closing the connection).
            self._reset()
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(
                f"server answered {exc.smtp_code} {_smtp_text(exc)}", permanent=permanent
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(conn)
            self.conn = None
            if step == END_OF_DATA:
                # The whole message went out and no answer came: a slow relay may have queued
                # it already.  Resending risks a duplicate notice; staff check it instead.
                raise DeliveryError(
                    f"connection lost or timed out waiting for the answer to the end of DATA "
                    f"({_describe(exc)}); the server may have accepted the reply, not resent",
                    unknown=True,
                ) from None
            # Before the end of the data the server cannot have accepted anything: retry.
            raise DeliveryError(f"connection lost at {step}: {_describe(exc)}") from None

    def _end_of_data_reply(self, conn: smtplib.SMTP) -> tuple[int, bytes]:
        """The answer to the final ".", waited for `data_end_timeout` seconds."""
        sock = conn.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        sock.settimeout(self.data_end_timeout)
        try:
            return conn.getreply()
        finally:
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.settimeout(SMTP_TIMEOUT)

    def close(self) -> None:
        self._drop(self.conn, polite=True)
        self.conn = None

    def _reset(self) -> None:
        # After a refusal the session may still be usable; if RSET fails, start afresh.
        try:
            if self.conn is not None:
                self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop(self.conn)
            self.conn = None

    @staticmethod
    def _drop(conn: smtplib.SMTP | None, polite: bool = False) -> None:
        if conn is None:
            return
        with contextlib.suppress(smtplib.SMTPException, OSError):
            if polite:
                conn.quit()
                return
        with contextlib.suppress(OSError):
            conn.close()


def _data_block(raw: bytes) -> bytes:
    """The message as DATA sends it: leading dots doubled, CRLF, ".", CRLF (like `SMTP.data`)."""
    block = re.sub(rb"(?m)^\.", b"..", raw)
    if not block.endswith(b"\r\n"):
        block += b"\r\n"
    return block + b".\r\n"


def _answer_text(answer: bytes | str) -> str:
    return header_text(answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer)


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return header_text(text, 300)


def _refusal(answer: tuple[int, bytes] | None) -> tuple[int, str]:
    if answer is None:
        return 0, "refused"
    code, text = answer
    return code, header_text(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)


def connection_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words a person can act on."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer (timed out)"
    if isinstance(exc, socket.gaierror):
        return "the host name cannot be resolved"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or type(exc).__name__}); check INTAKE_SMTP_SECURITY"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server answered {exc.smtp_code}"
    return type(exc).__name__


def _describe(exc: BaseException) -> str:
    return header_text(f"{type(exc).__name__}: {exc}", 300)


@dataclass
class DryRunTransport:
    """Replies written as `.eml` files to the outbox folder instead of being sent."""

    folder: Path
    opened: bool = False

    @property
    def description(self) -> str:
        return f"dry-run, outbox {self.folder}"

    def open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create outbox {self.folder}: {exc}") from None
        self.opened = True

    def is_open(self) -> bool:
        return self.opened

    def deliver(self, reply: m.Reply, raw: bytes, sender: str, recipients: list[str]) -> None:
        target = self.folder / eml_name(reply)
        try:
            write_atomically(target, raw)
        except OSError as exc:
            raise DeliveryError(f"cannot write {target}: {exc}") from None

    def close(self) -> None:
        self.opened = False


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def eml_name(reply: m.Reply) -> str:
    """`<reply id>-<kind>-<recipient>.eml`, with only characters every file system takes."""
    safe = _UNSAFE.sub("_", f"{reply.kind}-{reply.to_addr.replace('@', '_at_')}").strip("._")
    return f"{reply.id}-{safe[:100]}.eml"


def make_transport(settings: Settings) -> Transport:
    if settings.dry_run:
        return DryRunTransport(settings.outbox)
    if not settings.smtp_host:
        raise SettingError(
            "smtp_host",
            "no SMTP server is set",
            "set it, or set INTAKE_DRY_RUN=true to write replies to the outbox folder instead",
        )
    if settings.smtp_security not in DEFAULT_PORTS:
        raise SettingError("smtp_security", "unknown security mode", "use ssl, starttls or none")
    return SmtpTransport(settings)
