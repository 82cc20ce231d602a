"""Automatic replies: decide, queue, send.  The only code here that writes mail to the world.

Queueing (`queue_reply`) runs inside the pipeline's transaction, once a message's cases and
findings are flushed.  It decides whether the message gets an answer at all, renders it
(`reports.notices`), builds the MIME message and stores its bytes in the blob store; the
`replies` row records the sha256.

Why render at queue time and not at send time: `send` must send exactly what was decided when
the mail arrived.  The running counts and findings describe the unit's materials *as of that
mail*; a later resubmission must not change what an earlier receipt says.  The Message-ID is
fixed once, so a retry after an ambiguous failure repeats the same message (receivers and staff
can see it is one reply), and the dry-run file, the staff copy and the delivered mail are the
same bytes.  A template error shows up while the message is processed, not hours later.  The
cost: a template edited after queueing changes only replies queued after the edit.

Reply states (`replies.state`):

    queued ──claim──▶ sending ──server accepted, committed──▶ sent
       ▲                 │ temporary failure (4xx; connection lost or timed out before the
       │                 │   end of the message data was sent)
       └──── backoff ◀───┤   … after MAX_ATTEMPTS attempts ─▶ failed
                         │ permanent refusal (5xx) ─────────▶ failed
                         │ no answer to the end of DATA ────▶ unknown (reported; never resent)
                         └ the process died while `sending` ─▶ unknown (next run; never resent)

`sending` is an internal, transient state: it is committed *before* the SMTP conversation, so
that a process killed after the server accepted the mail but before `sent` was committed leaves
a trace.  Only one send run works at a time (a lock file under the data folder, released by the
kernel when a process dies), so a `sending` reply seen by a run that holds the lock belongs to a
dead run: it becomes `unknown`, is reported, and is never resent automatically — a duplicate
deficiency notice confuses a clerk more than staff checking one reply by hand.  An export that
catches a run in flight shows `sending`; it means the same as `unknown` until the run ends.

For the same reason a connection lost, or a server silent for `DATA_END_TIMEOUT`, after the
final "." of DATA went out makes the reply `unknown` at once: a slow relay may have queued the
mail already, and a retry would deliver it twice.  A failure before that point (connect, MAIL
FROM, RCPT TO, the DATA command, or while the data is still going out) cannot have delivered
anything and is retried with backoff; the error names the step.

Guards (RFC 3834 and SPEC "Replies"): only submissions from a known unit are answered (or any
person's mail when the campaign enables a guidance reply); never automatic mail, bounces, lists
or no-reply senders (the classifier already set `kind`; the address is checked again here), never
our own addresses, at most `replies_per_address_per_day` replies to one address in 24 hours, and
one reply per message (a unique key on `replies.message_id`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, compat32
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from campaign import Campaign
from intake.config import ConfigError, Settings
from parsers.classify import is_machine_address
from reports.notices import NoticeKind, collect_notice, render_notice
from store import models as m
from store.blobs import BlobStore, write_atomically

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger(__name__)

# Attempts before a reply is left for staff as `failed`; waits between them grow 1, 4, 16, 64 min.
MAX_ATTEMPTS = 5
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_FACTOR = 4
# Connect and every command but the end of DATA: short, a dead relay should not stall a run.
SMTP_TIMEOUT = 60.0
# The answer to the end of DATA (RFC 5321 §4.5.3.2.6: at least 10 minutes): the relay may be
# scanning or relaying the message before it says 250, and giving up early means `unknown`.
DATA_END_TIMEOUT = 600.0
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
LOCK_NAME = "send.lock"
HEADER_READ_LIMIT = 256 * 1024

ReplyKind = NoticeKind  # receipt, deficiency, guidance


# --------------------------------------------------------------------------- header hygiene

_SPACES = re.compile(r"\s+")


def header_text(value: str | None, limit: int = 200) -> str:
    """Text from a submission made safe for a header: one line, no control characters.

    CR and LF would start a new header (header injection); other control and format characters
    (NUL, bidi overrides) break strict relays or disguise the text.
    """
    if not value:
        return ""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") else ch for ch in value
    )
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned[:limit].rstrip()


# A plain ASCII addr-spec.  A sender outside it (quoted local parts, comments, raw 8-bit) is
# left to staff rather than risked in a header or an SMTP envelope.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_MSGID = re.compile(r"<[^<>\s@]{1,200}@[^<>\s@]{1,200}>")
# A reply whose subject says "automatic" is taken for an auto-reply by other systems (and by our
# own classifier when a person answers it); such an original subject is not echoed.
_AUTOMATIC_WORDS = re.compile(r"自动回复|自动答复|退信|auto[- ]?(reply|response)", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|回复|答复)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)


def valid_address(address: str) -> bool:
    return len(address) <= 254 and bool(_ADDRESS.match(address))


def reply_subject(original: str | None, fallback: str) -> str:
    """`Re: <original>`, one `Re:` however many reply prefixes the original carried."""
    text = header_text(original, 180)
    rest = _REPLY_PREFIX.sub("", text).strip()
    if not rest or _AUTOMATIC_WORDS.search(rest):
        rest = header_text(fallback, 180)
    return f"Re: {rest}"


def addresses(value: str) -> list[str]:
    """The addresses of a comma-separated setting (`staff_copy`), lower-cased and valid."""
    found = [addr.strip().lower() for _, addr in getaddresses([value or ""])]
    return [a for a in found if valid_address(a)]


def sender_identity(settings: Settings, campaign: Campaign) -> tuple[str, str]:
    """(display name, address) our replies come from: `smtp_from`, else the office's address."""
    name, addr = "", ""
    if settings.smtp_from:
        parsed = getaddresses([settings.smtp_from])
        if parsed:
            name, addr = parsed[0]
    addr = (addr or campaign.office.email).strip()
    return header_text(campaign.office.name or name, 80), addr


