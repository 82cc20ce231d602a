"""What a person can get wrong in setting the service up, and the one line each gets.

The people who install and run this service are an office's IT staff, not its authors.  Every
place where a setting meets the world (the database URL and its server, the folders, the IMAP
and SMTP servers, the campaign and templates, the tools) ends, when it fails, in exactly one
line on standard error, never a traceback (those only with `-v`):

- a mistake of the setting itself names it (`INTAKE_…` variable and TOML key), says what is
  wrong and what would be right, and exits 2 (SPEC: usage or configuration error);
- a server that cannot be reached (down, refusing, silent, rejecting the password) is named with
  where it is, is logged as an event, and exits 1: something to retry.  `intake run` retries by
  itself instead of exiting.

Secrets never appear: the lines are built from our own words and the host and port, never from
a driver's message or a URL.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from campaign import CampaignError
from intake.config import ConfigError, SettingError, Settings, env_name
from intake.logs import event
from store.db import DatabaseUnreachable, DatabaseUrlInvalid

log = logging.getLogger(__name__)

# SPEC: 0 success, 1 some input failed (or a server to retry), 2 usage or configuration error.
EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass
class ServerUnreachable(Exception):
    """A server the settings point at cannot be used right now: retry later, or fix its login."""

    server: str  # "database", "IMAP", "SMTP"
    key: str  # the setting that names it, e.g. "imap_host"
    where: str  # host:port
    reason: str

    def __str__(self) -> str:
        return (
            f"cannot reach the {self.server} server at {self.where} "
            f"({env_name(self.key)}): {self.reason}"
        )


def as_setting_error(exc: BaseException) -> ConfigError | None:
    """The setting mistake behind `exc`, if it is one."""
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, CampaignError):
        return SettingError("campaign", str(exc), "point it at a valid campaign file")
    if isinstance(exc, DatabaseUrlInvalid):
        return SettingError("database_url", str(exc))
    return None


def as_unreachable(exc: BaseException) -> ServerUnreachable | None:
    if isinstance(exc, ServerUnreachable):
        return exc
    if isinstance(exc, DatabaseUnreachable):
        return ServerUnreachable("database", "database_url", exc.where, exc.reason)
    return None


def report(exc: BaseException) -> int | None:
    """Print the one line for a setup fault and return its exit status; None if `exc` is not
    one (a bug: the caller lets it propagate, with its traceback)."""
    setting = as_setting_error(exc)
    if setting is not None:
        print(f"intake: {setting}", file=sys.stderr)
        return EXIT_USAGE
    server = as_unreachable(exc)
    if server is not None:
        # The event goes where the logs go (shown with -v, and in `intake run`'s JSON log); the
        # line goes to the person at the terminal.
        event(
            log,
            "server.unreachable",
            logging.INFO,
            server=server.server,
            where=server.where,
            reason=server.reason,
        )
        print(f"intake: {server}", file=sys.stderr)
        return EXIT_INPUT_FAILED
    return None


def require_folder(key: str, folder: Path) -> Path:
    """Create `folder` if needed and prove we can write in it, or name the setting."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError(
            key, f"cannot create the folder {folder}: {exc.strerror}", _FOLDER_FIX
        ) from None
    if not folder.is_dir():
        raise SettingError(key, f"{folder} is not a folder", _FOLDER_FIX)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SettingError(key, f"cannot write in the folder {folder}", _FOLDER_FIX)
    return folder


_FOLDER_FIX = "give a folder the service's user can create and write"


def check_paths(settings: Settings) -> None:
    """The folders every command writes into, checked before any work starts."""
    require_folder("data_dir", settings.data_dir)
    if settings.templates_dir is not None and not settings.templates_dir.is_dir():
        raise SettingError(
            "templates_dir",
            f"{settings.templates_dir} is not a folder",
            "give the folder that holds the staff's template files, or leave it unset",
        )
    if settings.libreoffice and not _is_program(settings.libreoffice):
        raise SettingError(
            "libreoffice",
            f"no program {settings.libreoffice!r} here",
            "give the path of soffice, or leave it unset to find it on PATH",
        )


def _is_program(name: str) -> bool:
    return shutil.which(name) is not None
