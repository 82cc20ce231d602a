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
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from markupsafe import Markup
from PIL import Image, ImageOps
from sqlalchemy.orm import Session, sessionmaker

from campaign import Campaign
from reports.charts import COLOURS, Segment, bar_chart, stacked_bars
from reports.formatting import STAFF_TIME, clock, human_size, local_time
from store import models as m
from store.blobs import BlobStore, write_shared
from store.repo import load_everything
from validators.base import Audience
from validators.registry import audience_of, rule_for

log = logging.getLogger(__name__)

MARKER_NAME = "last-report.json"
THUMB_SIZE = 240
# Photos bigger than this are not thumbnailed: a decompression bomb must not stall the report.
THUMB_MAX_PIXELS = 60_000_000
CHART_MAX_DAYS = 92
NEW_LIST_MAX = 300
# Form fields shown on a case page, in the form's order, with the form's own labels.
FORM_ROWS: tuple[tuple[str, str], ...] = (
    ("案例名称", "案例名称"),
    ("申报单位", "申报单位（个人）"),
    ("类别", "类别"),
    ("联系人", "联系人"),
    ("手机", "手机"),
    ("地址", "地址"),
    ("推荐单位意见", "推荐单位意见"),
)
STATUS_LABELS = {"complete": "齐全", "deficient": "待补正", "superseded": "已被替换"}
KIND_LABELS = {
    "submission": "申报",
    "auto_reply": "自动回复",
    "bounce": "退信",
    "other": "其他",
    None: "—",
}
STATE_LABELS = {
    "processed": "已处理",
    "quarantined": "已隔离",
    "ignored": "已忽略",
    "received": "处理中",
}
REPLY_KIND_LABELS = {"receipt": "回执", "deficiency": "补正通知"}
REPLY_STATE_LABELS = {
    "queued": "待发送",
    "sent": "已发送",
    "failed": "发送失败",
    "unknown": "状态不明",
}
ROLE_LABELS = {
    "form_word": "推荐表（Word）",
    "form_scan": "推荐表（盖章扫描件）",
    "photo": "照片",
    "video": "视频",
    "list": "推荐名单",
    "caption": "照片说明",
    "other": "其他",
}
CELL_LABELS = {
    "none": "未报送",
    "below": "少于下限",
    "within": "数量符合",
    "over": "超过上限",
    "errors": "有待补正",
}


# -- the view: plain data the templates read ----------------------------------------------------


@dataclass
class FindingView:
    code: str
    severity: str
    detail: str
    file: str | None
    reason: str
    fix: str
    audience: Audience

    @property
    def staff_only(self) -> bool:
        return self.audience is Audience.STAFF

    @property
    def unit_must_fix(self) -> bool:
        return self.audience is Audience.UNIT


@dataclass
class FileView:
    name: str
    path: str
    sha256: str
    role: str
    role_label: str
    size: int
    caption: str | None
    duration_s: float | None
    thumb: str | None = None


@dataclass
class VersionView:
    case_id: int
    version: int
    status: str
    received: str
    subject: str
    errors: int


@dataclass
class CaseView:
    id: int
    page: str
    unit: str | None
    unit_anchor: str | None
    category: str | None
    category_label: str
    name: str
    order: int | None
    status: str
    status_label: str
    version: int
    received: str
    subject: str
    key: str
    form_rows: list[tuple[str, str]]
    intro: str | None
    intro_chars: int | None
    intro_limit: int
    photos: list[FileView]
    videos: list[FileView]
    others: list[FileView]
    findings: list[FindingView]
    history: list[VersionView] = field(default_factory=list)

    @property
    def errors(self) -> list[FindingView]:
        return [f for f in self.findings if f.unit_must_fix]

    @property
    def finding_groups(self) -> list[tuple[FindingView, list[FindingView]]]:
        """Findings by code, in first-seen order: the reason and fix once, then each hit."""
        groups: dict[str, list[FindingView]] = {}
        for f in self.findings:
            groups.setdefault(f.code, []).append(f)
        return [(hits[0], hits) for hits in groups.values()]


