"""The whole path, as deployed: mail in Dovecot → `intake poll` → PostgreSQL → reply by SMTP;
and a poll killed with SIGKILL in the middle of a batch, then restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select, text

from intake.cli import main
from samples.cases import case_zip, submission
from store import models as m
from store.db import session_factory
from tests.conftest import ROOT, _reset_pg
from tests.dovecot import Dovecot, MailUser, free_port, mail

pytest_plugins = ["tests.dovecot"]


class Capture:
    """An SMTP server's inbox: every message accepted, kept as bytes."""

    def __init__(self) -> None:
        self.mail: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.mail.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Capture]]:
    handler = Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def pg_url(pg_server: str) -> str:
    _reset_pg(pg_server)
    return pg_server


def intake_env(
    tmp_path: Path, database_url: str, dovecot: Dovecot, user: MailUser, **extra: str
) -> dict[str, str]:
    env = {
        "INTAKE_DATA_DIR": str(tmp_path / "var"),
        "INTAKE_DATABASE_URL": database_url,
        "INTAKE_IMAP_HOST": dovecot.host,
        "INTAKE_IMAP_PORT": str(dovecot.port),
        "INTAKE_IMAP_USER": user.name,
        "INTAKE_IMAP_PASSWORD": user.password,
        "INTAKE_IMAP_SECURITY": "none",
    }
    env.update({f"INTAKE_{k.upper()}": v for k, v in extra.items()})
    return env


def test_mail_in_dovecot_becomes_a_case_in_postgresql_and_a_reply_by_smtp(
    tmp_path: Path,
    pg_url: str,
    dovecot: Dovecot,
    mail_user: MailUser,
    smtp: tuple[Controller, Capture],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    json_logs: None,
) -> None:
    controller, inbox = smtp
    raw = submission("北京市", [case_zip("北京市", "光伏园区", videos=0)])
    dovecot.append(mail_user, [raw])
    for key in [k for k in os.environ if k.startswith("INTAKE_")]:
        monkeypatch.delenv(key)
    env = intake_env(
        tmp_path,
        pg_url,
        dovecot,
        mail_user,
        dry_run="false",
        smtp_host="127.0.0.1",
        smtp_port=str(controller.port),
        smtp_security="none",
        smtp_from="zmzyz@ceec.cn",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    assert main(["poll"]) == 0
    assert "1 new message (1 processed)" in capsys.readouterr().out

    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        with sessions() as session:
            case = session.scalars(select(m.Case)).one()
            assert case.unit is not None and case.unit.name == "北京市"
            assert case.category == "park"
            assert case.message.state == "processed"
            assert case.message.source_key and case.message.source_key.endswith(":1")
            # The pipeline queued the receipt or notice in the same transaction.
            assert session.scalar(select(func.count()).select_from(m.Reply)) == 1

        assert main(["send"]) == 0
        assert len(inbox.mail) == 1
        recipients, sent = inbox.mail[0]
        assert recipients == ["zhangsan@sthjj.beijing.gov.cn"]
        reply: Message = message_from_bytes(sent)
        assert reply["In-Reply-To"] == "<20231201093000.12345@sthjj.beijing.gov.cn>"
        assert reply["Auto-Submitted"] == "auto-replied"
        with sessions() as session:
            assert session.scalars(select(m.Reply.state)).all() == ["sent"]
    finally:
        engine.dispose()


def test_sigkill_in_the_middle_of_a_batch_loses_and_repeats_nothing(
    tmp_path: Path, pg_url: str, dovecot: Dovecot, mail_user: MailUser
) -> None:
    total = 8
    dovecot.append(mail_user, [mail(n, "kill") for n in range(1, total + 1)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(intake_env(tmp_path, pg_url, dovecot, mail_user, imap_batch="3"))
    env["PYTHONPATH"] = str(ROOT)
    # The message killed mid-work is retried at once here, not after the queue's delay.
    env["INTAKE_RETRY_FIRST_S"] = "0"
    command = [sys.executable, "-m", "intake.cli", "poll"]
    engine = create_engine(pg_url)

    def stored() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM messages")).scalar() or 0)
        except Exception:  # the first run has not created the tables yet
            return 0

    try:
        # Each message lingers between "ingested" and "mark advanced": the worst moment to die.
        slow = subprocess.Popen(
            command, env={**env, "INTAKE_TEST_SLOW_MS": "250"}, cwd=ROOT, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while stored() < 4 and time.monotonic() < deadline and slow.poll() is None:
            time.sleep(0.02)
        slow.send_signal(signal.SIGKILL)
        slow.wait(timeout=10)
        assert slow.returncode == -signal.SIGKILL
        killed_at = stored()
        assert 4 <= killed_at < total, "the kill did not land mid-batch"

        # Restart: the advisory lock died with the process, the poll resumes from the mark.
        again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT source_key, state FROM messages")).all()
            last_uid = conn.execute(text("SELECT last_uid FROM sources")).scalar()
        keys = sorted(int(key.split(":")[1]) for key, _ in rows)
        assert keys == list(range(1, total + 1))  # every message, each exactly once
        assert {state for _, state in rows} == {"processed"}
        assert last_uid == total
    finally:
        engine.dispose()
