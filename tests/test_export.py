"""`intake export`: the expert workbook, the CSV, and the JSON shape SPEC.md fixes."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from campaign import Campaign
from intake.app import App
from intake.cli import main
from reports.export import CSV_COLUMNS, export_data, write_cases_csv
from reports.xlsx import build_workbook, criterion_title, write_xlsx
from samples.cases import case_zip, submission
from store import models as m
from tests.conftest import SHARED

CATEGORY_SHEETS = ["园区类", "企业类", "社区类", "个人类"]


def ingest_units(app: App) -> None:
    """北京 (park ×2 out of order, enterprise) and 天津 (park), plus a superseded version."""
    bj = submission(
        "北京市",
        [
            case_zip("北京市", "甲园区"),
            case_zip("北京市", "乙园区"),
            case_zip("北京市", "丙企业", category="enterprise", scan=False),
        ],
        message_id="<bj@x>",
    )
    tj = submission(
        "天津市",
        [case_zip("天津市", "丁园区")],
        message_id="<tj@x>",
        sender=("王", "w@tj.example"),
    )
    assert app.pipeline.ingest(bj) == "processed"
    assert app.pipeline.ingest(tj) == "processed"
    with app.sessions() as s, s.begin():
        cases = list(s.scalars(select(m.Case)))
        by_name = {
            name: next(c for c in cases if name in c.key)
            for name in ("甲园区", "乙园区", "丙企业", "丁园区")
        }
        # Recommendation order as a list would give it: 乙 before 甲.
        by_name["甲园区"].order, by_name["乙园区"].order = 2, 1
        by_name["甲园区"].category = by_name["乙园区"].category = "park"
        by_name["丁园区"].category = "park"
        by_name["丙企业"].category = "enterprise"
        old = by_name["甲园区"]
        s.add(
            m.Case(
                unit_id=old.unit_id,
                message_id=old.message_id,
                key="旧版",
                name="甲园区旧版",
                category="park",
                fields={},
                status="superseded",
                superseded_by_id=old.id,
            )
        )


# -- the campaign's review criteria -----------------------------------------------------------


def test_campaign_carries_the_review_criteria(campaign: Campaign) -> None:
    counts = {c.key: len(c.criteria) for c in campaign.categories}
    assert counts == {"park": 8, "enterprise": 7, "community": 8, "individual": 3}
    assert criterion_title(1, campaign.categories[0].criteria[0]) == "1. 园区基本情况"
    assert criterion_title(2, "绿色低碳发展工作机制建立和人员岗位配置情况。") == (
        "2. 绿色低碳发展工作机制建立和人员岗位配置情况"
    )


def test_criteria_are_the_call_notices_words(campaign: Campaign) -> None:
    notice = next(iter(sorted((SHARED / "call").glob("*.txt"))), None) if SHARED.is_dir() else None
    if notice is None:
        pytest.skip("../shared/call not present")
    text = notice.read_text(encoding="utf-8")
    section = text[text.index("四、评审参考标准") : text.index("五、")]
    for category in campaign.categories:
        for i, criterion in enumerate(category.criteria, start=1):
            assert re.search(rf"{i}\.{re.escape(criterion)}。?\n", section), criterion


# -- xlsx -----------------------------------------------------------------------------------------


def test_workbook_has_a_sheet_per_category_with_score_columns(app: App) -> None:
    ingest_units(app)
    with app.sessions() as s:
        wb = build_workbook(s, app.campaign)
    assert wb.sheetnames == ["汇总", *CATEGORY_SHEETS, "评审标准"]

    park = wb["园区类"]
    header = [c.value for c in park[1]]
    criteria = app.campaign.categories[0].criteria
    assert header[:4] == ["序号", "单位", "推荐顺序", "案例名称"]
    assert "状态" in header and "问题" in header and "案例简介" in header
    scores = header[header.index("问题") + 1 : header.index("问题") + 1 + len(criteria)]
    assert scores == [criterion_title(i, t) for i, t in enumerate(criteria, start=1)]
    assert header[-2:] == ["总分", "评审意见"]
    first_score = header.index(scores[0]) + 1
    comment = park.cell(row=1, column=first_score).comment
    assert comment is not None and comment.text == criteria[0]

    rows = [[c.value for c in row] for row in park.iter_rows(min_row=2)]
    # Unit order of the campaign (北京 before 天津), then the recommendation order.
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("北京市", 1, "乙园区"),
        ("北京市", 2, "甲园区"),
        ("天津市", None, "丁园区"),
    ]  # the superseded 甲园区旧版 is not for review
    total = rows[0][header.index("总分")]
    assert isinstance(total, str) and total.startswith("=SUM(")
    assert park.freeze_panes == "E2"
    assert park.data_validations.dataValidation  # scores must be numbers

    enterprise = [[c.value for c in row] for row in wb["企业类"].iter_rows(min_row=2)]
    [row] = enterprise
    ent_header = [c.value for c in wb["企业类"][1]]
    assert row[ent_header.index("状态")] == "待补正"
    assert "推荐表盖章扫描件" in row[ent_header.index("问题")] or "扫描件" in str(
        row[ent_header.index("问题")]
    )
    assert len(ent_header) == len(header) - 1  # 7 enterprise criteria against 8 for parks

    summary = {r[0].value: [c.value for c in r] for r in wb["汇总"].iter_rows(min_row=2)}
    sum_header = [c.value for c in wb["汇总"][1]]
    assert len([k for k in summary if k != "合计"]) == 32
    bj = summary["北京市"]
    assert bj[sum_header.index("园区")] == 2 and bj[sum_header.index("企业")] == 1
    assert bj[sum_header.index("合计")] == 3 and bj[sum_header.index("待补正")] == 1
    assert summary["河北省"][sum_header.index("合计")] == 0

    criteria_rows = list(wb["评审标准"].iter_rows(min_row=2, values_only=True))
    assert len(criteria_rows) == 8 + 7 + 8 + 3


def test_uncategorised_cases_get_their_own_sheet(sqlite_app: App) -> None:
    assert sqlite_app.pipeline.ingest(submission("北京市", message_id="<u@x>")) == "processed"
    with sqlite_app.sessions() as s, s.begin():
        for case in s.scalars(select(m.Case)):
            case.category = None
    with sqlite_app.sessions() as s:
        wb = build_workbook(s, sqlite_app.campaign)
    assert "类别未识别" in wb.sheetnames
    assert wb["类别未识别"].max_row == 2


def test_cli_xlsx_default_path_and_out(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_units(sqlite_app)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(sqlite_app.settings.data_dir))
    assert main(["export", "--format", "xlsx"]) == 0
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    default = sqlite_app.settings.reports / f"export-{today}.xlsx"
    assert default.is_file()
    assert str(default) in capsys.readouterr().out
    chosen = sqlite_app.settings.data_dir / "out" / "review.xlsx"
    assert main(["export", "--format", "xlsx", "--out", str(chosen)]) == 0
    assert load_workbook(chosen).sheetnames[1:5] == CATEGORY_SHEETS


def test_write_xlsx_on_both_databases(app: App, tmp_path: Path) -> None:
    ingest_units(app)
    with app.sessions() as s:
        path = write_xlsx(s, app.campaign, tmp_path / "x" / "review.xlsx")
    assert load_workbook(path)["园区类"].max_row == 4


# -- csv and json ---------------------------------------------------------------------------------


def test_csv_has_one_row_per_case_matching_the_json(sqlite_app: App) -> None:
    ingest_units(sqlite_app)
    with sqlite_app.sessions() as s:
        data = export_data(s, sqlite_app.campaign)
    buf = io.StringIO()
    assert write_cases_csv(data, buf) == len(data["cases"]) == 5
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_id = {int(r["id"]): r for r in rows}
    for case in data["cases"]:
        row = by_id[case["id"]]
        assert row["name"] == case["name"] and row["status"] == case["status"]
        assert row["unit"] == (case["unit"] or "")
        assert int(row["photos"]) == sum(f["role"] == "photo" for f in case["files"])
    deficient = next(r for r in rows if r["status"] == "deficient")
    assert "FORM_SCAN_MISSING" in deficient["error_codes"].split(";")


def test_cli_csv_to_stdout_and_file(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_units(sqlite_app)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(sqlite_app.settings.data_dir))
    assert main(["export", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("id,unit,category")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 5
    target = sqlite_app.settings.data_dir / "cases.csv"
    assert main(["export", "--format", "csv", "--out", str(target)]) == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,unit")  # a BOM, so Excel reads the Chinese right


def test_json_export_keeps_the_spec_shape(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_units(sqlite_app)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(sqlite_app.settings.data_dir))
    assert main(["export"]) == 0
    data = json.loads(capsys.readouterr().out)
    # Issue 14 added the audit trail, and an `id` on every row (the console's URLs use them).
    assert set(data) == {"campaign", "units", "messages", "cases", "replies", "audit"}
    assert set(data["units"][0]) == {"name", "cases", "findings"}
    assert set(data["messages"][0]) == {
        "id", "message_id", "from", "subject", "received_at", "unit", "kind", "state", "findings"
    }  # fmt: skip
    assert set(data["cases"][0]) == {
        "id", "unit", "category", "name", "applicant", "contact", "mobile", "address",
        "intro_chars", "order", "status", "message_id", "files", "findings",
    }  # fmt: skip
    assert set(data["cases"][0]["files"][0]) == {
        "id", "name", "role", "size", "sha256", "caption", "duration_s"
    }  # fmt: skip