@dataclass
class MessageView:
    id: int
    received: str
    sender: str
    sender_name: str
    subject: str
    unit: str | None
    unit_anchor: str | None
    kind: str
    state: str
    error: str | None
    cases: int
    findings: list[FindingView]


@dataclass
class CellView:
    count: int
    status: str

    @property
    def label(self) -> str:
        return CELL_LABELS[self.status]


@dataclass
class UnitView:
    name: str
    anchor: str
    heard: bool
    cells: list[CellView]
    total: int
    complete: int
    deficient: int
    messages: list[MessageView]
    cases_by_category: list[tuple[str, list[CaseView]]]
    findings: list[FindingView]
    last_received: str


@dataclass
class DeficiencyView:
    where: str
    case: CaseView | None
    finding: FindingView


@dataclass
class CloudLinkView:
    message: MessageView
    detail: str
    expires: str | None
    urgent: bool


@dataclass
class ReplyView:
    to: str
    kind: str
    state: str
    subject: str
    error: str | None
    attempts: int
    message: MessageView | None


@dataclass
class Report:
    campaign: Campaign
    title: str
    date: date
    generated: str
    deadline: str
    days_left: int
    units_heard: int
    units_total: int
    received: int
    complete: int
    deficient: int
    superseded: int
    categories: list[tuple[str, str]]
    uncategorised: bool
    units: list[UnitView]
    not_heard: list[str]
    since: str | None
    new_messages: list[MessageView]
    new_more: int
    chart_days: Markup
    chart_categories: Markup
    deficiencies: list[tuple[UnitView | None, str, list[DeficiencyView]]]
    unknown_senders: list[MessageView]
    # Mail a person wrote that is no submission (questions, "收到，谢谢"): never auto-answered.
    other_mail: list[MessageView]
    cloud_links: list[CloudLinkView]
    quarantined: list[MessageView]
    replies: list[ReplyView]
    replies_queued: int
    converter: list[tuple[CaseView, FindingView]]
    cases: list[CaseView]
    email: bool = False

    @property
    def staff_total(self) -> int:
        return (
            len(self.unknown_senders)
            + len(self.other_mail)
            + len(self.cloud_links)
            + len(self.quarantined)
            + len(self.replies)
            + len(self.converter)
        )


# -- public API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSettings:
    """The few settings the report reads, as plain values."""

    reports_dir: Path
    timezone: str
    # Staff's template folder: a report template of the same name there wins.
    templates_dir: Path | None = None


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
    thumbs = _Thumbnailer(blobs, folder / "thumbs", settings.reports_dir / ".thumb-cache")
    _attach_thumbnails(report, thumbs)
    env = _environment(settings.templates_dir)
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


# -- building the view ------------------------------------------------------------------------------


