"""`intake status --check`: is every place where a setting meets the world working right now?

Monitoring wants to know *which* thing is failing, in the same words a person would get from
the command that fails: a folder the service cannot write, the IMAP or SMTP server down or
refusing the login, a tool missing.  The database needs no check here: `intake status` reads it,
and when it cannot, the command's one line names the database server.  Each check is cheap and
bounded (a connect and a login with a short timeout), so a health check every minute is fine.
"""

from __future__ import annotations

import shutil

from intake import imap_connection
from intake.config import ConfigError, Settings
from intake.faults import ServerUnreachable, require_folder
from intake.imap_connection import ImapLoginError, imap_port
from intake.transport import DeliveryError, SmtpTransport, connection_reason
from programs import ffprobe, unar
from programs.libreoffice import find_soffice

CHECK_TIMEOUT_S = 15.0


def check_all(settings: Settings) -> list[str]:
    """One line per failing check, naming what fails and its setting; empty when all is well."""
    return [*_folders(settings), *_imap(settings), *_smtp(settings), *_tools(settings)]


def _folders(settings: Settings) -> list[str]:
    folders = [("data_dir", settings.data_dir), ("reports_dir", settings.reports)]
    if settings.dry_run:
        folders.append(("outbox_dir", settings.outbox))
    problems = []
    for key, folder in folders:
        try:
            require_folder(key, folder)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def _imap(settings: Settings) -> list[str]:
    if not settings.imap_host:
        return []
    where = f"{settings.imap_host}:{imap_port(settings)}"
    try:
        client = imap_connection.connect(settings, timeout=CHECK_TIMEOUT_S)
    except ImapLoginError:
        return [
            str(ServerUnreachable("IMAP", "imap_password", where, "the server rejected the login"))
        ]
    except Exception as exc:  # any connection trouble is the finding itself
        return [str(ServerUnreachable("IMAP", "imap_host", where, connection_reason(exc)))]
    imap_connection.disconnect(client)
    return []


def _smtp(settings: Settings) -> list[str]:
    if settings.dry_run or not settings.smtp_host:
        return []
    transport = SmtpTransport(settings)
    try:
        transport.open()
    except DeliveryError as exc:
        return [str(exc.unreachable or exc)]
    transport.close()
    return []


def _tools(settings: Settings) -> list[str]:
    problems = []
    try:
        find_soffice(settings.libreoffice or None)
    except Exception as exc:  # ConverterUnavailable: .doc forms go to staff unconverted
        problems.append(f"converter (INTAKE_LIBREOFFICE): {exc}; .doc/.wps forms stay unread")
    if shutil.which(ffprobe.FFPROBE) is None:
        problems.append("ffprobe is not installed here; videos stay unchecked")
    if unar.find_tool() is None:
        problems.append("no RAR tool (unar, unrar, 7z or bsdtar) here; RAR archives stay closed")
    return problems
