"""Structured logs: one JSON object per line, on stderr, with secrets masked.

A service that runs unattended is read through its logs (journald, `docker compose logs`, a
file grepped at 8 a.m.), so every line is one event a machine can parse: `ts`, `level`,
`logger`, `event`, and the event's own fields.  Tracebacks stay inside the line (`exc`).

Secrets never reach the output: field names that look secret are masked, and the values of
the configured passwords (and the database URL's password) are replaced wherever they appear,
including inside exception messages that quote a URL.  Masking works on the text before it is
serialised: `json.dumps` escapes quotes and backslashes, so a password containing them would
no longer match in the finished line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import unquote

from intake.config import SECRET_KEYS, Settings

MASK = "***"
_SECRET_NAME = re.compile(r"pass(word)?|secret|token|credential", re.IGNORECASE)
# user:password@ in any URL, e.g. a database URL quoted by a driver's error message.
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@\s]*@", re.IGNORECASE)
# Attributes every LogRecord has; anything else passed through `extra` is an event field.
_RECORD_KEYS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def secrets_of(settings: Settings) -> list[str]:
    """The secret values to scrub from every line."""
    # The database URL as a whole is not secret (a SQLite path), only its password.
    values = [str(getattr(settings, k, "") or "") for k in SECRET_KEYS if k != "database_url"]
    match = re.search(r"://[^:/@\s]*:([^@\s]+)@", settings.database_url)
    if match:
        # As written in the URL and percent-decoded, the way a driver may quote it.
        values.extend({match.group(1), unquote(match.group(1))})
    return [v for v in values if len(v) >= 3]  # a 1–2 character "secret" would mask noise


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """`text` with every secret masked; applied to raw strings, before serialising."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\g<scheme>:{MASK}@", text)
        return text

    def _scrub_value(self, value: Any) -> Any:
        """A `_plain` value with every string in it (dict keys too) scrubbed."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(k): self._scrub_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub_value(v) for v in value]
        return value

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _RECORD_KEYS or key.startswith("_"):
                continue
            event[key] = MASK if _SECRET_NAME.search(key) and value else _plain(value)
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exc"] = record.exc_text
        # Mask the raw strings, then serialise: every value is a str, number, bool, None, or a
        # dict/list of them (`_plain`), so nothing is turned into text after the masking.
        return json.dumps(self._scrub_value(event), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


def configure(
    settings: Settings | None = None,
    *,
    verbose: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send every logger's records to `stream` as JSON lines (replacing earlier handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets_of(settings) if settings else ()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # APScheduler logs every job start and end at INFO; our jobs log their own outcome.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Alembic announces its migration context on every start.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # imapclient at DEBUG would log the protocol, LOGIN included.
    logging.getLogger("imapclient").setLevel(logging.WARNING)


class BriefFormatter(logging.Formatter):
    """One line per record for a person at a terminal: an exception is named, not traced back
    (the traceback comes with `-v`)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record = logging.makeLogRecord(
                {**vars(record), "exc_info": None, "exc_text": None, "msg": record.getMessage()}
            )
            record.msg = f"{record.msg} ({type(exc).__name__}; run with -v for details)"
            record.args = None
        return super().format(record)


def configure_console(verbose: bool = False) -> None:
    """Logging for one-shot commands: warnings and errors, one line each, on stderr; everything
    with tracebacks under `-v`."""
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s %(message)s"
    handler.setFormatter(logging.Formatter(fmt) if verbose else BriefFormatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


@contextmanager
def reported_by_caller(verbose: bool, *names: str) -> Iterator[None]:
    """Keep these loggers off the console while a one-shot command reports their outcome itself
    (one line on stderr, the summary on stdout); everything shows with `-v`."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(n) for n in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)


def event(logger: logging.Logger, name: str, level: int = logging.INFO, /, **fields: Any) -> None:
    """Log one event with fields: `event(log, "poll.done", processed=3)`."""
    # LogRecord refuses `extra` keys that shadow its own attributes (name, msg, args…).
    safe = {(f"{k}_" if k in _RECORD_KEYS else k): v for k, v in fields.items()}
    logger.log(level, name, extra=safe)