def build_report(
    session: Session,
    campaign: Campaign,
    day: date,
    tz: ZoneInfo,
    since: datetime | None,
    now: datetime,
) -> Report:
    """Everything the templates show, read from the store in a handful of queries."""

    def local(value: datetime | None) -> str:
        return local_time(value, tz)

    snap = load_everything(session)
    messages, cases, findings, replies = snap.messages, snap.cases, snap.findings, snap.replies
    store_units = snap.units

    by_case: dict[int, list[FindingView]] = defaultdict(list)
    by_message: dict[int, list[FindingView]] = defaultdict(list)
    by_unit: dict[int, list[FindingView]] = defaultdict(list)
    for f in findings:
        view = _finding_view(f)
        if f.case_id is not None:
            by_case[f.case_id].append(view)
        elif f.level == "unit" and f.unit_id is not None:
            if view not in by_unit[f.unit_id]:
                by_unit[f.unit_id].append(view)
        elif f.message_id is not None:
            by_message[f.message_id].append(view)

    order = {u.name: i for i, u in enumerate(campaign.units)}
    anchors = {u.name: f"unit-{i + 1}" for i, u in enumerate(campaign.units)}
    for u in store_units:
        anchors.setdefault(u.name, f"unit-x{u.id}")

    cases_per_message = Counter(c.message_id for c in cases)
    message_views = {
        msg.id: MessageView(
            id=msg.id,
            received=local(msg.received_at or msg.created_at),
            sender=msg.sender,
            sender_name=msg.sender_name,
            subject=msg.subject,
            unit=msg.unit.name if msg.unit else None,
            unit_anchor=anchors.get(msg.unit.name) if msg.unit else None,
            kind=KIND_LABELS.get(msg.kind, msg.kind or "—"),
            state=STATE_LABELS.get(msg.state, msg.state),
            error=(msg.error or "").strip().splitlines()[-1] if msg.error else None,
            cases=cases_per_message.get(msg.id, 0),
            findings=by_message.get(msg.id, []),
        )
        for msg in messages
    }

    case_views = {
        c.id: _case_view(c, campaign, by_case.get(c.id, []), anchors, local) for c in cases
    }
    _link_versions(cases, case_views, local)

    current = [c for c in cases if c.status != "superseded"]
    cat_keys = [c.key for c in campaign.categories]
    limits = campaign.limits
    units_with_mail = {msg.unit.name for msg in messages if msg.unit}
    units_with_cases = {c.unit.name for c in cases if c.unit}
    heard = units_with_mail | units_with_cases
    names = [u.name for u in campaign.units] + sorted(
        {u.name for u in store_units} - set(order), key=lambda n: n
    )
    unit_ids = {u.name: u.id for u in store_units}
    uncategorised = any(c.category not in cat_keys for c in current)

    unit_views: list[UnitView] = []
    for name in names:
        mine = [c for c in current if c.unit and c.unit.name == name]
        cells: list[CellView] = []
        for key in cat_keys + (["?"] if uncategorised else []):
            in_cell = [
                c for c in mine if (c.category == key if key != "?" else c.category not in cat_keys)
            ]
            cells.append(CellView(len(in_cell), _cell_status(in_cell, limits, key == "?")))
        unit_msgs = [
            message_views[msg.id] for msg in messages if msg.unit and msg.unit.name == name
        ]
        grouped: list[tuple[str, list[CaseView]]] = []
        for group_key in [*cat_keys, None]:
            chosen = [
                case_views[c.id]
                for c in sorted(mine, key=lambda c: (c.order is None, c.order or 0, c.id))
                if (c.category == group_key if group_key else c.category not in cat_keys)
            ]
            if chosen:
                grouped.append((campaign.category_label(group_key) or "类别未识别", chosen))
        uid = unit_ids.get(name)
        unit_views.append(
            UnitView(
                name=name,
                anchor=anchors[name],
                heard=name in heard,
                cells=cells,
                total=len(mine),
                complete=sum(c.status == "complete" for c in mine),
                deficient=sum(c.status == "deficient" for c in mine),
                messages=unit_msgs,
                cases_by_category=grouped,
                findings=by_unit.get(uid, []) if uid is not None else [],
                last_received=max((msg.received for msg in unit_msgs), default="—"),
            )
        )
    views_by_name = {u.name: u for u in unit_views}

    # Outstanding deficiencies: errors the unit must fix, on what is current for that unit.
    latest_submission: dict[str, m.Message] = {}
    for msg in messages:
        if msg.unit and msg.kind == "submission" and msg.state == "processed":
            prev = latest_submission.get(msg.unit.name)
            if prev is None or _when(msg) >= _when(prev):
                latest_submission[msg.unit.name] = msg
    deficiencies: list[tuple[UnitView | None, str, list[DeficiencyView]]] = []
    for name in names:
        items: list[DeficiencyView] = []
        uid = unit_ids.get(name)
        for fv in by_unit.get(uid, []) if uid is not None else []:
            if fv.unit_must_fix:
                items.append(DeficiencyView("单位", None, fv))
        # A later mail answers the earlier ones: only the latest mail's problems are still open.
        if name in latest_submission:
            latest = latest_submission[name]
            for fv in by_message.get(latest.id, []):
                if fv.unit_must_fix:
                    items.append(DeficiencyView(f"邮件《{latest.subject}》", None, fv))
        for unit_case in unit_views_cases(views_by_name[name]):
            items.extend(DeficiencyView(unit_case.name, unit_case, fv) for fv in unit_case.errors)
        if items:
            deficiencies.append((views_by_name[name], name, items))

    # What needs staff.
    unknown = [
        message_views[msg.id]
        for msg in messages
        if msg.kind == "submission" and msg.unit is None and msg.state != "quarantined"
    ]
    others = [
        message_views[msg.id]
        for msg in messages
        if msg.kind == "other" and msg.state != "quarantined"
    ]
    cloud: list[CloudLinkView] = []
    for f in findings:
        if f.code == "CLOUD_LINK" and f.message_id is not None:
            expires = _expiry(f.detail)
            cloud.append(
                CloudLinkView(message_views[f.message_id], f.detail, expires, _urgent(expires, day))
            )
    cloud.sort(key=lambda c: (c.expires is None, c.expires or ""))
    quarantined = [message_views[msg.id] for msg in messages if msg.state == "quarantined"]
    reply_views = [
        ReplyView(
            to=r.to_addr,
            kind=REPLY_KIND_LABELS.get(r.kind, r.kind),
            state=REPLY_STATE_LABELS.get(r.state, r.state),
            subject=r.subject,
            error=r.error,
            attempts=r.attempts,
            message=message_views.get(r.message_id),
        )
        for r in replies
        if r.state in ("failed", "unknown")
    ]
    converter = [
        (case_views[c.id], f)
        for c in cases
        if c.status != "superseded"
        for f in by_case.get(c.id, [])
        if f.code == "CONVERTER_UNAVAILABLE"
    ]

    # New since the previous report: by when the service stored the message.
    fresh = [msg for msg in messages if since is None or msg.created_at > since]
    fresh.sort(key=lambda msg: _when(msg), reverse=True)

    # Submissions per day, local time, up to the report day.
    per_day = Counter(
        _when(msg).astimezone(tz).date() for msg in messages if msg.kind == "submission"
    )
    days = sorted(d for d in per_day if d <= day)
    start = max(days[0] if days else day, day - timedelta(days=CHART_MAX_DAYS - 1))
    start = min(start, day - timedelta(days=13))
    points = [
        ((start + timedelta(days=i)).strftime("%m-%d"), per_day.get(start + timedelta(days=i), 0))
        for i in range((day - start).days + 1)
    ]
    chart_days = bar_chart(points, title="每日收到的申报邮件", highlight=day.strftime("%m-%d"))
    cat_rows = []
    for cat in campaign.categories:
        in_cat = [c for c in current if c.category == cat.key]
        cat_rows.append(
            (
                cat.label,
                [
                    Segment(
                        sum(c.status == "complete" for c in in_cat), COLOURS["complete"], "齐全"
                    ),
                    Segment(
                        sum(c.status == "deficient" for c in in_cat), COLOURS["deficient"], "待补正"
                    ),
                ],
            )
        )
    if uncategorised:
        rest = [c for c in current if c.category not in cat_keys]
        cat_rows.append(("未识别", [Segment(len(rest), COLOURS["other"], "类别未识别")]))
    chart_categories = stacked_bars(cat_rows, title="各类别案例（齐全 / 待补正）")

    deadline_local = campaign.deadline.astimezone(tz)
    campaign_units = {u.name for u in campaign.units}
    return Report(
        campaign=campaign,
        title=campaign.title,
        date=day,
        generated=local(now),
        deadline=deadline_local.strftime(STAFF_TIME),
        days_left=(deadline_local.date() - day).days,
        units_heard=len(heard & campaign_units),
        units_total=len(campaign.units),
        received=len(current),
        complete=sum(c.status == "complete" for c in current),
        deficient=sum(c.status == "deficient" for c in current),
        superseded=sum(c.status == "superseded" for c in cases),
        categories=[(c.key, c.label) for c in campaign.categories],
        uncategorised=uncategorised,
        units=unit_views,
        not_heard=[u.name for u in campaign.units if u.name not in heard],
        since=local(since) if since else None,
        new_messages=[message_views[msg.id] for msg in fresh[:NEW_LIST_MAX]],
        new_more=max(0, len(fresh) - NEW_LIST_MAX),
        chart_days=chart_days,
        chart_categories=chart_categories,
        deficiencies=deficiencies,
        unknown_senders=unknown,
        other_mail=others,
        cloud_links=cloud,
        quarantined=quarantined,
        replies=reply_views,
        replies_queued=sum(r.state == "queued" for r in replies),
        converter=converter,
        cases=[case_views[c.id] for c in cases],
    )


