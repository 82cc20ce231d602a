"""JSON log lines: secrets are masked before serialising, whatever characters they contain."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake import logs
from intake.config import load_settings

# json.dumps writes `"` as `\"` and `\` as `\\`: masking the finished line would miss it.
TRICKY = 'pa"ss\\w0rd'
DB_PASSWORD = "db%22pw\\x"  # percent-encoded in the URL, a driver may quote it decoded


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    settings = load_settings(
        environ={
            "INTAKE_DATA_DIR": str(tmp_path),
            "INTAKE_SMTP_PASSWORD": TRICKY,
            "INTAKE_DATABASE_URL": f"postgresql+psycopg://intake:{DB_PASSWORD}@db/intake",
        }
    )
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter(logs.secrets_of(settings)))
    log = logging.getLogger("intake.test_logs")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield log, out
    finally:
        log.removeHandler(handler)
        log.propagate = True


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_password_with_quote_and_backslash_is_masked_everywhere(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    log, out = capture
    log.error("login with %s refused", TRICKY)
    logs.event(log, "send.failed", detail=f"AUTH {TRICKY}", nested={"k": [f"x{TRICKY}y"]})
    try:
        raise OSError(f"535 authentication failed for password {TRICKY}")
    except OSError:
        log.exception("smtp down")
    text = out.getvalue()
    events = lines(out)
    assert len(events) == 3
    # Neither the raw nor the json-escaped form survives, and the lines stay valid JSON.
    for form in (TRICKY, json.dumps(TRICKY)[1:-1], 'pa\\"ss', "w0rd"):
        assert form not in text, form
    assert events[0]["event"] == "login with *** refused"
    assert events[1]["detail"] == "AUTH ***" and events[1]["nested"] == {"k": ["x***y"]}
    exc = events[2]["exc"]
    assert isinstance(exc, str) and "OSError: 535 authentication failed for password ***" in exc


def test_a_database_password_is_masked_as_written_and_decoded(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    log, out = capture
    log.error("cannot reach postgresql://intake:%s@db/intake", DB_PASSWORD)
    log.error('driver: password authentication failed (password "db"pw\\x")')
    log.error('url with "quoted" password: mysql://u:se"c\\r@h/db')
    text = out.getvalue()
    events = lines(out)
    for form in ("db%22pw", 'db"pw', 'se"c'):
        assert form not in text, form
    assert events[0]["event"] == "cannot reach postgresql://intake:***@db/intake"
    assert events[2]["event"] == 'url with "quoted" password: mysql://u:***@h/db'