def own_addresses(settings: Settings, campaign: Campaign) -> set[str]:
    """Every address that is us: an answer to any of them would be a loop."""
    own = {sender_identity(settings, campaign)[1].lower(), campaign.office.email.lower()}
    own.update(addresses(settings.staff_copy))
    own.update(addresses(settings.report_to))
    if "@" in settings.smtp_user:
        own.add(settings.smtp_user.lower())
    own.discard("")
    return own


# --------------------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Decision:
    """Whether a message is answered, and why not when it is not (for logs and staff)."""

    answer: bool
    reason: str
    guidance: bool = False


def reply_decision(
    session: Session,
    campaign: Campaign,
    settings: Settings,
    message: m.Message,
    now: datetime,
) -> Decision:
    sender = (message.sender or "").strip().lower()
    if message.state in ("quarantined", "ignored"):
        return Decision(False, f"message is {message.state}")
    guidance = False
    if message.kind == "submission" and message.unit_id is not None:
        pass
    elif message.kind in ("submission", "other") and campaign.guidance_reply:
        guidance = True
    elif message.kind == "submission":
        return Decision(False, "unit unknown: left to staff")
    else:
        return Decision(False, f"not a submission ({message.kind}): left to staff")
    if not sender or not valid_address(sender):
        return Decision(False, f"sender address {sender!r} cannot be answered safely")
    if is_machine_address(sender):
        return Decision(False, "no-reply or daemon sender")
    if sender in own_addresses(settings, campaign):
        return Decision(False, "sender is one of our own addresses")
    limit = settings.replies_per_address_per_day
    recent = session.scalar(
        select(func.count(m.Reply.id)).where(
            func.lower(m.Reply.to_addr) == sender,
            m.Reply.created_at >= now - timedelta(hours=24),
        )
    )
    if (recent or 0) >= limit:
        return Decision(False, f"{recent} replies to {sender} in 24 h (limit {limit})")
    return Decision(True, "guidance" if guidance else "submission", guidance=guidance)


# --------------------------------------------------------------------------- queueing