def unit_views_cases(unit: UnitView) -> list[CaseView]:
    return [case for _, group in unit.cases_by_category for case in group]


def _when(msg: m.Message) -> datetime:
    return msg.received_at or msg.created_at


def _finding_view(f: m.Finding) -> FindingView:
    rule = rule_for(f.code)
    return FindingView(
        code=f.code,
        severity=f.severity,
        detail=f.detail or "",
        file=f.file,
        reason=rule.reason if rule else f.code,
        fix=rule.fix if rule else "",
        audience=audience_of(f.code, f.severity),
    )


def _cell_status(cases: Sequence[m.Case], limits: Any, unknown_column: bool) -> str:
    if any(c.status == "deficient" for c in cases):
        return "errors"
    n = len(cases)
    if n == 0:
        return "none"
    if unknown_column:
        return "within"
    if n < limits.cases_per_category_min:
        return "below"
    if n > limits.cases_per_category_max:
        return "over"
    return "within"


def _case_view(
    c: m.Case,
    campaign: Campaign,
    findings: list[FindingView],
    anchors: dict[str, str],
    local: Any,
) -> CaseView:
    fields = dict(c.fields or {})
    values = {
        "案例名称": c.name,
        "申报单位": c.applicant,
        "类别": campaign.category_label(c.category) or fields.get("类别"),
        "联系人": c.contact,
        "手机": c.mobile,
        "地址": c.address,
        "推荐单位意见": c.opinion,
    }
    rows = [(label, str(values.get(key) or fields.get(key) or "")) for key, label in FORM_ROWS]
    known = {key for key, _ in FORM_ROWS} | {"案例简介"}
    rows += [(str(k), str(v)) for k, v in fields.items() if k not in known and v]
    files = [
        FileView(
            name=f.name,
            path=f.path,
            sha256=f.sha256,
            role=f.role,
            role_label=ROLE_LABELS.get(f.role, f.role),
            size=f.size,
            caption=f.caption,
            duration_s=f.duration_s,
        )
        for f in c.files
    ]
    intro = c.intro or fields.get("案例简介") or None
    return CaseView(
        id=c.id,
        page=f"cases/{c.id}.html",
        unit=c.unit.name if c.unit else None,
        unit_anchor=anchors.get(c.unit.name) if c.unit else None,
        category=c.category,
        category_label=campaign.category_label(c.category) or "类别未识别",
        name=c.name or c.key,
        order=c.order,
        status=c.status,
        status_label=STATUS_LABELS.get(c.status, c.status),
        version=c.version or 1,
        received=local(c.message.received_at or c.message.created_at),
        subject=c.message.subject,
        key=c.key,
        form_rows=rows,
        intro=intro,
        intro_chars=c.intro_chars if c.intro_chars is not None else (len(intro) if intro else None),
        intro_limit=campaign.limits.intro_max_chars,
        photos=[f for f in files if f.role == "photo"],
        videos=[f for f in files if f.role == "video"],
        others=[f for f in files if f.role not in ("photo", "video")],
        findings=findings,
    )


