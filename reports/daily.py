"""The daily report: one self-contained HTML page a day for the intake office, plus a page per case.

Layout on disk (`<reports_dir>/<YYYY-MM-DD>/`):

    index.html            headline, unit × category matrix, what is new, what needs staff, units
    cases/<id>.html       one page per case: form fields, intro, photos, videos, findings, versions
    thumbs/<sha>.jpg      small photo thumbnails made with Pillow (shared cache in `.thumb-cache`)

Pages carry their CSS inline and their charts as inline SVG; they load nothing from the network
and run no script, so they open from a file share, a phone or a printout alike.  Everything a
unit wrote goes through Jinja's autoescape (a case may well be named `<script>…`).

"Since the previous report" needs to know when that was.  Rather than a table, a small marker
file `<reports_dir>/last-report.json` keeps the time of the last report and the baseline it used,
so regenerating today's report shows the same "new" list instead of an empty one.

This module writes the pages and the staff mail; `reports.daily_build` reads the store into the
views of `reports.daily_views`, and `reports.thumbnails` makes the photo thumbnails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from sqlalchemy.orm import Session, sessionmaker

from campaign import Campaign
from reports.charts import COLOURS
from reports.daily_build import build_report
from reports.formatting import clock, human_size
from reports.thumbnails import Thumbnailer, attach_thumbnails
from store.blobs import BlobStore, write_shared

MARKER_NAME = "last-report.json"


# -- public API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSettings:
    """The few settings the report reads, as plain values."""

    reports_dir: Path
    timezone: str
    # Staff's template folder: a report template of the same name there wins.
    templates_dir: Path | None = None
    # The staff console's address (`web_base_url`): pages link to its live pages when set.
    console_url: str = ""


def write_daily_report(
    sessions: sessionmaker[Session],
    campaign: Campaign,
    blobs: BlobStore,
    settings: ReportSettings,
    date: date | None = None,
    out: Path | None = None,
) -> Path:
    """Write the report for `date` (today, local time) and return the path of its index.html.

    `out` is the folder to write into; by default `<reports_dir>/<YYYY-MM-DD>/`.  The store's
    current state is reported; `date` sets the day counted to the deadline and ends the chart.
    Only reports in the reports folder move the "since the previous report" marker: a copy
    written elsewhere (`--out`) is not what staff read every morning.
    """
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    day = date or now.astimezone(tz).date()
    folder = out or settings.reports_dir / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    marker = settings.reports_dir / MARKER_NAME
    since = _baseline(marker, day)
    with sessions() as session:
        report = build_report(session, campaign, day, tz, since, now)
    thumbs = Thumbnailer(blobs, folder / "thumbs", settings.reports_dir / ".thumb-cache")
    attach_thumbnails(report, thumbs)
    env = _environment(settings.templates_dir)
    env.globals["console"] = settings.console_url.rstrip("/")
    case_dir = folder / "cases"
    case_dir.mkdir(exist_ok=True)
    page = env.get_template("daily_case.html.j2")
    for case in report.cases:
        _write_text(case_dir / f"{case.id}.html", page.render(report=report, case=case))
    index = folder / "index.html"
    _write_text(index, env.get_template("daily.html.j2").render(report=report))
    if out is None:
        _update_marker(marker, day, now, since)
    return index


def render_report_email(
    sessions: sessionmaker[Session],
    campaign: Campaign,
    settings: ReportSettings,
    index: Path,
    *,
    sender: tuple[str, str],
    recipients: Sequence[str],
    date: date | None = None,
) -> EmailMessage:
    """The report as a mail for staff: a text summary, and the index page as the HTML part.

    `sender` is (display name, address); sending it is the caller's business.  Links to case
    pages and thumbnails would break inside a mail client, so the mailed page names the folder
    where the full report lies instead.
    """
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    day = date or now.astimezone(tz).date()
    # The same baseline as the page just written, so mail and page list the same news.
    since = _baseline(settings.reports_dir / MARKER_NAME, day)
    with sessions() as session:
        report = build_report(session, campaign, day, tz, since, now)
    report.email = True
    env = _environment(settings.templates_dir)
    env.globals["console"] = settings.console_url.rstrip("/")
    html = env.get_template("daily.html.j2").render(report=report, report_path=str(index))
    text = env.get_template("daily_email.txt.j2").render(report=report, report_path=str(index))
    msg = EmailMessage()
    name, address = sender
    msg["From"] = formataddr((name, address)) if name else address
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = f"每日报告 {day.isoformat()} · {campaign.title}"
    msg["Date"] = format_datetime(now.astimezone(tz))
    domain = address.rsplit("@", 1)[-1].strip(">") or "localhost"
    msg["Message-ID"] = make_msgid("daily-report", domain=domain)
    # Staff autoresponders must not answer a machine (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, cte="base64")
    msg.add_alternative(html, subtype="html", cte="base64")
    return msg


# -- marker, templates, files -----------------------------------------------------------------------


def _baseline(marker: Path, day: date) -> datetime | None:
    """When the previous report was made (None: this is the first one)."""
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        last_day = date.fromisoformat(data["date"])
        generated = datetime.fromisoformat(data["generated_at"])
        since = datetime.fromisoformat(data["since"]) if data.get("since") else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # Regenerating a day's report (or one for an earlier day) keeps that day's baseline.
    return since if day <= last_day else generated


def _update_marker(marker: Path, day: date, now: datetime, since: datetime | None) -> None:
    try:
        old = json.loads(marker.read_text(encoding="utf-8"))
        if date.fromisoformat(old["date"]) > day:
            return  # a report for an earlier day does not move the baseline back
    except (OSError, ValueError, KeyError, TypeError):
        pass
    data = {
        "date": day.isoformat(),
        "generated_at": now.isoformat(),
        "since": since.isoformat() if since else None,
    }
    _write_text(marker, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _environment(templates_dir: Path | None) -> Environment:
    loaders: list[Any] = []
    if templates_dir:
        # Staff may override a report template the same way they edit reply templates.
        loaders.append(FileSystemLoader(str(templates_dir)))
    loaders.append(PackageLoader("reports", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = human_size
    env.filters["clock"] = clock
    env.globals["colours"] = COLOURS
    env.globals["console"] = ""
    return env


def _write_text(path: Path, text: str) -> None:
    write_shared(path, text.encode("utf-8"))