def queue_reply(
    session: Session,
    campaign: Campaign,
    settings: Settings,
    message: m.Message,
    *,
    now: datetime | None = None,
) -> m.Reply | None:
    """Queue the one automatic answer to `message`, or return None when it gets none.

    Call inside the transaction that processed the message, after its cases and findings are
    flushed.  Idempotent: a message that already has a reply gets that reply back.
    """
    now = now or datetime.now(UTC)
    existing = session.scalar(select(m.Reply).where(m.Reply.message_id == message.id))
    if existing is not None:
        return existing
    decision = reply_decision(session, campaign, settings, message, now)
    if not decision.answer:
        log.info("no reply to message %s: %s", message.id, decision.reason)
        return None
    from_name, from_addr = sender_identity(settings, campaign)
    if not valid_address(from_addr):
        log.error("no reply to message %s: no valid smtp_from or office email", message.id)
        return None
    notice = collect_notice(session, campaign, message, now, guidance=decision.guidance)
    rendered = render_notice(notice, settings.templates_dir)
    blobs = BlobStore(settings.blob_dir)
    fallback = campaign.subject_for(notice.unit) if notice.unit else campaign.title
    mime = build_reply_mime(
        text=rendered.text,
        html=rendered.html,
        from_name=from_name,
        from_addr=from_addr,
        to_name=message.sender_name,
        to_addr=message.sender.strip(),
        subject=reply_subject(message.subject, fallback),
        in_reply_to=message.message_id,
        references=_original_references(blobs, message),
        when=now.astimezone(ZoneInfo(campaign.timezone)),
    )
    raw = mime.as_bytes(policy=SMTP)
    digest = blobs.put(raw)
    reply = m.Reply(
        message_id=message.id,
        to_addr=message.sender.strip(),
        kind=notice.kind,
        state="queued",
        subject=str(mime["Subject"]),
        our_message_id=str(mime["Message-ID"]).strip().strip("<>"),
        raw_sha256=digest,
        attempts=0,
        created_at=now,
    )
    session.add(reply)
    session.flush()
    log.info("queued %s %s to %s for message %s", notice.kind, reply.id, reply.to_addr, message.id)
    return reply


def _original_references(blobs: BlobStore, message: m.Message) -> list[str]:
    """The thread so far: the original's References (or In-Reply-To), as clean msg-ids."""
    if not message.raw_sha256 or not blobs.exists(message.raw_sha256):
        return []
    try:
        # Only the head: a submission can be 100 MB of attachments after its headers.
        with blobs.path_for(message.raw_sha256).open("rb") as fh:
            head = fh.read(HEADER_READ_LIMIT)
        headers = BytesHeaderParser(policy=compat32).parsebytes(head)
        value = str(headers.get("References") or headers.get("In-Reply-To") or "")
    except Exception:  # a header we cannot read only costs the thread its history
        return []
    # The last few are what threading needs; a 50-deep chain would only bloat the header.
    return _MSGID.findall(value)[-10:]