def _link_versions(cases: Sequence[m.Case], views: dict[int, CaseView], local: Any) -> None:
    """Give every case the whole chain of versions it belongs to (oldest first)."""
    by_id = {c.id: c for c in cases}
    earlier: dict[int, int] = {}
    for c in cases:
        if c.superseded_by_id is not None and c.superseded_by_id in by_id:
            earlier[c.superseded_by_id] = c.id
    seen: set[int] = set()
    for c in cases:
        if c.superseded_by_id is not None or c.id in seen:
            continue
        chain = [c.id]
        while chain[-1] in earlier and earlier[chain[-1]] not in chain:
            chain.append(earlier[chain[-1]])
        if len(chain) < 2:
            continue
        history = [
            VersionView(
                case_id=i,
                version=by_id[i].version or 1,
                status=STATUS_LABELS.get(by_id[i].status, by_id[i].status),
                received=views[i].received,
                subject=views[i].subject,
                errors=len(views[i].errors),
            )
            for i in reversed(chain)
        ]
        for i in chain:
            views[i].history = history
            seen.add(i)


_EXPIRY_RE = re.compile(r"到期：(\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?|无限期)")


def _expiry(detail: str) -> str | None:
    """The expiry CLOUD_LINK wrote into its detail (`到期：2023-12-30 09:41`)."""
    match = _EXPIRY_RE.search(detail or "")
    return match.group(1) if match else None


