"""Every mistake a person can make in setting the service up gets one clear line (issue 15).

Each row is run as a user runs it: the `intake` command in a fresh folder, with one thing wrong.
The line must name the setting (its INTAKE_… variable), say what is wrong, carry no traceback
and no password, and the exit status must say whether to fix a setting (2) or retry (1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SECRET = "s3cret-Pw"


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