def build_reply_mime(
    *,
    text: str,
    html: str,
    from_name: str,
    from_addr: str,
    to_name: str,
    to_addr: str,
    subject: str,
    in_reply_to: str | None,
    references: Sequence[str],
    when: datetime,
) -> EmailMessage:
    """The reply as strict relays want it: ASCII headers (RFC 2047), base64 UTF-8 bodies.

    `EmailMessage.set_content` would pick 8bit for short UTF-8 bodies, which relays without
    8BITMIME reject or mangle (FIELD-NOTES "Servers for tests"), hence the explicit cte.
    Every header value that came from a submission passes `header_text`.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=header_text(from_name, 80), addr_spec=from_addr)
    msg["To"] = Address(display_name=header_text(to_name, 80), addr_spec=to_addr)
    msg["Subject"] = header_text(subject, 200)
    msg["Date"] = format_datetime(when)
    domain = from_addr.rsplit("@", 1)[-1]
    msg["Message-ID"] = make_msgid("reply", domain=domain)
    original = f"<{in_reply_to}>" if in_reply_to else ""
    if original and not _MSGID.fullmatch(original):
        original = ""
    if original:
        msg["In-Reply-To"] = original
    thread = [r for r in references if r != original] + ([original] if original else [])
    if thread:
        msg["References"] = " ".join(thread)
    # RFC 3834: marks this as an automatic answer, so that well-behaved auto-responders
    # (and our own classifier, should it come back) never answer it.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    # After the bodies: set_content drops every Content-* header already present.
    msg["Content-Language"] = "zh-CN"
    return msg


# --------------------------------------------------------------------------- transports


class DeliveryError(Exception):
    """One reply could not be delivered.

    `permanent` when retrying cannot help (5xx); `unknown` when the server may have accepted the
    mail (the whole message was sent and no answer came back), so that it must not be resent.
    """

    def __init__(self, message: str, *, permanent: bool = False, unknown: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unknown = unknown


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
            raise DeliveryError(f"login as {s.smtp_user} refused: {_smtp_text(exc)}") from None
        except UnicodeError:
            # smtplib sends AUTH credentials as ASCII only; say so without echoing them.
            self._drop(conn)
            raise DeliveryError("smtp_user or smtp_password is not ASCII; cannot log in") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(conn)
            raise DeliveryError(f"cannot connect to {self.description}: {_describe(exc)}") from None
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
        raise ConfigError("smtp_host is not set (or set dry_run = true)")
    if settings.smtp_security not in DEFAULT_PORTS:
        raise ConfigError("smtp_security must be ssl, starttls or none")
    return SmtpTransport(settings)


# --------------------------------------------------------------------------- sending


@dataclass
class SendSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    waiting: int = 0  # queued, next attempt later
    dry_run: bool = False
    where: str = ""
    # A problem with the run as a whole (cannot connect, another run in progress).
    error: str | None = None
    busy: bool = False

    @property
    def ok(self) -> bool:
        return not (self.failed or self.unknown or (self.error and not self.busy))

    def line(self) -> str:
        if self.busy:
            return "send: another send run is in progress; nothing done"
        parts = [f"sent {self.sent}"]
        for count, label in (
            (self.retrying, "to retry"),
            (self.failed, "failed"),
            (self.unknown, "unknown (not resent, check by hand)"),
            (self.waiting, "waiting"),
        ):
            if count:
                parts.append(f"{count} {label}")
        line = f"replies: {', '.join(parts)} via {self.where}"
        if self.error:
            line += f"; {self.error}"
        return line


@contextlib.contextmanager
def _send_lock(data_dir: Path) -> Iterator[bool]:
    """One send run at a time.  The kernel drops the lock when its process dies, so a reply
    left `sending` while we hold it can only belong to a run that died."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_NAME, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 1, 4, 16, 64 minutes."""
    return BACKOFF_FIRST * (BACKOFF_FACTOR ** max(0, attempts - 1))


def send_queued(
    app: App, *, now: datetime | None = None, transport: Transport | None = None
) -> SendSummary:
    """Deliver every due reply: SMTP, or the outbox folder in dry-run.

    Raises ConfigError when SMTP is wanted but not configured.  `now` lets tests move the clock
    past a backoff; `transport` lets them substitute the delivery.
    """
    settings = app.settings
    transport = transport or make_transport(settings)
    summary = SendSummary(dry_run=settings.dry_run, where=transport.description)
    with _send_lock(settings.data_dir) as locked:
        if not locked:
            summary.busy = True
            summary.error = "another send run is in progress"
            return summary
        now = now or datetime.now(UTC)
        summary.unknown = _recover_interrupted(app)
        due = _due_ids(app, now)
        summary.waiting = _waiting(app, now)
        if not due:
            return summary
        try:
            for reply_id in due:
                if not transport.is_open():
                    try:
                        transport.open()
                    except DeliveryError as exc:
                        # Nothing was claimed for this reply: it stays queued, untouched.
                        log.error("send run stopped: %s", exc)
                        summary.error = str(exc)
                        break
                outcome = _send_one(app, transport, reply_id, now)
                if outcome == "sent":
                    summary.sent += 1
                elif outcome == "retrying":
                    summary.retrying += 1
                elif outcome == "failed":
                    summary.failed += 1
                elif outcome == "unknown":
                    summary.unknown += 1
        finally:
            transport.close()
    return summary


