"""The expert workbook (`intake export --format xlsx`).

Experts score cases in Excel, one category at a time, against the call's review criteria
(评审参考标准).  So each category gets its own sheet, cases in unit and recommendation order,
with the form's fields, status and findings, then one empty score column per criterion (the full
criterion text in a note on its header), a total that sums them, and a column for comments.  A
summary sheet gives each unit's counts; a last sheet lists the criteria in full.

Only current cases are listed: a superseded version is not for review.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from campaign import Campaign
from reports.formatting import AUDIENCE_LABELS, clock, local_time
from store import models as m
from store.repo import load_cases, load_findings, load_messages
from validators.registry import audience_of, rule_for

STATUS_LABELS = {"complete": "齐全", "deficient": "待补正", "superseded": "已被替换"}
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
SCORE_FILL = PatternFill("solid", fgColor="FFF2CC")
STATUS_FILLS = {
    "deficient": PatternFill("solid", fgColor="F8D7D3"),
    "complete": PatternFill("solid", fgColor="D6EEDD"),
}
WRAP = Alignment(wrap_text=True, vertical="top")
# Characters Excel forbids in sheet names.
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")

# (header, width) of the case columns before the score columns.
CASE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6),
    ("单位", 14),
    ("推荐顺序", 8),
    ("案例名称", 28),
    ("申报单位（个人）", 26),
    ("联系人", 10),
    ("手机", 14),
    ("地址", 24),
    ("案例简介", 60),
    ("简介字数", 8),
    ("照片", 6),
    ("视频（时长）", 16),
    ("状态", 8),
    ("问题", 40),
)


def case_columns(campaign: Campaign) -> list[tuple[str, int]]:
    """The case columns for this campaign: its form's labels, and a column per field it adds
    (所在地区), after 地址."""
    columns = [
        (campaign.form.label("申报单位"), width) if title == "申报单位（个人）" else (title, width)
        for title, width in CASE_COLUMNS
    ]
    extra = [(f.label, 16) for f in campaign.form.added]
    at = [t for t, _ in columns].index("地址") + 1
    return columns[:at] + extra + columns[at:]


def extra_fields(campaign: Campaign) -> list[str]:
    """Keys of the form fields a campaign adds beyond the columns every workbook has."""
    return [f.key for f in campaign.form.added]


def criterion_title(index: int, text: str) -> str:
    """`园区基本情况：如是否…` → `1. 园区基本情况`: the part before the colon, for a header."""
    short = re.split(r"[：:]", text, maxsplit=1)[0].strip().rstrip("。.")
    return f"{index}. {short}"


def write_xlsx(session: Session, campaign: Campaign, path: Path) -> Path:
    """Build the workbook from the store and save it to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    build_workbook(session, campaign).save(path)
    return path


def build_workbook(session: Session, campaign: Campaign) -> Workbook:
    cases = load_cases(session, current_only=True)
    findings = load_findings(session)
    messages = load_messages(session)
    by_case: dict[int, list[m.Finding]] = defaultdict(list)
    by_unit: dict[int, list[m.Finding]] = defaultdict(list)
    for f in findings:
        if f.case_id is not None:
            by_case[f.case_id].append(f)
        elif f.level == "unit" and f.unit_id is not None:
            by_unit[f.unit_id].append(f)

    unit_rank = {u.name: i for i, u in enumerate(campaign.units)}

    def sort_key(c: m.Case) -> tuple[Any, ...]:
        name = c.unit.name if c.unit else ""
        return (
            unit_rank.get(name, len(unit_rank)),
            name,
            c.order is None,
            c.order or 0,
            c.id,
        )

    ordered = sorted(cases, key=sort_key)
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "汇总"
    _summary_sheet(summary, campaign, ordered, messages, by_unit)
    keys = [c.key for c in campaign.categories]
    for category in campaign.categories:
        ws = wb.create_sheet(_sheet_name(f"{category.label}类"))
        rows = [c for c in ordered if c.category == category.key]
        _case_sheet(ws, campaign, rows, category.criteria, by_case)
    rest = [c for c in ordered if c.category not in keys]
    if rest:
        _case_sheet(wb.create_sheet("类别未识别"), campaign, rest, (), by_case)
    _criteria_sheet(wb.create_sheet("评审标准"), campaign)
    return wb


def _sheet_name(name: str) -> str:
    return _SHEET_BAD.sub("_", name)[:31]


def _header(ws: Worksheet, titles: Sequence[tuple[str, int]]) -> None:
    for col, (title, width) in enumerate(titles, start=1):
        cell = ws.cell(row=1, column=col, value=title)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[1].height = 36


def _finding_text(f: m.Finding, campaign: Campaign) -> str:
    rule = rule_for(f.code)
    reason = rule.texts(campaign)[0] if rule else f.code
    who = AUDIENCE_LABELS[audience_of(f.code, f.severity)]
    return f"[{who}] {reason}" + (f"：{f.detail}" if f.detail else "")


