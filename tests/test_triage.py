"""Every case and unit rule, triggered by the real file that causes it — and not by a good one."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from sqlalchemy import select

from campaign import SelectedCase, write_selected_csv
from intake.app import App
from samples.archives import make_zip
from samples.cases import case_files, case_zip, submission
from samples.forms import make_form_docx
from samples.photos import make_jpeg, truncated_jpeg
from samples.word97 import make_form_doc, soffice_path
from store import models as m
from tests.conftest import make_app
from tests.test_pipeline import cases, codes


def one_case(app: App, unit: str = "北京市", name: str = "光伏园区", **kw: Any) -> m.Case:
    app.pipeline.ingest(
        submission(unit, zips=[case_zip(unit, name, **kw)], message_id=f"<{name}@x>")
    )
    return cases(app)[-1]


def case_codes(app: App, case: m.Case) -> list[str]:
    with app.sessions() as s:
        return sorted(s.scalars(select(m.Finding.code).where(m.Finding.case_id == case.id)))


def test_a_good_case_triggers_no_case_rule(app: App) -> None:
    case = one_case(app)
    assert case_codes(app, case) == []
    assert codes(app, "message") == []  # subject, contact, materials, deadline all fine
    assert case.status == "complete"
    assert case.applicant == "北京市光伏园区管理有限公司"
    assert case.mobile and case.contact and case.address
    assert case.intro_chars and case.intro_chars > 10
    photos = [f for f in case.files if f.role == "photo"]
    assert [p.caption for p in photos] == ["现场实景1", "现场实景2", "现场实景3"]
    [video] = [f for f in case.files if f.role == "video"]
    assert video.duration_s == pytest.approx(5, abs=0.5)
    assert video.probe["video_codec"] == "h264"


@pytest.mark.parametrize(
    ("kw", "code", "detail"),
    [
        ({"fields": {"联系人": ""}}, "FIELD_MISSING", "联系人"),
        ({"fields": {"手机": "010-84665633"}}, "MOBILE_INVALID", "010-84665633"),
        ({"form": make_form_docx(tick="none")}, "CATEGORY_UNMARKED", "类别栏未勾选任何类别"),
        (
            {"form": make_form_docx(category=["park", "enterprise"])},
            "CATEGORY_MULTIPLE",
            "园区、企业",
        ),
        ({"form": make_form_docx(intro="低碳" * 1001)}, "INTRO_TOO_LONG", "2002 字"),
        (
            {"form": b"PK\x03\x04 this is not a docx"},
            "FORM_UNREADABLE",
            "推荐表无法读取：not a .docx file (no zip container)",
        ),
        ({"photos": 6}, "PHOTO_COUNT", "6 张"),
        ({"videos": 4}, "VIDEO_COUNT", "4 个"),
        ({"video_seconds": 200}, "VIDEO_TOO_LONG", "3:20"),
        ({"scan": False}, "FORM_SCAN_MISSING", "案例文件夹中没有推荐表盖章扫描件（PDF 或图片）"),
    ],
)
def test_case_rule_fires(sqlite_app: App, kw: dict[str, Any], code: str, detail: str) -> None:
    case = one_case(sqlite_app, **kw)
    with sqlite_app.sessions() as s:
        found = s.scalars(select(m.Finding).where(m.Finding.case_id == case.id)).all()
    hits = [f for f in found if f.code == code]
    assert hits, [f.code for f in found]
    assert detail  # an empty expected detail would be "in" any detail and prove nothing
    assert detail in hits[0].detail
    assert case.status == ("complete" if code == "MOBILE_INVALID" else "deficient")


def test_photo_rules(sqlite_app: App) -> None:
    entries = case_files("湖北省", "江豚保护", photos=2)
    entries["湖北省江豚保护推荐材料/湖北省江豚保护照片3（大图）.jpg"] = make_jpeg(
        size_bytes=5 * 1024 * 1024 + 1
    )
    entries["湖北省江豚保护推荐材料/湖北省江豚保护照片4.jpg"] = make_jpeg(100, 80)
    entries["湖北省江豚保护推荐材料/湖北省江豚保护照片5（坏图）.jpg"] = truncated_jpeg()
    entries["湖北省江豚保护推荐材料/湖北省江豚保护视频2.mp4"] = b"\x00\x00\x00\x18ftypmp42 garbage"
    sqlite_app.pipeline.ingest(
        submission("湖北省", zips=[("湖北省江豚保护推荐材料.zip", make_zip(entries))])
    )
    [case] = cases(sqlite_app)
    got = case_codes(sqlite_app, case)
    assert {
        "PHOTO_TOO_LARGE",
        "PHOTO_CAPTION_MISSING",
        "PHOTO_UNREADABLE",
        "VIDEO_UNREADABLE",
    } <= set(got)
    assert "PHOTO_COUNT" not in got  # five photos, all counted


def test_captions_from_a_caption_file(sqlite_app: App) -> None:
    entries = {f"湖南省湘江推荐材料/湖南省湘江照片{i}.jpg": make_jpeg(120, 90) for i in (1, 2, 3)}
    entries.update(
        {
            k: v
            for k, v in case_files("湖南省", "湘江", photos=0, folder="湖南省湘江推荐材料").items()
        }
    )
    entries["湖南省湘江推荐材料/照片说明.txt"] = "1. 湘江岸线\n2. 光伏屋顶\n3. 社区活动\n".encode(
        "gbk"
    )
    sqlite_app.pipeline.ingest(
        submission("湖南省", zips=[("湖南省湘江推荐材料.zip", make_zip(entries))])
    )
    [case] = cases(sqlite_app)
    caps = sorted(f.caption or "" for f in case.files if f.role == "photo")
    assert caps == ["光伏屋顶", "湘江岸线", "社区活动"]
    assert "PHOTO_CAPTION_MISSING" not in case_codes(sqlite_app, case)


@pytest.mark.skipif(soffice_path() is None, reason="LibreOffice absent")
def test_doc_form_is_converted_and_read(sqlite_app: App) -> None:
    doc = make_form_doc(
        fields={"案例名称": "旧格式表格", "申报单位": "某某公司"},
        tick="sym-wingdings2",
        category="enterprise",
    )
    case = one_case(
        sqlite_app, "广东省", "旧格式表格", form=doc, form_ext=".doc", category="enterprise"
    )
    assert case.category == "enterprise"
    assert case.applicant == "某某公司"
    assert case_codes(sqlite_app, case) == []


def test_converter_missing_goes_to_staff(tmp_path: Path) -> None:
    app = make_app(tmp_path, libreoffice="/nonexistent/soffice")
    doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000
    case = one_case(app, "广东省", "老表格", form=doc, form_ext=".doc")
    assert case_codes(app, case) == ["CONVERTER_UNAVAILABLE"]
    assert case.status == "complete"  # our problem never makes the unit's case deficient


def test_previously_selected(tmp_path: Path) -> None:
    # The office's list, as `intake selected import` stores it (the bundled list has no rows).
    rows = [SelectedCase(2022, "浙江省", "社区垃圾分类与低碳生活实践", "杭州市某某社区居民委员会")]
    write_selected_csv(tmp_path / "var" / "selected-cases.csv", rows)
    sqlite_app = make_app(tmp_path)
    case = one_case(
        sqlite_app,
        "浙江省",
        "社区垃圾分类与低碳生活实践",
        fields={"申报单位": "杭州市某某社区居民委员会"},
        category="community",
    )
    assert "PREVIOUSLY_SELECTED" in case_codes(sqlite_app, case)
    other = one_case(sqlite_app, "浙江省", "社区光伏共享计划", category="community")
    assert "PREVIOUSLY_SELECTED" not in case_codes(sqlite_app, other)
    sqlite_app.engine.dispose()


def candidate_list_docx(names: list[str]) -> bytes:
    doc = Document()
    table = doc.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ["推荐顺序", "案例名称", "类别"], strict=True):
        cell.text = text
    for i, name in enumerate(names, 1):
        row = table.add_row().cells
        row[0].text, row[1].text, row[2].text = str(i), name, "园区"
    doc.add_paragraph("")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_unit_rules_list_order_quota(app: App) -> None:
    app.pipeline.ingest(
        submission("江苏省", zips=[case_zip("江苏省", "甲园区")], message_id="<1@x>")
    )
    unit_codes = codes(app, "unit")
    assert {"LIST_MISSING", "ORDER_MISSING", "CATEGORY_QUOTA"} <= set(unit_codes)

    listing = ("江苏省推荐名单.docx", candidate_list_docx(["乙园区", "甲园区"]))
    app.pipeline.ingest(
        submission("江苏省", zips=[case_zip("江苏省", "乙园区"), listing], message_id="<2@x>")
    )
    # park now has 2, within quota; the three other categories have none
    assert codes(app, "unit") == ["CATEGORY_QUOTA"] * 3
    assert {c.name: c.order for c in cases(app)} == {"甲园区": 2, "乙园区": 1}


def test_resubmission_supersedes_and_retriage_matches_fresh_ingest(app: App) -> None:
    first = submission(
        "四川省", zips=[case_zip("四川省", "熊猫基地", scan=False)], message_id="<v1@x>"
    )
    second = submission(
        "四川省",
        zips=[case_zip("四川省", "熊猫基地")],
        message_id="<v2@x>",
        date="Tue, 05 Dec 2023 10:00:00 +0800",
    )
    app.pipeline.ingest(first)
    app.pipeline.ingest(second)
    old, new = cases(app)
    assert (old.status, old.superseded_by_id, old.version) == ("superseded", new.id, 1)
    assert (new.status, new.version) == ("complete", 2)

    def snapshot() -> list[tuple[object, ...]]:
        with app.sessions() as s:
            fs = s.scalars(select(m.Finding)).all()
            cs = s.scalars(select(m.Case)).all()
            return sorted((f.code, f.level, f.case_id, f.detail) for f in fs) + sorted(
                (c.id, c.status, c.version, c.order, c.category) for c in cs
            )

    before = snapshot()
    assert app.pipeline.retriage() == 2
    assert snapshot() == before


def test_retriage_applies_a_changed_campaign(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    one_case(app, "重庆市", "山城步道", video_seconds=100)
    assert "VIDEO_TOO_LONG" not in codes(app)
    strict = tmp_path / "strict.toml"
    text = (
        (app.settings.campaign)
        .read_text(encoding="utf-8")
        .replace("video_max_seconds = 180", "video_max_seconds = 60")
        .replace('previously_selected = "selected-2021-2022.csv"', "")
    )
    strict.write_text(text, encoding="utf-8")
    app2 = make_app(tmp_path, campaign=str(strict))
    app2.pipeline.retriage()
    assert "VIDEO_TOO_LONG" in codes(app2)
