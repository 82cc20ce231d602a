"""Reading the store into the daily report's views (`build_report`).

One snapshot of the store (`store.repo.load_everything`) is sorted into what each part of the
page needs: the unit × category matrix, outstanding deficiencies, what needs staff (unknown
senders, other mail, cloud links, quarantined mail, failed replies, forms we could not convert),
what is new since the previous report, and two charts.  Who acts on a finding is never decided
here: it is `FindingView.audience`, from `validators.registry.audience_of`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign import Campaign, Limits
from reports.charts import COLOURS, Segment, bar_chart, stacked_bars
from reports.cloud_links import cloud_links
from reports.daily_cases import case_view, link_versions
from reports.daily_views import (
    KIND_LABELS,
    REPLY_KIND_LABELS,
    REPLY_STATE_LABELS,
    STATE_LABELS,
    CaseView,
    CellView,
    DeficiencyView,
    FindingView,
    MessageView,
    ReplyView,
    Report,
    UnitView,
)
from reports.formatting import STAFF_TIME, human_size, local_time
from store import models as m
from store.repo import load_everything
from validators.registry import audience_of, rule_for

CHART_MAX_DAYS = 92
NEW_LIST_MAX = 300


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
        view = _finding_view(f, campaign)
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
            contact=_person(msg.contact_name, msg.contact_phone, msg.contact_email),
            other_contacts=[
                _person(p.get("name"), p.get("phone"), p.get("email")) for p in msg.contacts or []
            ],
            attempts=msg.attempts,
        )
        for msg in messages
    }

    case_views = {
        c.id: case_view(c, campaign, by_case.get(c.id, []), anchors, local) for c in cases
    }
    link_versions(cases, case_views, local)

    current = [c for c in cases if c.status != "superseded"]
    cat_keys = [c.key for c in campaign.categories]
    units_with_mail = {msg.unit.name for msg in messages if msg.unit}
    units_with_cases = {c.unit.name for c in cases if c.unit}
    heard = units_with_mail | units_with_cases
    names = [u.name for u in campaign.units] + sorted(
        {u.name for u in store_units} - set(order), key=lambda n: n
    )
    unit_ids = {u.name: u.id for u in store_units}
    uncategorised = any(c.category not in cat_keys for c in current)

    unit_views = [
        _unit_view(
            name,
            campaign,
            current,
            [message_views[msg.id] for msg in messages if msg.unit and msg.unit.name == name],
            case_views,
            by_unit.get(unit_ids[name], []) if name in unit_ids else [],
            anchor=anchors[name],
            heard=name in heard,
            uncategorised=uncategorised,
        )
        for name in names
    ]

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
    for msg_id, name, size in session.execute(
        select(m.File.message_id, m.File.name, m.File.size)
        .join(m.Message, m.File.message_id == m.Message.id)
        .where(m.Message.kind == "other")
        .order_by(m.File.id)
    ):
        if msg_id in message_views:
            message_views[msg_id].attachments.append(f"{name}（{human_size(size)}）")
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
        chart_days=_chart_days(messages, day, tz),
        chart_categories=_chart_categories(campaign, current, uncategorised),
        deficiencies=_deficiencies(unit_views, messages, by_message, by_unit, unit_ids),
        unknown_senders=unknown,
        other_mail=others,
        cloud_links=cloud_links(findings, message_views, day, tz),
        quarantined=quarantined,
        replies=reply_views,
        replies_queued=sum(r.state == "queued" for r in replies),
        converter=converter,
        cases=[case_views[c.id] for c in cases],
    )


def unit_views_cases(unit: UnitView) -> list[CaseView]:
    return [case for _, group in unit.cases_by_category for case in group]


def _person(name: str | None, phone: str | None, email: str | None) -> str:
    return " ".join(v for v in (name, phone, email) if v)


def _when(msg: m.Message) -> datetime:
    return msg.received_at or msg.created_at


def _finding_view(f: m.Finding, campaign: Campaign) -> FindingView:
    rule = rule_for(f.code)
    reason, fix = rule.texts(campaign) if rule else (f.code, "")
    return FindingView(
        code=f.code,
        severity=f.severity,
        detail=f.detail or "",
        file=f.file,
        reason=reason,
        fix=fix,
        audience=audience_of(f.code, f.severity),
        waived=f.waived,
    )


# -- units: the matrix row and the unit's section -------------------------------------------------


def _unit_view(
    name: str,
    campaign: Campaign,
    current: Sequence[m.Case],
    unit_msgs: list[MessageView],
    case_views: Mapping[int, CaseView],
    findings: list[FindingView],
    *,
    anchor: str,
    heard: bool,
    uncategorised: bool,
) -> UnitView:
    cat_keys = [c.key for c in campaign.categories]
    mine = [c for c in current if c.unit and c.unit.name == name]
    cells: list[CellView] = []
    for key in cat_keys + (["?"] if uncategorised else []):
        in_cell = [
            c for c in mine if (c.category == key if key != "?" else c.category not in cat_keys)
        ]
        cells.append(CellView(len(in_cell), _cell_status(in_cell, campaign.limits, key == "?")))
    grouped: list[tuple[str, list[CaseView]]] = []
    for group_key in [*cat_keys, None]:
        chosen = [
            case_views[c.id]
            for c in sorted(mine, key=lambda c: (c.order is None, c.order or 0, c.id))
            if (c.category == group_key if group_key else c.category not in cat_keys)
        ]
        if chosen:
            grouped.append((campaign.category_label(group_key) or "类别未识别", chosen))
    return UnitView(
        name=name,
        anchor=anchor,
        heard=heard,
        cells=cells,
        total=len(mine),
        complete=sum(c.status == "complete" for c in mine),
        deficient=sum(c.status == "deficient" for c in mine),
        messages=unit_msgs,
        cases_by_category=grouped,
        findings=findings,
        last_received=max((msg.received for msg in unit_msgs), default="—"),
    )


def _cell_status(cases: Sequence[m.Case], limits: Limits, unknown_column: bool) -> str:
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


def _deficiencies(
    unit_views: Sequence[UnitView],
    messages: Sequence[m.Message],
    by_message: Mapping[int, list[FindingView]],
    by_unit: Mapping[int, list[FindingView]],
    unit_ids: Mapping[str, int],
) -> list[tuple[UnitView | None, str, list[DeficiencyView]]]:
    """Outstanding deficiencies: errors the unit must fix, on what is current for that unit."""
    latest_submission: dict[str, m.Message] = {}
    for msg in messages:
        if msg.unit and msg.kind == "submission" and msg.state == "processed":
            prev = latest_submission.get(msg.unit.name)
            if prev is None or _when(msg) >= _when(prev):
                latest_submission[msg.unit.name] = msg
    deficiencies: list[tuple[UnitView | None, str, list[DeficiencyView]]] = []
    for unit in unit_views:
        name = unit.name
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
        for unit_case in unit_views_cases(unit):
            items.extend(DeficiencyView(unit_case.name, unit_case, fv) for fv in unit_case.errors)
        if items:
            deficiencies.append((unit, name, items))
    return deficiencies


# -- charts -----------------------------------------------------------------------------------------


def _chart_days(messages: Sequence[m.Message], day: date, tz: ZoneInfo) -> Markup:
    """Submissions per day, local time, up to the report day."""
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
    return bar_chart(points, title="每日收到的申报邮件", highlight=day.strftime("%m-%d"))


def _chart_categories(campaign: Campaign, current: Sequence[m.Case], uncategorised: bool) -> Markup:
    cat_keys = [c.key for c in campaign.categories]
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
    return stacked_bars(cat_rows, title="各类别案例（齐全 / 待补正）")
