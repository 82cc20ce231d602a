"""Issue 10: `intake campaign check`, `intake selected import`, the warning while an ineligible
year has no selected cases, and a campaign that adds a form field (所在地区)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from campaign import BUNDLED_CAMPAIGN, EXAMPLE_CAMPAIGN, CampaignError, load_campaign
from intake.cli import main
from intake.status import collect, render
from reports.daily_cases import case_view
from reports.export import export_data
from reports.xlsx import build_workbook
from samples.cases import case_zip, submission
from samples.forms import make_form_docx
from store import models as m
from tests.conftest import make_app

GOOD = EXAMPLE_CAMPAIGN.read_text(encoding="utf-8")


def broken(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    assert old in GOOD, old
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace(old, new, count), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, ln in enumerate(path.read_text("utf-8").splitlines(), 1) if text in ln)


def check(path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> tuple[int, str]:
    import os

    os.environ["INTAKE_DATA_DIR"] = str(tmp_path / "var")
    try:
        status = main(["campaign", "check", str(path)])
    finally:
        del os.environ["INTAKE_DATA_DIR"]
    out = capsys.readouterr()
    return status, out.out + out.err


@pytest.mark.parametrize("path", [BUNDLED_CAMPAIGN, EXAMPLE_CAMPAIGN], ids=["2023", "example"])
def test_bundled_campaigns_pass(
    path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out = check(path, capsys, tmp_path)
    assert status == 0 and "ok" in out


def test_missing_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, 'deadline = "2023-12-28T17:00:00+08:00"\n', "")
    status, out = check(path, capsys, tmp_path)
    assert status == 2 and "deadline: missing" in out


def test_category_without_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, 'label = "企业"', 'name = "企业"')
    status, out = check(path, capsys, tmp_path)
    header = [
        n for n, ln in enumerate(path.read_text("utf-8").splitlines(), 1) if ln == "[[categories]]"
    ][1]
    assert status == 2
    assert f"line {header}: categories[1].label: category 2 has no label" in out


def test_category_without_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, 'key = "community"\n', "")
    status, out = check(path, capsys, tmp_path)
    assert status == 2 and "categories[2].key: category 3 has no key" in out


def test_inconsistent_limits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, "photos_min = 3", "photos_min = 8")
    status, out = check(path, capsys, tmp_path)
    line = line_of(path, "photos_min = 8")
    assert status == 2
    assert f"line {line}: limits.photos_min: photos_min = 8 is more than photos_max = 6" in out


def test_negative_and_unknown_limits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, "videos_max = 2", "videos_max = -1\nvideo_count = 2")
    status, out = check(path, capsys, tmp_path)
    assert status == 2 and "limits.videos_max: must be a number of 0 or more" in out
    assert "limits.video_count: unknown key" in out


def test_unit_alias_shared_by_two_units(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, 'aliases = ["新疆兵团", "兵团"]', 'aliases = ["新疆", "兵团"]')
    status, out = check(path, capsys, tmp_path)
    line = line_of(path, 'aliases = ["新疆", "兵团"]')
    assert status == 2
    assert (
        f"line {line}: units[31].aliases: '新疆' names both 新疆维吾尔自治区 and 新疆生产建设兵团"
        in out
    )


def test_not_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, "[limits]", "[limits")
    status, out = check(path, capsys, tmp_path)
    assert status == 2 and "cannot read campaign file" in out


def test_every_command_refuses_an_invalid_campaign_with_the_same_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = broken(tmp_path, "photos_min = 3", "photos_min = 8")
    _, checked = check(path, capsys, tmp_path)
    problem = checked.splitlines()[0].split(":", 1)[1]  # `line N: limits.photos_min: …`
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("INTAKE_CAMPAIGN", str(path))
    for command in (["status"], ["run"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert problem in err and len(err.strip().splitlines()) == 1
    with pytest.raises(CampaignError, match="limits.photos_min"):
        load_campaign(path)


# -- earlier selected cases ----------------------------------------------------------------------


def write_xlsx_list(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["2022年绿色低碳典型案例入选名单"])  # a title row above the header
    ws.append(["序号", "年份", "推荐单位", "案例名称", "申报单位"])
    ws.append([1, 2022, "浙江省", "社区垃圾分类与低碳生活实践", "杭州市某某社区居民委员会"])
    ws.append([2, "2021年", "北京市", "城市副中心绿色低碳示范园区", "北京城市副中心管理委员会"])
    ws.append([3, None, "江苏省", "无年份的案例", ""])
    wb.save(path)


def test_selected_import_then_previously_selected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    app = make_app(tmp_path)
    # Nothing to compare against: quiet, and staff are warned.
    app.pipeline.ingest(
        submission("浙江省", zips=[case_zip("浙江省", "社区垃圾分类与低碳生活实践")])
    )
    with app.sessions() as s:
        assert not s.scalars(select(m.Finding).where(m.Finding.code == "PREVIOUSLY_SELECTED")).all()
    assert "no selected cases of 2021, 2022 on record" in render(collect(app), "Asia/Shanghai")
    app.engine.dispose()

    listing = tmp_path / "入选名单.xlsx"
    write_xlsx_list(listing)
    assert main(["selected", "import", str(listing)]) == 0
    out = capsys.readouterr().out
    assert "read 2 case(s) (1 of 2021, 1 of 2022), skipped 1 row(s)" in out
    assert "skipped row 5: no 年份" in out
    stored = list(csv.DictReader(io.StringIO(app.settings.selected_file.read_text("utf-8"))))
    assert [r["name"] for r in stored] == [
        "社区垃圾分类与低碳生活实践",
        "城市副中心绿色低碳示范园区",
    ]

    again = make_app(tmp_path)
    assert again.campaign.unchecked_years == ()
    assert "no selected cases" not in render(collect(again), "Asia/Shanghai")
    assert again.pipeline.retriage() >= 1
    with again.sessions() as s:
        details = [
            f.detail
            for f in s.scalars(select(m.Finding).where(m.Finding.code == "PREVIOUSLY_SELECTED"))
        ]
    assert details and "2022年 浙江省" in details[0]
    again.engine.dispose()


def test_selected_import_csv_without_header_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    bad = tmp_path / "list.csv"
    bad.write_text("a,b,c\n1,2,3\n", encoding="gb18030")
    assert main(["selected", "import", str(bad)]) == 2
    assert "no header row" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text("年份,推荐单位,案例名称,申报单位\n2021,北京市,某园区,\n", encoding="gb18030")
    assert main(["selected", "import", str(good)]) == 0
    assert "read 1 case(s)" in capsys.readouterr().out


def test_daily_report_warns_while_a_year_has_no_rows(tmp_path: Path) -> None:
    from datetime import date

    from intake.daily_job import write_daily_report

    app = make_app(tmp_path)
    index = write_daily_report(app, date(2023, 12, 20))
    assert "尚未导入 2021、2022 年入选案例名单" in index.read_text("utf-8")
    app.engine.dispose()


# -- a field the campaign's form adds ------------------------------------------------------------


def form_with_region() -> bytes:
    doc = Document(io.BytesIO(make_form_docx(category="park")))
    row = doc.tables[0].add_row()
    row.cells[0].text = "所在地区"
    row.cells[1].text = "杭州市西湖区"
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_a_field_the_campaign_adds_is_read_exported_and_shown(tmp_path: Path) -> None:
    app = make_app(tmp_path, campaign=str(EXAMPLE_CAMPAIGN))
    app.pipeline.ingest(
        submission("浙江省", zips=[case_zip("浙江省", "西湖园区", form=form_with_region())])
    )
    campaign = app.campaign
    with app.sessions() as s:
        case = s.scalars(select(m.Case)).one()
        assert (case.fields or {}).get("所在地区") == "杭州市西湖区"
        exported = json.loads(json.dumps(export_data(s, campaign), default=str))
        assert exported["cases"][0]["extra_fields"] == {"所在地区": "杭州市西湖区"}
        wb = build_workbook(s, campaign)
        page = case_view(case, campaign, [], {}, lambda t: "")
    ws = wb["园区类"]
    header = [c.value for c in ws[1]]
    assert "所在地区" in header and "申报单位" in header and "申报单位（个人）" not in header
    assert ws.cell(row=2, column=header.index("所在地区") + 1).value == "杭州市西湖区"
    assert ("所在地区", "杭州市西湖区") in page.form_rows
    assert ("申报单位", case.applicant) in page.form_rows
    app.engine.dispose()
    # Under 2023 the JSON export keeps its shape.
    app23 = make_app(tmp_path / "y")
    with app23.sessions() as s:
        assert "extra_fields" not in json.dumps(export_data(s, app23.campaign))
    app23.engine.dispose()
    assert load_workbook  # the xlsx above was built in memory