def _urgent(expires: str | None, day: date) -> bool:
    """Expires within three days of the report (or already has): fetch it today."""
    if not expires or expires == "无限期":
        return False
    try:
        when = date.fromisoformat(expires[:10])
    except ValueError:
        return False
    return when <= day + timedelta(days=3)


# -- thumbnails -------------------------------------------------------------------------------------


class _Thumbnailer:
    """Small JPEG thumbnails, made once per photo and linked into each day's folder."""

    def __init__(self, blobs: BlobStore, folder: Path, cache: Path) -> None:
        self.blobs = blobs
        self.folder = folder
        self.cache = cache

    def make(self, sha256: str) -> str | None:
        """The thumbnail's path relative to the report folder, or None if not a readable image."""
        name = f"{sha256[:32]}.jpg"
        target = self.folder / name
        if target.exists():
            return f"thumbs/{name}"
        cached = self.cache / name
        if not cached.exists() and not self._render(sha256, cached):
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            os.link(cached, target)
        except OSError:  # another file system, or links not allowed: copy instead
            shutil.copyfile(cached, target)
        return f"thumbs/{name}"

    def _render(self, sha256: str, cached: Path) -> bool:
        if not self.blobs.exists(sha256):
            return False
        try:
            with warnings.catch_warnings():
                # Pillow only warns below twice its pixel limit; a bomb must fail here.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(self.blobs.get(sha256))) as im:
                    if im.width * im.height > THUMB_MAX_PIXELS:
                        return False
                    # JPEG decodes at 1/2…1/8 scale directly: a 5 MB photo costs a few ms.
                    im.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))
                    small = ImageOps.exif_transpose(im) or im
                    small.thumbnail((THUMB_SIZE, THUMB_SIZE))
                    buf = io.BytesIO()
                    small.convert("RGB").save(buf, "JPEG", quality=72, optimize=True)
        except Exception as exc:  # unreadable photos are the rules' business, not the report's
            log.debug("no thumbnail for %s: %s", sha256, exc)
            return False
        write_shared(cached, buf.getvalue())
        return True


def _attach_thumbnails(report: Report, thumbs: _Thumbnailer) -> None:
    for case in report.cases:
        for photo in case.photos:
            photo.thumb = thumbs.make(photo.sha256)


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
    return env


def _write_text(path: Path, text: str) -> None:
    write_shared(path, text.encode("utf-8"))
