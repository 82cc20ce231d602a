"""Sending replies to a real SMTP server (aiosmtpd) on loopback — SQLite and PostgreSQL.

The server can accept, refuse a recipient (550), defer the data (451), reject the data (554),
drop the connection at RCPT TO (before any data: retried), or take the whole message and then
drop the connection or stall instead of answering the end of DATA (the mail may be delivered:
`unknown`, never resent).  A crash between the server's acceptance and our commit is simulated
by killing the run right after the server answered 250.
"""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

import intake.transport as transports
from intake import sending
from intake.app import App
from intake.sending import BACKOFF_FIRST, MAX_ATTEMPTS, backoff
from samples.mail import build_submission
from store import models as m
from tests.conftest import make_app
from tests.test_replies import SENDER, ensure_reply, ingest, send_queued

STAFF = "staff@ceec.cn"
FROM = "intake@ceec.cn"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Handler:
    """An SMTP server whose behaviour the test sets: accept, refuse, defer, reject, drop, stall."""

    mode: str = "accept"
    received: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    logins: list[str] = field(default_factory=list)
    # How long "stall" keeps the client waiting for the answer to the end of DATA.
    stall_seconds: float = 3.0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.mode == "refuse_rcpt" and address != STAFF:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if self.mode == "drop_rcpt":
            # The connection dies before any data was sent: nothing can have been delivered.
            server.transport.close()
            return "250 never seen"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_attempts += 1
        if self.mode == "defer":
            return "451 4.3.0 Temporary lookup failure, try again later"
        if self.mode == "reject_data":
            return "554 5.7.1 Message rejected as spam"
        # The relay has the whole message (and may deliver it) before it answers.
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        )
        if self.mode == "drop":
            # The connection dies after the final "." and before the server answered.
            server.transport.close()
            return "250 never seen"
        if self.mode == "stall":
            # A slow relay: the answer comes after the client stopped waiting.
            await asyncio.sleep(self.stall_seconds)
            return "250 2.0.0 Ok: queued, too late"
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def server(handler: Handler) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def smtp_app(tmp_path: Path, db_url: str, port: int, **extra: str) -> App:
    settings = {
        "dry_run": "false",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(port),
        "smtp_security": "none",
        "smtp_from": f"Intake <{FROM}>",
        "staff_copy": STAFF,
        **extra,
    }
    return make_app(tmp_path, db_url, **settings)


@pytest.fixture
def app(tmp_path: Path, db_url: str, server: Controller) -> Iterator[App]:
    application = smtp_app(tmp_path, db_url, server.port)
    yield application
    application.engine.dispose()


def queue_one(app: App, message_id: str = "<orig-1@sthjj.beijing.gov.cn>") -> m.Reply:
    """A deficiency notice (no attachments: NO_MATERIALS) queued through the real pipeline."""
    raw = build_submission(
        message_id=message_id, extra_headers=[("References", "<earlier-0@qq.com>")]
    )
    reply = ensure_reply(app, ingest(app, raw))
    assert reply is not None and reply.kind == "deficiency"
    return reply


def reply_row(app: App, reply_id: int) -> m.Reply:
    with app.sessions() as s:
        return s.get_one(m.Reply, reply_id)