def _case_sheet(
    ws: Worksheet,
    campaign: Campaign,
    cases: Sequence[m.Case],
    criteria: Sequence[str],
    by_case: dict[int, list[m.Finding]],
) -> None:
    score_titles = [(criterion_title(i, text), 12) for i, text in enumerate(criteria, start=1)]
    tail = [("总分", 8), ("评审意见", 30)] if criteria else []
    columns = case_columns(campaign)
    added = extra_fields(campaign)
    status_col = [t for t, _ in columns].index("状态") + 1
    _header(ws, [*columns, *score_titles, *tail])
    first_score = len(columns) + 1
    for offset, text in enumerate(criteria):
        cell = ws.cell(row=1, column=first_score + offset)
        cell.comment = Comment(text, "评审参考标准", width=320, height=140)
        cell.fill = SCORE_FILL
    for row, c in enumerate(cases, start=2):
        photos = [f for f in c.files if f.role == "photo"]
        videos = [f for f in c.files if f.role == "video"]
        fields = dict(c.fields or {})
        lengths = "，".join(clock(v.duration_s, "?") for v in videos)
        values: list[Any] = [
            row - 1,
            c.unit.name if c.unit else "（未识别）",
            c.order,
            c.name or c.key,
            c.applicant or fields.get("申报单位"),
            c.contact,
            c.mobile,
            c.address,
            *(fields.get(key) for key in added),
            c.intro or fields.get("案例简介"),
            c.intro_chars,
            len(photos),
            f"{len(videos)}（{lengths}）" if videos else 0,
            STATUS_LABELS.get(c.status, c.status),
            "\n".join(_finding_text(f, campaign) for f in by_case.get(c.id, [])),
        ]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=col, value=value)
            cell.alignment = WRAP
        ws.cell(row=row, column=status_col).fill = STATUS_FILLS.get(c.status, PatternFill())
        if criteria:
            for offset in range(len(criteria)):
                ws.cell(row=row, column=first_score + offset).fill = SCORE_FILL
            first = get_column_letter(first_score)
            last = get_column_letter(first_score + len(criteria) - 1)
            ws.cell(
                row=row, column=first_score + len(criteria), value=f"=SUM({first}{row}:{last}{row})"
            )
    if criteria and cases:
        # Scores are numbers; the call fixes no scale, so only refuse text and negatives.
        first = get_column_letter(first_score)
        last = get_column_letter(first_score + len(criteria) - 1)
        check = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
        check.error = "请输入不小于 0 的分数"
        check.errorTitle = "评分"
        check.add(f"{first}2:{last}{len(cases) + 1}")
        ws.add_data_validation(check)
    ws.freeze_panes = "E2"
    ws.auto_filter.ref = f"A1:{get_column_letter(ws.max_column)}{max(len(cases) + 1, 1)}"


def _summary_sheet(
    ws: Worksheet,
    campaign: Campaign,
    cases: Sequence[m.Case],
    messages: Sequence[m.Message],
    by_unit: dict[int, list[m.Finding]],
) -> None:
    keys = [c.key for c in campaign.categories]
    titles = [
        ("单位", 18),
        *[(c.label, 8) for c in campaign.categories],
        ("类别未识别", 10),
        ("合计", 8),
        ("齐全", 8),
        ("待补正", 8),
        ("来信", 8),
        ("最近来信", 18),
        ("单位层面问题", 50),
    ]
    _header(ws, titles)
    counts = Counter((c.unit.name if c.unit else None, c.category) for c in cases)
    letters: dict[str | None, list[m.Message]] = defaultdict(list)
    for msg in messages:
        if msg.kind == "submission":
            letters[msg.unit.name if msg.unit else None].append(msg)
    unit_ids = {msg.unit.name: msg.unit.id for msg in messages if msg.unit}
    unit_ids.update({c.unit.name: c.unit.id for c in cases if c.unit})
    names = [u.name for u in campaign.units] + sorted(
        set(unit_ids) - {u.name for u in campaign.units}
    )
    for row, name in enumerate(names, start=2):
        mine = [c for c in cases if c.unit and c.unit.name == name]
        per_cat = [counts.get((name, k), 0) for k in keys]
        latest = max(
            (msg.received_at or msg.created_at for msg in letters.get(name, [])), default=None
        )
        unit_findings = by_unit.get(unit_ids[name], []) if name in unit_ids else []
        values: list[Any] = [
            name,
            *per_cat,
            sum(1 for c in mine if c.category not in keys),
            len(mine),
            sum(c.status == "complete" for c in mine),
            sum(c.status == "deficient" for c in mine),
            len(letters.get(name, [])),
            local_time(latest, campaign.timezone, unknown=""),
            "\n".join(dict.fromkeys(_finding_text(f, campaign) for f in unit_findings)),
        ]
        for col, value in enumerate(values, start=1):
            ws.cell(row=row, column=col, value=value).alignment = WRAP
    total_row = len(names) + 2
    ws.cell(row=total_row, column=1, value="合计").font = Font(bold=True)
    for col in range(2, len(keys) + 7):
        letter = get_column_letter(col)
        cell = ws.cell(row=total_row, column=col, value=f"=SUM({letter}2:{letter}{total_row - 1})")
        cell.font = Font(bold=True)
    ws.freeze_panes = "B2"


def _criteria_sheet(ws: Worksheet, campaign: Campaign) -> None:
    _header(ws, [("类别", 8), ("序号", 6), ("评审参考标准", 100)])
    row = 2
    for category in campaign.categories:
        for i, text in enumerate(category.criteria, start=1):
            ws.cell(row=row, column=1, value=category.label)
            ws.cell(row=row, column=2, value=i)
            ws.cell(row=row, column=3, value=text).alignment = WRAP
            row += 1
