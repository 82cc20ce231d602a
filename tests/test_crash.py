"""No message lost to a crash loop (issue 12): real SIGKILLs of `intake`, a real Dovecot killed
under IDLE, real LibreOffice, SQLite and PostgreSQL.

Each test prints its measured figures (`pytest -s` shows them)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from intake.app import App
from intake.cli import main
from intake.service import Service
from samples.cases import case_zip, submission
from samples.word97 import make_form_doc, soffice_path
from store import models as m
from store.blobs import sha256_hex
from tests.conftest import ROOT, make_app
from tests.dovecot import Dovecot, MailUser, _children, imap_app, mail

pytest_plugins = ["tests.dovecot"]


def intake(*args: str) -> list[str]:
    return [sys.executable, "-m", "intake.cli", *args]


def env_for(app: App, tmp: Path, **extra: str) -> dict[str, str]:
    s = app.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(
        INTAKE_DATA_DIR=str(s.data_dir),
        INTAKE_DATABASE_URL=s.database_url,
        PYTHONPATH=str(ROOT),
        TMPDIR=str(tmp),
    )
    if s.imap_host:
        env.update(
            INTAKE_IMAP_HOST=s.imap_host,
            INTAKE_IMAP_PORT=str(s.imap_port),
            INTAKE_IMAP_USER=s.imap_user,
            INTAKE_IMAP_PASSWORD=s.imap_password,
            INTAKE_IMAP_SECURITY=s.imap_security,
        )
    env.update(extra)
    return env


def wait_for(predicate: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def rows(app: App) -> list[m.Message]:
    with app.sessions() as session:
        return list(session.scalars(select(m.Message).order_by(m.Message.id)))


def replies(app: App) -> list[m.Reply]:
    with app.sessions() as session:
        return list(session.scalars(select(m.Reply).order_by(m.Reply.id)))


def processes_with(marker: str) -> list[int]:
    """Pids whose command line mentions `marker` (LibreOffice's temp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def gone(marker: str) -> bool:
    return not processes_with(marker)


def wait_until_due(app: App) -> None:
    """Until the message's retry delay has passed."""
    dues = [msg.next_attempt_at for msg in rows(app) if msg.next_attempt_at is not None]
    if dues:
        latest = max(dues)
        wait_for(lambda: datetime.now(UTC) >= latest, timeout=10)


@pytest.fixture
def fresh_app(tmp_path: Path, sqlite_url: str) -> Iterator[App]:
    app = make_app(tmp_path, sqlite_url)
    app.engine  # noqa: B018 - migrate once, before subprocesses start
    yield app
    app.engine.dispose()


# -- 1. killed five times while converting the same .doc form --------------------------------------


@pytest.mark.skipif(soffice_path() is None, reason="LibreOffice is not installed")
def test_killed_five_times_while_converting_then_processed_and_answered_once(
    fresh_app: App, tmp_path: Path
) -> None:
    app = fresh_app
    doc = make_form_doc(fields={"案例名称": "光伏园区", "申报单位": "北京市光伏园区管理有限公司"})
    raw = submission(
        "北京市",
        [case_zip("北京市", form=doc, form_ext=".doc", videos=0)],
        message_id="<doc-kill@sthjj.beijing.gov.cn>",
    )
    eml = tmp_path / "doc.eml"
    eml.write_bytes(raw)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # The cold converter: its `soffice.bin` carries the run's marker in its temp folder, so the
    # test can kill `intake` while that process converts. (The warm one is killed mid-batch in
    # tests/test_warm.py.)
    env = env_for(
        app, tmp, INTAKE_RETRY_FIRST_S="1", INTAKE_RETRY_MAX_S="2", INTAKE_CONVERTER="cold"
    )
    kill_times: list[float] = []
    for _ in range(5):
        # A dead run's claim waits before it is taken up again (the mail-queue delay).
        wait_until_due(app)
        with (tmp_path / "ingest.log").open("ab") as log:
            proc = subprocess.Popen(
                intake("ingest", str(eml)), env=env, stdout=log, stderr=subprocess.STDOUT
            )
        started = time.monotonic()
        try:
            marker = f"intake-soffice-{proc.pid}-"
            soffice = wait_for(partial(processes_with, marker), timeout=60)
            assert soffice, "LibreOffice never started: " + (tmp_path / "ingest.log").read_text()
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        kill_times.append(time.monotonic() - started)
        # Nothing outlives the service: LibreOffice dies with it.
        assert wait_for(partial(gone, marker), timeout=5)
        [msg] = rows(app)
        # Identity first: committed with the claim, before any attachment was read.
        assert msg.state == "received"
        assert msg.message_id == "doc-kill@sthjj.beijing.gov.cn"
        assert msg.subject == "北京市低碳发展典型案例申报材料" and msg.sender
    assert list(tmp.glob("intake-soffice-*")), "the killed runs left their temp folders"
    wait_until_due(app)
    started = time.monotonic()
    done = subprocess.run(
        intake("ingest", str(eml)), env=env, capture_output=True, text=True, timeout=180
    )
    final_s = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 processed" in done.stdout
    sent = subprocess.run(intake("send"), env=env, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    [msg] = rows(app)
    assert (msg.state, msg.attempts) == ("processed", 6)
    [reply] = replies(app)
    assert reply.state == "sent"
    assert len(list(app.settings.outbox.glob("*.eml"))) == 1
    # The leftovers of the killed runs were cleaned at start.
    assert not list(tmp.glob("intake-soffice-*"))
    print(
        f"\n[figures] kill after {', '.join(f'{t:.1f}' for t in kill_times)} s; "
        f"final run {final_s:.1f} s"
    )


# -- 2. thirty random kills over a mailbox of twenty -----------------------------------------------


def test_thirty_random_kills_over_twenty_messages_lose_and_repeat_nothing(
    tmp_path: Path, db_url: str, dovecot: Dovecot, mail_user: MailUser
) -> None:
    # Every other one carries a case (photos, a video to probe): kills land mid-work too.
    heavy = case_zip("北京市", photos=2)
    dovecot.append(
        mail_user,
        [
            submission("北京市", [heavy], message_id=f"<imap-test-{n}-@sthjj.beijing.gov.cn>")
            if n % 2
            else mail(n)
            for n in range(1, 21)
        ],
    )
    app = imap_app(tmp_path, db_url, dovecot, mail_user, replies_per_address_per_day="100")
    app.engine  # noqa: B018
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = env_for(
        app,
        tmp,
        INTAKE_RETRY_FIRST_S="0.5",
        INTAKE_RETRY_MAX_S="1",
        INTAKE_IMAP_BATCH="3",
        INTAKE_TEST_SLOW_MS="50",
        # One sender sends all twenty: lift the per-address daily cap on replies.
        INTAKE_REPLIES_PER_ADDRESS_PER_DAY="100",
    )
    rng = random.Random(12)
    started = time.monotonic()
    try:
        for _ in range(30):
            proc = subprocess.Popen(
                intake("poll"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.8, 2.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        killed_s = time.monotonic() - started
        for _ in range(10):
            done = subprocess.run(
                intake("poll"), env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stdout + done.stderr
            if all(r.state in ("processed", "ignored") for r in rows(app)) and len(rows(app)) == 20:
                break
            time.sleep(1)
    finally:
        app.engine.dispose()
    states = [r.state for r in rows(app)]
    ids = [r.message_id for r in rows(app)]
    assert sorted(i or "" for i in ids) == sorted(
        {f"imap-test-{n}-@sthjj.beijing.gov.cn" for n in range(1, 21)}
    )
    assert set(states) <= {"processed", "ignored"}, states
    attempts = sum(r.attempts for r in rows(app))
    assert len({r.message_id for r in replies(app)}) == len(replies(app)) == 20
    print(
        f"\n[figures] 30 kills in {killed_s:.0f} s; 20 messages, {attempts} attempts in all; "
        f"total {time.monotonic() - started:.0f} s"
    )


# -- 3. quarantined by an exception: seen, told, replayed -----------------------------------------


def test_a_quarantined_message_is_named_told_and_replayed(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import intake.pipeline as pipeline_module

    for key in [k for k in os.environ if k.startswith("INTAKE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("INTAKE_DATABASE_URL", db_url)
    eml = tmp_path / "a.eml"
    eml.write_bytes(submission("北京市", message_id="<poison@sthjj.beijing.gov.cn>"))
    real = pipeline_module.group_files

    def broken(*_a: object, **_k: object) -> object:
        raise RuntimeError("grouping exploded")

    monkeypatch.setattr(pipeline_module, "group_files", broken)
    assert main(["ingest", str(eml)]) == 1
    assert "1 quarantined" in capsys.readouterr().out
    # The same bytes handed in again are retried, not called a duplicate.
    assert main(["ingest", str(eml)]) == 1
    assert "1 quarantined" in capsys.readouterr().out

    assert main(["export", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    [msg] = data["messages"]
    assert msg["message_id"] == "poison@sthjj.beijing.gov.cn"
    assert msg["subject"] == "北京市低碳发展典型案例申报材料"
    assert msg["from"] and msg["state"] == "quarantined"
    assert main(["status", "--check"]) == 1
    assert "quarantined" in capsys.readouterr().out
    assert main(["report", "--no-email", "--out", str(tmp_path / "report")]) == 0
    [index] = (tmp_path / "report").rglob("index.html")
    page = index.read_text(encoding="utf-8")
    assert "grouping exploded" in page and "北京市低碳发展典型案例申报材料" in page

    # Still broken: the requeue says so.
    assert main(["requeue", "--quarantined"]) == 1
    capsys.readouterr()
    monkeypatch.setattr(pipeline_module, "group_files", real)
    app = make_app(tmp_path, db_url)
    try:
        [row] = rows(app)
        assert main(["requeue", "--message", str(row.id)]) == 0
        assert "1 processed" in capsys.readouterr().out
        [row] = rows(app)
        assert row.state == "processed" and row.error is None
        assert len(replies(app)) == 1
        assert main(["requeue", "--message", str(row.id)]) == 2  # not quarantined any more
    finally:
        app.engine.dispose()


# -- 4. Dovecot killed under IDLE ------------------------------------------------------------------


def kill_dovecot(dovecot: Dovecot) -> None:
    """SIGKILL the server and every process of it, as a crash or the OOM killer would."""
    assert dovecot.proc is not None
    pids = [dovecot.proc.pid, *_children(dovecot.proc.pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    dovecot.proc.wait(timeout=10)
    if dovecot.proc.stderr:
        dovecot.proc.stderr.close()
    dovecot.proc = None


def test_idle_is_back_within_seconds_after_dovecot_is_killed(
    tmp_path: Path, sqlite_url: str, dovecot: Dovecot, mail_user: MailUser
) -> None:
    app = imap_app(
        tmp_path,
        sqlite_url,
        dovecot,
        mail_user,
        imap_idle="true",
        poll_minutes="60",
        report_time="23:59",
    )
    service = Service(app)
    service.send_job = lambda: None  # type: ignore[method-assign]
    try:
        service.start()
        dovecot.append(mail_user, [mail(1)])
        assert wait_for(lambda: len(rows(app)) == 1, timeout=10), "IDLE did not start"
        kill_dovecot(dovecot)
        time.sleep(0.5)
        dovecot.start()
        appended = time.monotonic()
        dovecot.append(mail_user, [mail(2)])
        assert wait_for(lambda: len(rows(app)) == 2, timeout=10), "not ingested within 10 s"
        latency = time.monotonic() - appended
    finally:
        service.shutdown()
        app.engine.dispose()
        if not dovecot.running:
            dovecot.start()
    assert [r.state for r in rows(app)] == ["processed", "processed"]
    print(f"\n[figures] ingested {latency:.2f} s after the append that followed the restart")


# -- the pieces ------------------------------------------------------------------------------------


def test_a_dead_claim_waits_a_growing_delay_and_is_quarantined_only_after_time(
    tmp_path: Path, db_url: str
) -> None:
    from datetime import timedelta

    app = make_app(tmp_path, db_url, retry_first_s="60", retry_limit="3")
    raw = submission("北京市", message_id="<dead@x>")
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        with app.sessions() as s, s.begin():
            from intake.claims import claim_owner

            host = claim_owner().rsplit(":", 1)[0]
            now = datetime.now(UTC)
            s.add(
                m.Message(
                    raw_sha256=sha256_hex(raw),
                    state="received",
                    attempts=3,
                    attempts_since=now - timedelta(minutes=5),
                    next_attempt_at=now + timedelta(seconds=60),
                    claimed_by=f"{host}:{gone.pid}",
                    claimed_at=now,
                )
            )
        app.blobs.put(raw)
        assert app.pipeline.ingest(raw) == "deferred"
        assert app.pipeline.resume_stale() == 0
        with app.sessions() as s, s.begin():
            s.scalars(select(m.Message)).one().next_attempt_at = now - timedelta(seconds=1)
        # Three attempts, but all within five minutes: not enough time to give up.
        assert app.pipeline.resume_stale() == 1
        [msg] = rows(app)
        assert (msg.state, msg.attempts) == ("processed", 4)
    finally:
        app.engine.dispose()


def test_a_message_that_keeps_killing_the_process_is_quarantined_after_the_minimum_time(
    tmp_path: Path, sqlite_url: str
) -> None:
    from datetime import timedelta

    from intake.claims import claim_owner

    app = make_app(tmp_path, sqlite_url, retry_limit="3", quarantine_after_s="3600")
    raw = submission("北京市", message_id="<killer@x>")
    gone = subprocess.Popen(["true"])
    gone.wait()
    now = datetime.now(UTC)
    try:
        with app.sessions() as s, s.begin():
            s.add(
                m.Message(
                    raw_sha256=sha256_hex(raw),
                    state="received",
                    attempts=3,
                    attempts_since=now - timedelta(hours=2),
                    next_attempt_at=now - timedelta(seconds=1),
                    claimed_by=f"{claim_owner().rsplit(':', 1)[0]}:{gone.pid}",
                    claimed_at=now - timedelta(minutes=10),
                    message_id="killer@x",
                    subject="北京市低碳发展典型案例申报材料",
                )
            )
        app.blobs.put(raw)
        counts: Counter[str] = Counter()
        assert app.pipeline.resume_stale(counts) == 1
        assert counts == {"quarantined": 1}
        [msg] = rows(app)
        assert msg.state == "quarantined" and "stopped 3 times" in (msg.error or "")
    finally:
        app.engine.dispose()


def test_leftovers_of_killed_runs_are_cleaned_and_live_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.config import load_settings
    from intake.leftovers import clean_leftovers

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp))
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp / f"intake-soffice-{gone.pid}-abc"
    live = tmp / f"intake-soffice-{os.getpid()}-def"
    for d in (dead, live):
        (d / "run1").mkdir(parents=True)
    settings = load_settings(environ={"INTAKE_DATA_DIR": str(tmp_path / "var")})
    blobs = settings.blob_dir / "ab" / "cd"
    blobs.mkdir(parents=True)
    old, fresh = blobs / ".tmp-old", blobs / ".tmp-fresh"
    old.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert clean_leftovers(settings) == 2
    assert not dead.exists() and live.exists()
    assert not old.exists() and fresh.exists()