def parsed(content: bytes) -> EmailMessage:
    msg = email.message_from_bytes(content, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


# --------------------------------------------------------------------------- delivery


def test_delivered_reply_is_threaded_and_blind_copied(app: App, handler: Handler) -> None:
    reply = queue_one(app)
    summary = send_queued(app)
    assert (summary.sent, summary.failed, summary.retrying) == (1, 0, 0)
    assert summary.ok and "SMTP 127.0.0.1" in summary.line()
    [got] = handler.received
    assert got.mail_from == FROM
    assert got.rcpt_tos == [SENDER, STAFF]  # the staff copy rides on the envelope only
    assert reply.raw_sha256 and got.content.rstrip(b"\r\n") == app.blobs.get(
        reply.raw_sha256
    ).rstrip(b"\r\n")
    msg = parsed(got.content)
    assert msg["In-Reply-To"] == "<orig-1@sthjj.beijing.gov.cn>"
    assert msg["References"].split() == ["<earlier-0@qq.com>", "<orig-1@sthjj.beijing.gov.cn>"]
    assert msg["Subject"] == "Re: 北京市低碳发展典型案例申报材料"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Message-ID"] == f"<{reply.our_message_id}>"
    assert msg["Bcc"] is None and msg["Cc"] is None and STAFF not in got.content.decode("ascii")
    text = msg.get_body(("plain",))
    assert text is not None and "邮件中没有找到推荐材料" in text.get_content()
    row = reply_row(app, reply.id)
    assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
    # A second run sends nothing.
    assert send_queued(app).sent == 0
    assert len(handler.received) == 1


def test_refused_recipient_fails_at_once(app: App, handler: Handler) -> None:
    handler.mode = "refuse_rcpt"
    reply = queue_one(app)
    summary = send_queued(app)
    assert summary.failed == 1 and not summary.ok
    row = reply_row(app, reply.id)
    assert row.state == "failed" and row.attempts == 1
    assert row.error and "550" in row.error
    assert handler.received == []


def test_rejected_data_fails_at_once(app: App, handler: Handler) -> None:
    handler.mode = "reject_data"
    reply = queue_one(app)
    assert send_queued(app).failed == 1
    row = reply_row(app, reply.id)
    assert row.state == "failed" and row.error and "554" in row.error


def test_deferred_reply_is_retried_with_backoff(app: App, handler: Handler) -> None:
    handler.mode = "defer"
    reply = queue_one(app)
    start = datetime.now(UTC)
    first = send_queued(app, now=start)
    assert first.retrying == 1 and first.sent == 0
    row = reply_row(app, reply.id)
    assert row.state == "queued" and row.attempts == 1 and row.error and "451" in row.error
    assert row.next_attempt_at == start + BACKOFF_FIRST
    # Not due yet: nothing happens.
    assert send_queued(app, now=start).waiting == 1
    assert handler.data_attempts == 1
    # Due, and the server has recovered.
    handler.mode = "accept"
    later = send_queued(app, now=start + BACKOFF_FIRST)
    assert later.sent == 1
    row = reply_row(app, reply.id)
    assert row.state == "sent" and row.attempts == 2 and row.error is None
    assert len(handler.received) == 1


def test_deferred_too_often_is_left_for_staff(app: App, handler: Handler) -> None:
    handler.mode = "defer"
    reply = queue_one(app)
    when = datetime.now(UTC)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        summary = send_queued(app, now=when)
        row = reply_row(app, reply.id)
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert summary.retrying == 1 and row.state == "queued"
            assert row.next_attempt_at == when + backoff(attempt)
            when = when + backoff(attempt)
        else:
            assert summary.failed == 1 and row.state == "failed"
    assert handler.data_attempts == MAX_ATTEMPTS
    assert send_queued(app, now=when + backoff(MAX_ATTEMPTS)).sent == 0
    assert handler.data_attempts == MAX_ATTEMPTS


def test_connection_dropped_before_data_is_retried_and_delivered_once(
    app: App, handler: Handler
) -> None:
    handler.mode = "drop_rcpt"
    first_reply = queue_one(app, "<drop-1@beijing.gov.cn>")
    second_reply = queue_one(app, "<drop-2@beijing.gov.cn>")
    start = datetime.now(UTC)
    summary = send_queued(app, now=start)
    # Each reply found the connection gone; the run reconnected for the second.
    assert summary.retrying == 2 and summary.sent == 0 and summary.unknown == 0
    for r in (first_reply, second_reply):
        row = reply_row(app, r.id)
        assert row.state == "queued" and row.error and "connection lost at RCPT TO" in row.error
    assert handler.data_attempts == 0
    handler.mode = "accept"
    assert send_queued(app, now=start + BACKOFF_FIRST).sent == 2
    assert len(handler.received) == 2
    assert {parsed(r.content)["In-Reply-To"] for r in handler.received} == {
        "<drop-1@beijing.gov.cn>",
        "<drop-2@beijing.gov.cn>",
    }


def smtp_transport(app: App, data_end_timeout: float) -> transports.SmtpTransport:
    return transports.SmtpTransport(app.settings, data_end_timeout=data_end_timeout)


@pytest.mark.parametrize("mode", ["drop", "stall"])
def test_no_answer_after_the_data_is_unknown_and_never_resent(
    app: App, handler: Handler, mode: str
) -> None:
    """The relay took the whole message, then dropped the connection or stayed silent past our
    timeout: it may deliver the mail, so a retry could deliver it twice."""
    handler.mode = mode
    handler.stall_seconds = 3.0
    reply = queue_one(app, "<slow-1@beijing.gov.cn>")
    other = queue_one(app, "<slow-2@beijing.gov.cn>")
    start = datetime.now(UTC)
    summary = send_queued(app, now=start, transport=smtp_transport(app, 0.5))
    assert summary.unknown == 2 and summary.sent == 0 and summary.retrying == 0
    assert not summary.ok and "unknown (not resent" in summary.line()
    for r in (reply, other):
        row = reply_row(app, r.id)
        assert row.state == "unknown" and row.attempts == 1 and row.next_attempt_at is None
        assert row.error and "end of DATA" in row.error and "not resent" in row.error
        assert ("closed: timed out" in row.error) == (mode == "stall")
    assert len(handler.received) == 2  # both reached the relay, once each
    # The relay recovers; later runs still never resend.
    handler.mode = "accept"
    for later in (start + BACKOFF_FIRST, start + backoff(MAX_ATTEMPTS) * 2):
        again = send_queued(app, now=later, transport=smtp_transport(app, 0.5))
        assert (again.sent, again.retrying, again.unknown) == (0, 0, 0)
    assert handler.data_attempts == 2 and len(handler.received) == 2
    assert reply_row(app, reply.id).state == "unknown"


def test_the_end_of_data_answer_is_awaited_longer_than_commands(app: App) -> None:
    # RFC 5321 §4.5.3.2.6: at least 10 minutes for the answer to the final ".".
    assert transports.DATA_END_TIMEOUT >= 600
    assert transports.SMTP_TIMEOUT < transports.DATA_END_TIMEOUT
    transport = transports.make_transport(app.settings)
    assert isinstance(transport, transports.SmtpTransport)
    assert transport.data_end_timeout == transports.DATA_END_TIMEOUT


def test_a_slow_relay_within_the_timeout_is_sent(app: App, handler: Handler) -> None:
    handler.mode = "stall"
    handler.stall_seconds = 0.3
    reply = queue_one(app)
    summary = send_queued(app, transport=smtp_transport(app, 5.0))
    assert summary.sent == 1 and summary.unknown == 0
    assert reply_row(app, reply.id).state == "sent"
    assert len(handler.received) == 1


def test_crash_between_accept_and_commit_is_never_resent(
    app: App, handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = queue_one(app)

    def killed(*_: object) -> None:
        raise SystemExit("killed after the server said 250")

    monkeypatch.setattr(sending, "_record_sent", killed)
    with pytest.raises(SystemExit):
        send_queued(app)
    assert len(handler.received) == 1
    assert reply_row(app, reply.id).state == "sending"
    monkeypatch.undo()
    # The next run finds the reply in flight from a dead run: unknown, reported, not resent.
    summary = send_queued(app)
    assert summary.unknown == 1 and summary.sent == 0 and not summary.ok
    row = reply_row(app, reply.id)
    assert row.state == "unknown" and row.error
    assert send_queued(app).sent == 0
    assert len(handler.received) == 1


def test_server_down_leaves_the_queue_untouched(tmp_path: Path, db_url: str) -> None:
    app = smtp_app(tmp_path, db_url, free_port())
    try:
        reply = queue_one(app)
        summary = send_queued(app)
        assert summary.error and "cannot connect" in summary.error and not summary.ok
        row = reply_row(app, reply.id)
        assert row.state == "queued" and row.attempts == 0
    finally:
        app.engine.dispose()


def test_send_command_exits_1_when_a_reply_failed(
    app: App,
    handler: Handler,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from intake.cli import main

    handler.mode = "refuse_rcpt"
    queue_one(app)
    for key, value in {
        "INTAKE_DATA_DIR": str(app.settings.data_dir),
        "INTAKE_DATABASE_URL": db_url,
        "INTAKE_DRY_RUN": "false",
        "INTAKE_SMTP_HOST": "127.0.0.1",
        "INTAKE_SMTP_PORT": str(app.settings.smtp_port),
        "INTAKE_SMTP_SECURITY": "none",
        "INTAKE_SMTP_FROM": FROM,
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["send"]) == 1
    assert "1 failed" in capsys.readouterr().out


# --------------------------------------------------------------------------- TLS and login


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def _authenticator(handler: Handler, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == password.encode()
        if ok:
            handler.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    return check


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_login_with_password_from_a_secret_file(
    tmp_path: Path,
    db_url: str,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    handler = Handler()
    tls: dict[str, Any] = (
        {"tls_context": server_ctx, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": server_ctx}
    )
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        auth_required=True,
        # aiosmtpd only counts STARTTLS as TLS; on an implicit-TLS port it would hide AUTH.
        auth_require_tls=security == "starttls",
        authenticator=_authenticator(handler, "s3cret-Pa55"),
        **tls,
    )
    controller.start()
    # Trust our throw-away certificate; host name and chain are still checked.
    monkeypatch.setattr(transports, "tls_context", lambda: ssl.create_default_context(cafile=cert))
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret-Pa55\n", encoding="utf-8")
    app = smtp_app(
        tmp_path,
        db_url,
        controller.port,
        smtp_security=security,
        smtp_user="intake",
        smtp_password_file=str(secret),
    )
    try:
        reply = queue_one(app)
        summary = send_queued(app)
        assert summary.sent == 1, summary.line()
        assert handler.logins == ["intake"]
        assert len(handler.received) == 1
        assert reply_row(app, reply.id).state == "sent"
        assert "s3cret" not in repr(app.settings)
    finally:
        app.engine.dispose()
        controller.stop()


def test_wrong_password_stops_the_run_without_touching_replies(
    tmp_path: Path, db_url: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    handler = Handler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ctx,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator(handler, "right"),
    )
    controller.start()
    monkeypatch.setattr(transports, "tls_context", lambda: ssl.create_default_context(cafile=cert))
    app = smtp_app(
        tmp_path,
        db_url,
        controller.port,
        smtp_security="starttls",
        smtp_user="intake",
        smtp_password="wrong-password-value",
    )
    try:
        reply = queue_one(app)
        summary = send_queued(app)
        assert summary.error and "login" in summary.error
        assert "wrong-password-value" not in summary.line()
        row = reply_row(app, reply.id)
        assert row.state == "queued" and row.attempts == 0
        assert handler.received == []
    finally:
        app.engine.dispose()
        controller.stop()


def test_replies_are_sent_in_queue_order(app: App, handler: Handler) -> None:
    ids = [queue_one(app, f"<order-{i}@beijing.gov.cn>").id for i in range(3)]
    assert send_queued(app).sent == 3
    with app.sessions() as s:
        sent = s.scalars(select(m.Reply.id).where(m.Reply.state == "sent").order_by(m.Reply.id))
        assert list(sent) == ids
    assert [parsed(r.content)["In-Reply-To"] for r in handler.received] == [
        f"<order-{i}@beijing.gov.cn>" for i in range(3)
    ]
