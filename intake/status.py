"""`intake status`: is the service alive, is the inbox being read, and where does the call stand.

Reads only: the IMAP heartbeat in the `sources` table (written by every poll, whichever process
ran it), the job heartbeats in `<data_dir>/service-state.json` (written by `intake run`), and
counts from the database.  Printed for a terminal: CJK characters take two columns, so the
units × categories table pads by display width, not by `len`.
"""

from __future__ import annotations

import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.app import App
from intake.health import check_all
from intake.job_state import STATE_FILE, StateFile
from programs.run import pid_alive
from store import models as m

# A poll is overdue when nothing succeeded for this many poll intervals (plus a margin for a
# long batch): the service is down, stuck, or cannot reach the server.
STALE_INTERVALS = 3
STALE_MARGIN = timedelta(minutes=5)
UNKNOWN_UNIT = "（未识别单位）"
UNCATEGORISED = "未定"


@dataclass
class SourceStatus:
    name: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    uidvalidity: int | None
    last_uid: int | None

    @property
    def last_poll_failed(self) -> bool:
        if self.last_poll_at is None:
            return False
        return self.last_success_at is None or self.last_success_at < self.last_poll_at


@dataclass
class Status:
    now: datetime
    sources: list[SourceStatus]
    jobs: dict[str, dict[str, Any]]
    service: dict[str, Any]
    messages: Counter[str]
    replies: Counter[str]
    categories: list[tuple[str, str]]
    table: dict[str, Counter[str]]
    units: list[str]
    imap_configured: bool = True
    # Ineligible years with no selected cases on record (`Campaign.unchecked_years`).
    unchecked_years: tuple[int, ...] = ()
    # The service is not doing its job (`--check` fails on these) …
    problems: list[str] = field(default_factory=list)
    # … versus work waiting for staff, which a healthy service produces too.
    attention: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def collect(app: App, now: datetime | None = None) -> Status:
    settings = app.settings
    now = now or datetime.now(UTC)
    campaign = app.campaign
    state = StateFile(settings.data_dir / STATE_FILE).read()
    with app.sessions() as session:
        sources = [
            SourceStatus(
                s.name,
                s.last_poll_at,
                s.last_success_at,
                s.last_error,
                s.uidvalidity,
                s.last_uid,
            )
            for s in session.scalars(
                select(m.Source).where(m.Source.name.like("imap:%")).order_by(m.Source.name)
            )
        ]
        messages = _count(session, m.Message.state)
        replies = _count(session, m.Reply.state)
        table = _case_table(session)
    categories = [(c.key, c.label) for c in campaign.categories]
    units = [u.name for u in campaign.units]
    units += sorted(u for u in table if u not in units and u != UNKNOWN_UNIT)
    if UNKNOWN_UNIT in table:
        units.append(UNKNOWN_UNIT)
    status = Status(
        now=now,
        sources=sources,
        jobs=state.get("jobs", {}),
        service={k: state.get(k) for k in ("pid", "started_at", "stopped_at")},
        messages=messages,
        replies=replies,
        categories=categories,
        table=table,
        units=units,
        imap_configured=bool(settings.imap_host),
        unchecked_years=campaign.unchecked_years,
    )
    status.problems = _problems(status, settings.poll_minutes, bool(settings.imap_host))
    status.attention = _attention(status)
    return status


def _count(session: Session, column: Any) -> Counter[str]:
    rows = session.execute(select(column, func.count()).group_by(column))
    return Counter({str(k): int(n) for k, n in rows})


def _case_table(session: Session) -> dict[str, Counter[str]]:
    """Current cases (superseded ones replaced by a resubmission do not count) per unit and
    category."""
    rows = session.execute(
        select(m.Unit.name, m.Case.category, func.count())
        .select_from(m.Case)
        .outerjoin(m.Unit, m.Unit.id == m.Case.unit_id)
        .where(m.Case.status != "superseded")
        .group_by(m.Unit.name, m.Case.category)
    )
    table: dict[str, Counter[str]] = {}
    for unit, category, n in rows:
        table.setdefault(unit or UNKNOWN_UNIT, Counter())[category or ""] += int(n)
    return table


def _problems(status: Status, poll_minutes: float, imap_configured: bool) -> list[str]:
    problems: list[str] = []
    stale = timedelta(minutes=poll_minutes * STALE_INTERVALS) + STALE_MARGIN
    if imap_configured and not status.sources:
        problems.append("the inbox has never been polled")
    for src in status.sources:
        if src.last_poll_failed:
            problems.append(f"last poll of {src.name} failed: {src.last_error or '?'}")
        elif src.last_success_at is None or status.now - src.last_success_at > stale:
            problems.append(f"no successful poll of {src.name} for over {_ago(stale)}")
    if status.messages.get("quarantined"):
        # Mail that nobody has answered: a staff member must look (and `intake requeue`).
        problems.append(
            f"{status.messages['quarantined']} quarantined message(s) not yet handled "
            "(see the daily report; `intake requeue --message ID` once the cause is removed)"
        )
    for job, info in sorted(status.jobs.items()):
        if info.get("last_error_at") and info.get("last_error_at", "") >= info.get(
            "last_ok_at", ""
        ):
            problems.append(f"last {job} job failed: {info.get('last_error') or '?'}")
    return problems


def _attention(status: Status) -> list[str]:
    waiting: list[str] = []
    if status.messages.get("quarantined"):
        waiting.append(f"{status.messages['quarantined']} quarantined message(s) for staff")
    for state in ("failed", "unknown"):
        if status.replies.get(state):
            waiting.append(f"{status.replies[state]} reply(ies) {state}: check by hand")
    if status.unchecked_years:
        years = ", ".join(str(y) for y in status.unchecked_years)
        waiting.append(
            f"no selected cases of {years} on record: PREVIOUSLY_SELECTED checks nothing; "
            "import the office's list with `intake selected import FILE`"
        )
    return waiting


