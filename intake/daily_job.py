"""The daily report job: write the report (`reports.daily`) from the service's settings, then
mail it to staff (`report_to`) through the SMTP server the replies use — or, in dry-run, put the
mail in the outbox folder.

`reports.daily` knows nothing of the service: it gets a sessionmaker, the campaign, the blob
store and a `ReportSettings`; this module hands it those and does the sending.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import date
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

from campaign import Campaign
from intake.app import App
from intake.config import Settings
from intake.reply_mime import sender_identity
from intake.transport import DeliveryError, SmtpTransport
from reports import daily
from store.blobs import write_shared

log = logging.getLogger(__name__)


class ReportNotMailed(OSError):
    """The report could not be handed to the SMTP server (the file on disk is still there)."""


def report_settings(settings: Settings) -> daily.ReportSettings:
    return daily.ReportSettings(
        reports_dir=settings.reports,
        timezone=settings.timezone,
        templates_dir=settings.templates_dir,
        console_url=settings.web_base_url,
    )


def write_daily_report(app: App, date: date | None = None, out: Path | None = None) -> Path:
    """Write the report for `date` (today, local time); see `reports.daily.write_daily_report`."""
    return daily.write_daily_report(
        app.sessions, app.campaign, app.blobs, report_settings(app.settings), date, out
    )


def render_report_email(app: App, index: Path, date: date | None = None) -> EmailMessage:
    """The mail `send_daily_report` sends: from our replies' sender, to the staff list."""
    return daily.render_report_email(
        app.sessions,
        app.campaign,
        report_settings(app.settings),
        index,
        sender=_sender(app.settings, app.campaign),
        recipients=staff_addresses(app.settings.report_to),
        date=date,
    )


def send_daily_report(app: App, index: Path, date: date | None = None) -> str | None:
    """Mail the report to `report_to`; in dry-run write it to the outbox folder instead.

    Returns where it went (the .eml path or the recipients), or None when no staff list is set.
    """
    settings = app.settings
    recipients = staff_addresses(settings.report_to)
    if not recipients:
        return None
    msg = render_report_email(app, index, date)
    if settings.dry_run:
        settings.outbox.mkdir(parents=True, exist_ok=True)
        name = f"daily-report-{index.parent.name}.eml"
        write_shared(settings.outbox / name, bytes(msg))
        return str(settings.outbox / name)
    _smtp_send(settings, msg, recipients)
    return ", ".join(recipients)


def run_daily_report(app: App, date: date | None = None) -> tuple[Path, str | None]:
    """The daily job: write the report, then mail it to staff when a list is configured."""
    index = write_daily_report(app, date)
    try:
        sent = send_daily_report(app, index, date)
    except (OSError, smtplib.SMTPException) as exc:
        # The report on disk is what matters; a mail failure must not lose it.
        log.error("daily report written to %s but not mailed: %s", index, exc)
        sent = None
    return index, sent


def staff_addresses(value: str) -> list[str]:
    """`a@x, b@y; 张三 <c@z>` → the addresses; commas, semicolons and spaces all separate."""
    text = value.replace(";", ",")
    return [addr for _, addr in getaddresses([text]) if "@" in addr]


def _sender(settings: Settings, campaign: Campaign) -> tuple[str, str]:
    """Our replies' sender (`smtp_from`, else the office address), so staff filters match."""
    name, addr = sender_identity(settings, campaign)
    return name, addr or "intake@localhost"


def _smtp_send(settings: Settings, msg: EmailMessage, recipients: list[str]) -> None:
    """Deliver through the SMTP server the replies use, with the replies' connection code."""
    if not settings.smtp_host:
        raise ReportNotMailed("smtp_host is not set; cannot mail the daily report")
    transport = SmtpTransport(settings)
    try:
        transport.open()
        assert transport.conn is not None
        refused = transport.conn.send_message(msg, to_addrs=recipients)
    except DeliveryError as exc:
        raise ReportNotMailed(str(exc)) from None
    finally:
        transport.close()
    if refused:
        log.warning("daily report refused for %s", ", ".join(sorted(refused)))
