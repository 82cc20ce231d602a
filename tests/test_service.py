"""`intake run`, `intake poll`, `intake status`: scheduling, signals, heartbeat, logs."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from intake import daily_job, imap, logs, sending
from intake.app import App
from intake.cli import main
from intake.config import load_settings
from intake.job_state import StateFile
from intake.service import Service, parse_report_time
from intake.status import collect, render, status_command, width
from store import models as m
from tests.conftest import ROOT, make_app
from tests.dovecot import Dovecot, MailUser, imap_app, mail
from tests.test_replies import ensure_reply, finding, stored_message

pytest_plugins = ["tests.dovecot"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def count(app: App, state: str | None = None) -> int:
    with app.sessions() as session:
        query = select(m.Message)
        if state:
            query = query.where(m.Message.state == state)
        return len(session.scalars(query).all())


@pytest.fixture
def service_app(
    tmp_path: Path, sqlite_url: str, dovecot: Dovecot, mail_user: MailUser
) -> Iterator[App]:
    app = imap_app(tmp_path, sqlite_url, dovecot, mail_user, imap_idle="true", poll_minutes="60")
    yield app
    app.engine.dispose()


# -- the scheduler ------------------------------------------------------------------------------


def test_service_polls_at_start_and_at_once_on_idle(
    service_app: App, dovecot: Dovecot, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports: list[str] = []
    monkeypatch.setattr(Service, "report_job", lambda self: reports.append("report"))
    dovecot.append(mail_user, [mail(1)])
    service = Service(service_app)
    service.start()
    try:
        assert wait_for(lambda: count(service_app, "processed") == 1)
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        assert set(jobs) == {"poll", "send", "report"}
        for job in jobs.values():
            assert job.max_instances == 1 and job.coalesce is True
        assert jobs["poll"].misfire_grace_time is None
        trigger = jobs["report"].trigger
        assert isinstance(trigger, CronTrigger) and str(trigger.timezone) == "Asia/Shanghai"
        nxt = jobs["report"].next_run_time.astimezone(SHANGHAI)
        assert (nxt.hour, nxt.minute) == (8, 0)

        # The poll interval is an hour: only IDLE can bring this one in quickly.
        dovecot.append(mail_user, [mail(2)])
        assert wait_for(lambda: count(service_app, "processed") == 2, timeout=10)

        # The server restarts under the IDLE connection: it reconnects and keeps listening.
        dovecot.restart()
        dovecot.append(mail_user, [mail(3)])
        assert wait_for(lambda: count(service_app, "processed") == 3, timeout=10)
    finally:
        service.shutdown()
    state = StateFile(service_app.settings.data_dir / "service-state.json").read()
    assert state["jobs"]["poll"]["last_ok_at"]
    assert "send" in state["jobs"]  # ran once at start, whatever it found
    assert state["stopped_at"]


def test_missed_daily_report_is_written_once_after_downtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, report_time="08:00")
    service = Service(app)
    morning = datetime(2023, 12, 5, 7, 59, tzinfo=SHANGHAI)
    later = datetime(2023, 12, 5, 10, 30, tzinfo=SHANGHAI)
    assert not service.report_missed(morning)
    assert service.report_missed(later)

    written: list[Any] = []

    def fake_report(app: App, day: Any = None) -> tuple[Path, None]:
        written.append(day)
        return tmp_path / "index.html", None

    import intake.daily_job

    monkeypatch.setattr(intake.daily_job, "run_daily_report", fake_report)
    service.report_job()
    assert len(written) == 1
    today = datetime.now(SHANGHAI)
    assert service.state.read()["last_report_date"] == today.date().isoformat()
    # Written today: a restart later today does not write it again.
    assert not service.report_missed(today.replace(hour=23, minute=59))
    assert parse_report_time(" 7:05") == parse_report_time("07:05")


def test_a_failing_send_is_recorded_and_the_other_jobs_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path)
    service = Service(app)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("relay on fire")

    written: list[Any] = []

    def fake_report(app: App, day: Any = None) -> tuple[Path, None]:
        written.append(day)
        return tmp_path / "index.html", None

    monkeypatch.setattr(sending, "send_queued", broken)
    monkeypatch.setattr(daily_job, "run_daily_report", fake_report)
    with caplog.at_level(logging.ERROR):
        service.send_job()
        service.report_job()
    jobs = service.state.read()["jobs"]
    assert jobs["send"]["last_error"] == "RuntimeError('relay on fire')"
    assert "last_ok_at" not in jobs["send"]
    assert jobs["report"]["last_ok_at"] and len(written) == 1
    assert "send job failed" in {r.getMessage() for r in caplog.records}


def test_send_job_delivers_the_queue_and_records_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    try:
        assert app.settings.dry_run  # the embedded default: replies become .eml files
        reply = ensure_reply(app, stored_message(app, findings=[finding("PHOTO_COUNT", "x")]))
        assert reply is not None
        service = Service(app)
        service.send_job()
        send = service.state.read()["jobs"]["send"]
        assert send["last_ok_at"] and "last_error" not in send
        assert send["last_detail"].startswith("replies: sent 1")
        [written] = app.settings.outbox.glob("*.eml")
        assert written.name.startswith(f"{reply.id}-")
        with app.sessions() as session:
            assert session.get_one(m.Reply, reply.id).state == "sent"
    finally:
        app.engine.dispose()


# -- `intake run` and `intake poll` as the operator runs them ----------------------------------------


def cli_env(app: App, **extra: str) -> dict[str, str]:
    s = app.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(
        INTAKE_DATA_DIR=str(s.data_dir),
        INTAKE_DATABASE_URL=s.database_url,
        INTAKE_IMAP_HOST=s.imap_host,
        INTAKE_IMAP_PORT=str(s.imap_port),
        INTAKE_IMAP_USER=s.imap_user,
        INTAKE_IMAP_PASSWORD=s.imap_password,
        INTAKE_IMAP_SECURITY=s.imap_security,
        INTAKE_IMAP_BATCH=str(s.imap_batch),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def intake(*args: str) -> list[str]:
    return [sys.executable, "-m", "intake.cli", *args]


def test_intake_run_stops_cleanly_on_sigterm_and_poll_finishes_the_rest(
    service_app: App, dovecot: Dovecot, mail_user: MailUser
) -> None:
    dovecot.append(mail_user, [mail(n) for n in range(1, 6)])
    count(service_app)  # migrate here first: two processes must not race to create the tables
    # The report for today counts as written, so that the service does not catch up on it here.
    today = datetime.now(ZoneInfo(service_app.settings.timezone)).date().isoformat()
    StateFile(service_app.settings.data_dir / "service-state.json").update(
        lambda d: d.update(last_report_date=today)
    )
    # One worker: with more, a batch is in several hands at once and may all be done before
    # the signal (the mark then catches up on the next poll, as duplicates).
    env = cli_env(
        service_app, INTAKE_TEST_SLOW_MS="300", INTAKE_IMAP_IDLE="false", INTAKE_WORKERS="1"
    )
    proc = subprocess.Popen(intake("run"), env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert wait_for(lambda: count(service_app) >= 1, timeout=20), "no message came in"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.strip()]
    names = [e["event"] for e in events]
    assert names[0] == "service.started" and names[-1] == "service.stopped"
    assert "service.signal" in names
    done = next(e for e in events if e["event"] == "poll.done")
    assert done["status"] == "stopped"
    stopped_after = count(service_app)
    assert 1 <= stopped_after < 5
    assert count(service_app, "received") == 0  # the message in hand was finished, not left

    # Cron-style: one poll cycle takes the rest, each message exactly once.
    run = subprocess.run(intake("poll"), env=cli_env(service_app), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert f"{5 - stopped_after} new message" in run.stdout
    assert count(service_app, "processed") == 5
    with service_app.sessions() as session:
        keys = session.scalars(select(m.Message.source_key)).all()
    assert len(keys) == len(set(keys)) == 5


def test_intake_poll_exit_codes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    json_logs: None,
) -> None:
    for key in [k for k in os.environ if k.startswith("INTAKE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    assert main(["poll"]) == 2
    assert "INTAKE_IMAP_HOST" in capsys.readouterr().err
    assert main(["run"]) == 2

    from tests.dovecot import free_port

    monkeypatch.setenv("INTAKE_IMAP_HOST", "127.0.0.1")
    monkeypatch.setenv("INTAKE_IMAP_PORT", str(free_port()))
    monkeypatch.setenv("INTAKE_IMAP_USER", "nobody")
    monkeypatch.setenv("INTAKE_IMAP_SECURITY", "none")
    monkeypatch.setattr(imap, "RECONNECT_ATTEMPTS", 1)
    assert main(["poll"]) == 1
    assert "FAILED" in capsys.readouterr().out


# -- status and logs ---------------------------------------------------------------------------------


def test_status_shows_heartbeat_and_units_by_category(tmp_path: Path) -> None:
    app = make_app(tmp_path, imap_host="imap.example.cn", imap_user="zmzyz")
    with app.sessions() as session, session.begin():
        beijing = m.Unit(name="北京市")
        xj = m.Unit(name="新疆生产建设兵团")
        src = m.Source(name="imap:zmzyz@imap.example.cn/INBOX", uidvalidity=7, last_uid=42)
        session.add_all([beijing, xj, src])
        session.flush()
        for n, (unit, category, case_status) in enumerate(
            [
                (beijing, "park", "complete"),
                (beijing, "park", "deficient"),
                (beijing, "enterprise", "complete"),
                (beijing, "park", "superseded"),  # replaced by a resubmission: not counted
                (xj, None, "deficient"),
            ]
        ):
            msg = m.Message(raw_sha256=f"{n:064d}", state="processed", source_id=src.id)
            session.add(msg)
            session.flush()
            session.add(
                m.Case(unit=unit, message=msg, key=f"k{n}", category=category, status=case_status)
            )
        now = datetime.now(UTC)
        src.last_poll_at = now
        src.last_success_at = now
    status = collect(app)
    assert status.healthy, status.problems
    assert status.table["北京市"] == {"park": 2, "enterprise": 1}
    text = render(status, "Asia/Shanghai")
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("单位"))
    assert header.split() == ["单位", "园区", "企业", "社区", "个人", "未定", "合计"]
    beijing_row = next(line for line in lines if line.startswith("北京市"))
    assert beijing_row.split() == ["北京市", "2", "1", "·", "·", "·", "3"]
    # Columns line up on screen although Chinese characters are two columns wide.
    table = [
        line for line in lines if line.startswith(("单位", "北京市", "新疆生产建设兵团", "合计"))
    ]
    assert len({width(line) for line in table}) == 1
    assert "UIDVALIDITY 7, last UID 42" in text

    # A failed last poll needs attention, and `--check` says so in its exit status.
    with app.sessions() as session, session.begin():
        src = session.scalars(select(m.Source)).one()
        src.last_poll_at = datetime.now(UTC)
        src.last_error = "2023-12-01T08:00:00+00:00 ConnectionRefusedError: [Errno 111]"
    status = collect(app)
    assert not status.healthy
    assert "FAILED" in render(status, "Asia/Shanghai")
    assert status_command(app, check=True) == 1
    app.engine.dispose()


def test_logs_are_one_json_event_per_line_without_secrets(tmp_path: Path, json_logs: None) -> None:
    settings = load_settings(
        environ={
            "INTAKE_DATA_DIR": str(tmp_path),
            "INTAKE_IMAP_PASSWORD": "imap-s3cret",
            "INTAKE_DATABASE_URL": "postgresql+psycopg://intake:db-s3cret@db/intake",
        }
    )
    out = io.StringIO()
    logs.configure(settings, stream=out)
    log = logging.getLogger("intake.test")
    logs.event(log, "poll.done", counts={"processed": 2}, name="kept", password="x")
    log.error("login as zmzyz with imap-s3cret failed\nsecond line")
    try:
        raise OSError("cannot reach postgresql://intake:other-pw@db/intake")
    except OSError:
        log.exception("db down")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    events = [json.loads(line) for line in lines]
    assert events[0]["event"] == "poll.done" and events[0]["counts"] == {"processed": 2}
    assert events[0]["name_"] == "kept" and events[0]["password"] == "***"
    assert events[1]["level"] == "error" and "second line" in events[1]["event"]
    text = out.getvalue()
    for secret in ("imap-s3cret", "db-s3cret", "other-pw"):
        assert secret not in text
    assert "OSError" in events[2]["exc"]