# -- rendering --------------------------------------------------------------------------------


def width(text: str) -> int:
    """Columns a string takes in a terminal: East Asian wide and full-width characters take 2."""
    return sum(
        0
        if unicodedata.combining(ch)
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in text
    )


def pad(text: str, columns: int, right: bool = False) -> str:
    gap = " " * max(0, columns - width(text))
    return gap + text if right else text + gap


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _when(value: datetime | str | None, now: datetime, tz: ZoneInfo) -> str:
    if value is None or value == "":
        return "never"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return f"{local} ({_ago(now - value)} ago)"


def _pid_alive(pid: Any) -> bool | None:
    if not isinstance(pid, int) or pid <= 0:
        return None
    return pid_alive(pid)


def render(status: Status, timezone: str) -> str:
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):  # a broken setting must not hide the status
        tz, timezone = ZoneInfo("UTC"), "UTC"
    now = status.now
    out: list[str] = [f"intake status at {now.astimezone(tz):%Y-%m-%d %H:%M:%S} ({timezone})", ""]

    svc = status.service
    if not svc.get("started_at"):
        out.append("service   never started here (no state file)")
    elif svc.get("stopped_at"):
        out.append(f"service   stopped {_when(svc['stopped_at'], now, tz)}")
    else:
        # The pid is only meaningful on the host that wrote the state file.
        alive = _pid_alive(svc.get("pid"))
        note = "" if alive is not False else ", but its process is gone (killed?)"
        out.append(
            f"service   started {_when(svc['started_at'], now, tz)}, pid {svc.get('pid')}{note}"
        )

    if not status.sources:
        configured = status.imap_configured
        out.append("inbox     " + ("never polled" if configured else "not configured (IMAP host)"))
    for src in status.sources:
        verdict = "FAILED" if src.last_poll_failed else "ok"
        out.append(f"inbox     {src.name}")
        out.append(f"  last poll     {_when(src.last_poll_at, now, tz)}  [{verdict}]")
        out.append(f"  last success  {_when(src.last_success_at, now, tz)}")
        if src.last_error:
            out.append(f"  last error    {src.last_error[:300]}")
        out.append(f"  position      UIDVALIDITY {src.uidvalidity}, last UID {src.last_uid}")
    for job in ("poll", "send", "report"):
        info = status.jobs.get(job)
        if not info:
            continue
        line = f"job {job:<6} last ok {_when(info.get('last_ok_at'), now, tz)}"
        if info.get("last_error_at"):
            line += f"; last error {_when(info.get('last_error_at'), now, tz)}: "
            line += str(info.get("last_error") or "?")[:200]
        out.append(line)

    out.append("")
    out.append(
        "messages  " + _counts(status.messages, ("processed", "ignored", "quarantined", "received"))
    )
    if status.replies:
        out.append("replies   " + _counts(status.replies, ("queued", "sent", "failed", "unknown")))
    out.append("")
    out.extend(render_table(status))
    out.append("")
    if status.problems:
        out.append("PROBLEMS:")
        out.extend(f"  - {p}" for p in status.problems)
    if status.attention:
        out.append("waiting for staff:")
        out.extend(f"  - {p}" for p in status.attention)
    if not status.problems and not status.attention:
        out.append("all well")
    return "\n".join(out) + "\n"


def _counts(counts: Counter[str], order: tuple[str, ...]) -> str:
    keys = list(order) + sorted(k for k in counts if k not in order)
    parts = [f"{counts[k]} {k}" for k in keys if counts.get(k)]
    return ", ".join(parts) if parts else "none"


def render_table(status: Status) -> list[str]:
    """Units × categories: current cases per cell, `·` for none, totals on the right and
    below.  A column for cases whose category could not be read appears only when needed."""
    cols = list(status.categories)
    if any(c.get("") for c in status.table.values()):
        cols.append(("", UNCATEGORISED))
    header = ["单位"] + [label for _, label in cols] + ["合计"]
    rows: list[list[str]] = []
    totals: Counter[str] = Counter()
    for unit in status.units:
        counts = status.table.get(unit, Counter())
        cells = [str(counts[k]) if counts.get(k) else "·" for k, _ in cols]
        total = sum(counts.values())
        totals.update(counts)
        rows.append([unit, *cells, str(total) if total else "·"])
    heard = sum(1 for u in status.units if status.table.get(u))
    rows.append(
        [f"合计（{heard}/{len(status.units)} 单位）"]
        + [str(totals[k]) for k, _ in cols]
        + [str(sum(totals.values()))]
    )
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = pad(cells[0], widths[0])
        rest = [pad(c, w, right=True) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("─" * w for w in widths)
    return [line(header), rule, *(line(r) for r in rows[:-1]), rule, line(rows[-1])]


def status_command(app: App, check: bool = False) -> int:
    """`intake status`: print the state; with `check`, exit 1 when the service is not doing
    its job (polls failing or overdue, a job failing) or mail sits quarantined (nobody has
    answered it: someone must look) — for a container health check or a monitoring cron.
    Failed replies are staff work, not ill health."""
    status = collect(app)
    if check:
        # Name what fails where a setting meets the world (folders, servers, tools).
        status.problems.extend(check_all(app.settings))
    sys.stdout.write(render(status, app.settings.timezone))
    return 1 if check and not status.healthy else 0