Outcome = Literal["sent", "retrying", "failed", "unknown", "skipped"]


def _recover_interrupted(app: App) -> int:
    with app.sessions() as session, session.begin():
        stuck = session.scalars(select(m.Reply).where(m.Reply.state == "sending")).all()
        for reply in stuck:
            reply.state = "unknown"
            reply.next_attempt_at = None
            reply.error = (
                "the send run stopped after handing this reply to the server and before "
                "recording the result; it may or may not have been delivered and is not resent"
            )
            log.error("reply %s to %s: delivery unknown, not resent", reply.id, reply.to_addr)
        return len(stuck)


def _due_clause(now: datetime) -> Any:
    return (m.Reply.state == "queued") & or_(
        m.Reply.next_attempt_at.is_(None), m.Reply.next_attempt_at <= now
    )


def _due_ids(app: App, now: datetime) -> list[int]:
    with app.sessions() as session:
        return list(
            session.scalars(select(m.Reply.id).where(_due_clause(now)).order_by(m.Reply.id))
        )


def _waiting(app: App, now: datetime) -> int:
    with app.sessions() as session:
        count = session.scalar(
            select(func.count(m.Reply.id)).where(
                m.Reply.state == "queued", m.Reply.next_attempt_at > now
            )
        )
        return int(count or 0)


def _claim(app: App, reply_id: int, now: datetime) -> m.Reply | None:
    """Mark the reply `sending` and commit, before any byte goes to the server."""
    with app.sessions() as session, session.begin():
        result = cast(
            CursorResult[Any],
            session.execute(
                update(m.Reply)
                .where(m.Reply.id == reply_id, _due_clause(now))
                .values(state="sending", attempts=m.Reply.attempts + 1, next_attempt_at=None)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            return None
        return session.get_one(m.Reply, reply_id)


def _send_one(app: App, transport: Transport, reply_id: int, now: datetime) -> Outcome:
    reply = _claim(app, reply_id, now)
    if reply is None:
        return "skipped"
    settings = app.settings
    try:
        if not reply.raw_sha256 or not app.blobs.exists(reply.raw_sha256):
            raise DeliveryError("the queued reply's bytes are missing", permanent=True)
        raw = app.blobs.get(reply.raw_sha256)
        sender = sender_identity(settings, app.campaign)[1]
        staff = [a for a in addresses(settings.staff_copy) if a != reply.to_addr.lower()]
        # The staff copy is a blind copy by envelope only: the unit never sees staff addresses.
        transport.deliver(reply, raw, sender, [reply.to_addr, *staff])
    except DeliveryError as exc:
        return _record_failure(app, reply, exc, now)
    _record_sent(app, reply.id)
    log.info("reply %s sent to %s", reply.id, reply.to_addr)
    return "sent"


def _record_sent(app: App, reply_id: int) -> None:
    with app.sessions() as session, session.begin():
        reply = session.get_one(m.Reply, reply_id)
        reply.state = "sent"
        reply.sent_at = datetime.now(UTC)
        reply.error = None
        reply.next_attempt_at = None


def _record_failure(app: App, reply: m.Reply, exc: DeliveryError, now: datetime) -> Outcome:
    with app.sessions() as session, session.begin():
        row = session.get_one(m.Reply, reply.id)
        row.error = str(exc)[:2000]
        if exc.unknown:
            # Like a crash after the server's acceptance: reported, never resent automatically.
            row.state = "unknown"
            row.next_attempt_at = None
            log.error("reply %s to %s: delivery unknown, not resent: %s", row.id, row.to_addr, exc)
            return "unknown"
        if exc.permanent or row.attempts >= MAX_ATTEMPTS:
            row.state = "failed"
            row.next_attempt_at = None
            log.error("reply %s to %s failed: %s", row.id, row.to_addr, exc)
            return "failed"
        row.state = "queued"
        row.next_attempt_at = now + backoff(row.attempts)
        log.warning(
            "reply %s to %s: attempt %s failed (%s); next at %s",
            row.id,
            row.to_addr,
            row.attempts,
            exc,
            row.next_attempt_at.isoformat(),
        )
        return "retrying"
