"""Every mistake a person can make in setting the service up gets one clear line (issue 15).

Each row is run as a user runs it: the `intake` command in a fresh folder, with one thing wrong.
The line must name the setting (its INTAKE_… variable), say what is wrong, carry no traceback
and no password, and the exit status must say whether to fix a setting (2) or retry (1).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from samples.cases import submission
from tests.dovecot import free_port

SECRET = "s3cret-Pw"
pytest_plugins = ["tests.dovecot"]


@dataclass(frozen=True)
class Row:
    name: str
    env: dict[str, str]
    exit: int
    names: str  # what the one line must name
    args: tuple[str, ...] = ("status",)
    files: dict[str, str] = field(default_factory=dict)


ROWS = [
    Row("unknown database scheme", {"INTAKE_DATABASE_URL": "bogus://x"}, 2, "INTAKE_DATABASE_URL"),
    Row("not a database URL", {"INTAKE_DATABASE_URL": "::not a url"}, 2, "INTAKE_DATABASE_URL"),
    Row(
        "PostgreSQL not running",
        {"INTAKE_DATABASE_URL": f"postgresql+psycopg://intake:{SECRET}@127.0.0.1:1/x"},
        1,
        "INTAKE_DATABASE_URL",
    ),
    Row(
        "SQLite file in a folder that cannot exist",
        {"INTAKE_DATABASE_URL": "sqlite:////proc/no-such/intake.db"},
        2,
        "INTAKE_DATABASE_URL",
    ),
    Row(
        "data dir cannot be created", {"INTAKE_DATA_DIR": "/proc/no-such/var"}, 2, "INTAKE_DATA_DIR"
    ),
    Row(
        "broken TOML file",
        {"INTAKE_CONFIG": "bad.toml"},
        2,
        "bad.toml",
        files={"bad.toml": "database_url = \n"},
    ),
    Row("missing campaign file", {"INTAKE_CAMPAIGN": "/no/such/2024.toml"}, 2, "INTAKE_CAMPAIGN"),
    Row(
        "unknown security mode",
        {"INTAKE_IMAP_SECURITY": "tls1.3"},
        2,
        "INTAKE_IMAP_SECURITY",
    ),
    Row("not a number", {"INTAKE_POLL_MINUTES": "often"}, 2, "INTAKE_POLL_MINUTES"),
    Row(
        "templates folder missing",
        {"INTAKE_TEMPLATES_DIR": "/no/such/templates"},
        2,
        "INTAKE_TEMPLATES_DIR",
    ),
    Row("converter not there", {"INTAKE_LIBREOFFICE": "/no/soffice"}, 2, "INTAKE_LIBREOFFICE"),
    Row(
        "secret file missing",
        {"INTAKE_IMAP_PASSWORD_FILE": "/no/such/secret"},
        2,
        "INTAKE_IMAP_PASSWORD_FILE",
    ),
]


def run_intake(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    clean.setdefault("INTAKE_DATA_DIR", str(tmp_path / "var"))
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "intake.cli", *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
        timeout=120,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], exit_code: int, names: str) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode == exit_code, done.stderr
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert names in lines[0], lines[0]
    assert lines[0].startswith("intake: ")
    return lines[0]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_each_setup_mistake_gets_one_line(tmp_path: Path, row: Row) -> None:
    for name, text in row.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = run_intake(tmp_path, row.env, *row.args)
    assert_one_line(done, row.exit, row.names)


def test_the_scheme_line_lists_the_schemes_that_work(tmp_path: Path) -> None:
    line = assert_one_line(
        run_intake(tmp_path, {"INTAKE_DATABASE_URL": "mysql://x@h/db"}, "status"),
        2,
        "INTAKE_DATABASE_URL",
    )
    assert "sqlite:///" in line and "postgresql+psycopg://" in line


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    done = run_intake(
        tmp_path,
        {"INTAKE_DATABASE_URL": f"postgresql+psycopg://intake:{SECRET}@127.0.0.1:1/x"},
        "-v",
        "status",
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert SECRET not in done.stderr


# -- servers that are there but will not serve, and a folder that cannot be written ------------


def test_imap_wrong_password_is_one_line_and_retryable(tmp_path: Path, dovecot: Any) -> None:
    user = dovecot.new_user()
    env = {
        "INTAKE_IMAP_HOST": dovecot.host,
        "INTAKE_IMAP_PORT": str(dovecot.port),
        "INTAKE_IMAP_USER": user.name,
        "INTAKE_IMAP_PASSWORD": SECRET,  # not the user's password
        "INTAKE_IMAP_SECURITY": "none",
    }
    line = assert_one_line(run_intake(tmp_path, env, "poll"), 1, "INTAKE_IMAP_PASSWORD")
    assert f"{dovecot.host}:{dovecot.port}" in line and "rejected" in line
    # Monitoring sees the same trouble, named the same way.
    done = run_intake(tmp_path, env, "status", "--check")
    assert done.returncode == 1
    assert "INTAKE_IMAP_PASSWORD" in done.stdout and SECRET not in done.stdout


def _one_queued_reply(tmp_path: Path) -> None:
    mail = tmp_path / "a.eml"
    mail.write_bytes(submission("北京市", message_id="<setup-errors@x>"))
    done = run_intake(tmp_path, {}, "ingest", str(mail))
    assert done.returncode == 0, done.stderr


def test_smtp_refusing_is_one_line_and_retryable(tmp_path: Path) -> None:
    _one_queued_reply(tmp_path)
    env = {
        "INTAKE_DRY_RUN": "false",
        "INTAKE_SMTP_HOST": "127.0.0.1",
        "INTAKE_SMTP_PORT": str(free_port()),  # nothing listens there
        "INTAKE_SMTP_SECURITY": "none",
        "INTAKE_SMTP_USER": "zmzyz",
        "INTAKE_SMTP_PASSWORD": SECRET,
    }
    line = assert_one_line(run_intake(tmp_path, env, "send"), 1, "INTAKE_SMTP_HOST")
    assert "refused" in line


def test_unwritable_outbox_is_a_setting_mistake(tmp_path: Path) -> None:
    _one_queued_reply(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {"INTAKE_OUTBOX_DIR": str(blocker / "outbox")}
    line = assert_one_line(run_intake(tmp_path, env, "send"), 2, "INTAKE_OUTBOX_DIR")
    assert str(blocker / "outbox") in line


def test_run_waits_for_the_database_instead_of_exiting(tmp_path: Path) -> None:
    """`intake run` keeps running and retries while the database cannot be reached."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    clean.update(
        INTAKE_DATA_DIR=str(tmp_path / "var"),
        INTAKE_DATABASE_URL=f"postgresql+psycopg://intake:{SECRET}@127.0.0.1:{free_port()}/x",
        INTAKE_IMAP_HOST="127.0.0.1",
        INTAKE_IMAP_USER="nobody",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake.cli", "run"],
        env=clean,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        # Two announcements of the wait: it tried, waited and tried again, still running.
        while time.monotonic() < deadline and sum("database.unreachable" in x for x in lines) < 2:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
        assert proc.poll() is None, "intake run gave up instead of waiting for the database"
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
        lines.extend((rest or "").splitlines())
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    err = "".join(lines)
    events = [json.loads(line) for line in lines if line.strip()]
    waits = [e for e in events if e["event"] == "database.unreachable"]
    assert len(waits) >= 2 and "refused" in waits[0]["reason"]
    assert SECRET not in err


def test_console_port_in_use_is_a_setting_mistake(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"INTAKE_WEB_HOST": "127.0.0.1", "INTAKE_WEB_PORT": str(port)}
        line = assert_one_line(run_intake(tmp_path, env, "web"), 2, "INTAKE_WEB_PORT")
    assert f"127.0.0.1:{port}" in line
