"""One case as the daily report shows it: its form rows, files, findings and chain of versions.

Split from `reports.daily_build` because a case page is read on its own: the form's fields in
the form's order and with its labels, then photos, videos, other files, and every version the
unit sent of the same case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from campaign import Campaign
from reports.daily_views import (
    ROLE_LABELS,
    STATUS_LABELS,
    CaseView,
    FileView,
    FindingView,
    VersionView,
)
from store import models as m

# How a stored time reads on the page (the report's time zone already applied).
LocalTime = Callable[[datetime | None], str]

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


def case_view(
    c: m.Case,
    campaign: Campaign,
    findings: list[FindingView],
    anchors: dict[str, str],
    local: LocalTime,
) -> CaseView:
    """The case's page: the form's rows (then any other field it had), its files and findings."""
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
    # The labels are the campaign's form's (申报单位（个人） in 2023, 申报单位 in a call without 个人).
    rows = [
        (campaign.form.label(key), str(values.get(key) or fields.get(key) or ""))
        for key, _ in FORM_ROWS
    ]
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


def link_versions(cases: Sequence[m.Case], views: dict[int, CaseView], local: LocalTime) -> None:
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
