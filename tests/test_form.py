"""parsers.form on generated forms: every way of ticking, before and after a real .doc round trip."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from intake.word import convert_to_docx
from parsers.form import (
    FormUnreadable,
    count_chars_like_word,
    match_label,
    normalise_label,
    read_form,
    ticked_categories,
)
from samples.forms import (
    CATEGORY_LABELS,
    DEFAULT_FIELDS,
    DEFAULT_INTRO,
    INTRO_HINT,
    TICK_STYLES,
    make_form_docx,
)
from samples.word97 import make_form_docs, soffice_path

LABELS = CATEGORY_LABELS
OFFICIAL_FORM = (
    Path(__file__).resolve().parents[2] / "shared" / "forms" / "2023年绿色低碳典型案例推荐表.docx"
)
needs_soffice = pytest.mark.skipif(soffice_path() is None, reason="LibreOffice not installed")


def _expected(style: str) -> list[str]:
    if style == "none":
        return []
    if style == "multiple":
        return ["enterprise", "community"]
    return ["enterprise"]


# Every variant that goes through the .doc round trip, built once per session.
ROUND_TRIP: dict[str, dict[str, object]] = {
    **{style: {"tick": style, "category": "enterprise"} for style in TICK_STYLES},
    "typed-√-after": {"tick": "typed-√", "category": "individual", "tick_after": True},
    "sym-wingdings2-after": {"tick": "sym-wingdings2", "category": "park", "tick_after": True},
    "hint-only": {"intro": "", "hint_left": True},
    "hint-and-intro": {"hint_left": True},
    "extra-rows": {"extra_rows": True, "label_spacing": False},
}


@pytest.fixture(scope="session")
def round_trip() -> dict[str, tuple[bytes, bytes]]:
    """variant → (.docx as built, the same after docx → real .doc → docx through LibreOffice)."""
    if soffice_path() is None:
        pytest.skip("LibreOffice not installed")
    names = list(ROUND_TRIP)
    built = [make_form_docx(**ROUND_TRIP[n]) for n in names]  # type: ignore[arg-type]
    docs = make_form_docs(built)
    back = convert_to_docx([(f"{n}.doc", d) for n, d in zip(names, docs, strict=True)])
    assert all(r.ok for r in back), [r.error for r in back]
    return {n: (b, r.docx or b"") for n, b, r in zip(names, built, back, strict=True)}


def _read(data: bytes) -> object:
    return read_form(data, LABELS)


# -- ticks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", TICK_STYLES)
def test_tick_style_docx(style: str) -> None:
    form = read_form(make_form_docx(tick=style, category="enterprise"), LABELS)
    assert form.categories == _expected(style)


@needs_soffice
@pytest.mark.parametrize("style", TICK_STYLES)
def test_tick_style_after_doc_round_trip(
    style: str, round_trip: dict[str, tuple[bytes, bytes]]
) -> None:
    form = read_form(round_trip[style][1], LABELS)
    assert form.categories == _expected(style)
    assert form.fields["案例名称"] == DEFAULT_FIELDS["案例名称"]


@needs_soffice
@pytest.mark.parametrize(
    ("variant", "expected"),
    [("typed-√-after", ["individual"]), ("sym-wingdings2-after", ["park"])],
)
def test_tick_after_label(
    variant: str, expected: list[str], round_trip: dict[str, tuple[bytes, bytes]]
) -> None:
    built, back = round_trip[variant]
    assert read_form(built, LABELS).categories == expected
    assert read_form(back, LABELS).categories == expected


def _category_cell_xml(docx: bytes) -> str:
    xml = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode()
    cells = re.findall(r"<w:tc>.*?</w:tc>", xml, flags=re.S)
    index = next(i for i, c in enumerate(cells) if "类别" in c)
    return cells[index + 1]


@needs_soffice
def test_round_trip_turns_sym_into_private_use_chars_in_wingdings_run(
    round_trip: dict[str, tuple[bytes, bytes]],
) -> None:
    built, back = round_trip["sym-wingdings2"]
    assert "<w:sym" in _category_cell_xml(built)
    cell = _category_cell_xml(back)
    assert "<w:sym" not in cell
    assert re.search(r'w:ascii="Wingdings 2"[^>]*/>.*?<w:t>\uf052</w:t>', cell, flags=re.S)
    assert "\uf0a3" in cell


@needs_soffice
def test_round_trip_turns_content_controls_into_plain_boxes(
    round_trip: dict[str, tuple[bytes, bytes]],
) -> None:
    built, back = round_trip["content-control"]
    assert "w14:checkbox" in _category_cell_xml(built)
    cell = _category_cell_xml(back)
    assert "w14:checkbox" not in cell and "<w:sdt" not in cell
    assert cell.count("☒") == 1 and cell.count("☐") == 3


@needs_soffice
def test_round_trip_keeps_legacy_checkboxes(round_trip: dict[str, tuple[bytes, bytes]]) -> None:
    # LibreOffice writes the state as <w:checked/>, also for a box ticked only by its default.
    for variant in ("legacy-checkbox", "legacy-checkbox-default"):
        cell = _category_cell_xml(round_trip[variant][1])
        assert cell.count("FORMCHECKBOX") == 4
        assert cell.count("<w:checked/>") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("√园区        企业        社区        个人", ["park"]),
        ("园区√        企业        社区        个人", ["park"]),
        ("园区        企业        社区        个人√", ["individual"]),
        ("园区 √ 企业", ["enterprise"]),  # a tie: the label after the mark
        ("园区 √企业", ["enterprise"]),
        ("园区√ 企业", ["park"]),
        ("☐园区☑企业☐社区☐个人", ["enterprise"]),  # boxes before labels, no spaces
        ("园区☐企业☑社区☐个人☐", ["enterprise"]),  # boxes after labels
        ("园区（ ）企业（√）社区（ ）个人（ ）", ["enterprise"]),
        ("园区 企业（√）社区 个人", ["enterprise"]),
        ("（ ）园区（√）企业（ ）社区（ ）个人", ["enterprise"]),
        ("园 区  ✔", ["park"]),
        ("■企业 □园区", ["enterprise"]),
        ("园区 ×企业 √社区 个人", ["community"]),  # × is not a tick
        ("园区        企业        社区        个人", []),
        ("☐园区 ☐企业 ☐社区 ☐个人", []),
        ("√", []),
        ("社区", ["community"]),  # the others deleted
        ("企业  个人", ["enterprise", "individual"]),
        ("√园区 √企业", ["park", "enterprise"]),
        ("个人√ 园区", ["individual"]),
        ("（在所属类别打√）园区 企业 社区 个人", []),  # the instruction's √ is no tick
    ],
)
def test_tick_attribution(text: str, expected: list[str]) -> None:
    assert ticked_categories(text, LABELS) == expected


def test_categories_in_form_order() -> None:
    assert ticked_categories("☑个人 ☐园区 ☑企业", LABELS) == ["individual", "enterprise"]


def test_unmarked_and_multiple() -> None:
    assert read_form(make_form_docx(tick="none"), LABELS).categories == []
    form = read_form(make_form_docx(tick="multiple", category="community"), LABELS)
    assert form.categories == ["community", "individual"]
    form = read_form(make_form_docx(tick="typed-☑", category=["park", "individual"]), LABELS)
    assert form.categories == ["park", "individual"]


def test_wingdings_font_letters_typed_directly() -> None:
    # "R" in a Wingdings 2 run is ☑, "£" is ☐; in any other font they are just letters.
    form = read_form(make_form_docx(tick="font-wingdings2", category="community"), LABELS)
    assert form.categories == ["community"]
    assert form.fields["类别"].count("☑") == 1


def _with_category_xml(runs_xml: str) -> bytes:
    """The default form with the category cell's paragraph replaced by `runs_xml`."""
    doc = Document(io.BytesIO(make_form_docx(tick="none")))
    p = doc.tables[0].rows[2].cells[1].paragraphs[0]._p
    for child in list(p):
        p.remove(child)
    for run in parse_xml(f"<w:p {nsdecls('w')}>{runs_xml}</w:p>"):
        p.append(run)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        # Insert > Symbol from the Symbol font: √ is F0D6.
        ('<w:r><w:t>园区</w:t></w:r><w:r><w:sym w:font="Symbol" w:char="F0D6"/></w:r>'
         "<w:r><w:t>  企业  社区  个人</w:t></w:r>", ["park"]),
        # WPS writes the code without the F0 prefix.
        ('<w:r><w:t>园区 </w:t></w:r><w:r><w:sym w:font="Wingdings 2" w:char="0052"/></w:r>'
         "<w:r><w:t>企业 社区 个人</w:t></w:r>", ["enterprise"]),
        # A Unicode font's symbol is just its character.
        ('<w:r><w:sym w:font="Segoe UI Symbol" w:char="2611"/></w:r><w:r><w:t>社区</w:t></w:r>'
         "<w:r><w:t> 园区 企业 个人</w:t></w:r>", ["community"]),
        # Private-use characters with no symbol font at all.
        ("<w:r><w:t>园区 企业 社区 \uf052个人</w:t></w:r>", ["individual"]),
        # A Wingdings 2 run hinted East Asian: the eastAsia font draws the £ / R.
        ('<w:r><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" '
         'w:eastAsia="Wingdings 2" w:hint="eastAsia"/></w:rPr><w:t>£</w:t></w:r>'
         '<w:r><w:t>园区 </w:t></w:r><w:r><w:rPr><w:rFonts w:ascii="Wingdings 2" '
         'w:hAnsi="Wingdings 2"/></w:rPr><w:t>R</w:t></w:r><w:r><w:t>企业 社区 个人</w:t></w:r>',
         ["enterprise"]),
        # "R" in an ordinary font is a letter, not a tick.
        ("<w:r><w:t>R园区 企业 社区 个人</w:t></w:r>", []),
        # Legacy check box ticked only by its default, as Word writes it.
        ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox><w:sizeAuto/>'
         '<w:default w:val="1"/></w:checkBox></w:ffData></w:fldChar></w:r>'
         '<w:r><w:instrText> FORMCHECKBOX </w:instrText></w:r>'
         '<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>个人 园区</w:t></w:r>',
         ["individual"]),
        # ... and one whose default is ticked but the user cleared it.
        ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox><w:sizeAuto/>'
         '<w:default w:val="1"/><w:checked w:val="0"/></w:checkBox></w:ffData></w:fldChar>'
         '</w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>个人 园区</w:t></w:r>',
         []),
    ],
)  # fmt: skip
def test_tick_xml_variants(runs: str, expected: list[str]) -> None:
    assert read_form(_with_category_xml(runs), LABELS).categories == expected


def test_tick_from_character_style_font() -> None:
    doc = Document(io.BytesIO(make_form_docx(tick="none")))
    style = doc.styles.add_style("TickBox", WD_STYLE_TYPE.CHARACTER)
    style.font.name = "Wingdings 2"
    p = doc.tables[0].rows[2].cells[1].paragraphs[0]
    p.text = ""
    p.add_run("园区 ")
    p.add_run("R", style="TickBox")
    p.add_run("企业 社区 个人")
    buf = io.BytesIO()
    doc.save(buf)
    assert read_form(buf.getvalue(), LABELS).categories == ["enterprise"]


# -- fields ------------------------------------------------------------------------------------


def test_all_fields_read_once_despite_merged_cells() -> None:
    form = read_form(make_form_docx(), LABELS)
    for key in ("案例名称", "申报单位", "联系人", "手机", "地址"):
        assert form.fields[key] == DEFAULT_FIELDS[key].strip()
    assert form.fields["案例简介"] == DEFAULT_INTRO
    assert form.fields["推荐单位意见"] == "同意推荐。"
    assert form.hints_left == []


def test_values_trimmed_and_kept_as_written() -> None:
    form = read_form(
        make_form_docx(
            fields={"案例名称": "  “零碳”园区（一期）\u3000", "手机": " １３８ 1234 5678 "}
        ),
        LABELS,
    )
    assert form.fields["案例名称"] == "“零碳”园区（一期）"
    assert form.fields["手机"] == "１３８ 1234 5678"


def test_empty_fields_present_but_empty() -> None:
    form = read_form(make_form_docx(fields={"地址": "", "联系人": ""}), LABELS)
    assert form.fields["地址"] == "" and form.fields["联系人"] == ""
    assert form.fields["手机"] == DEFAULT_FIELDS["手机"]


@pytest.mark.parametrize(
    "labels",
    [
        {"申报单位": "申报单位(个人)", "联系人": "联系人：", "手机": "手 机:"},
        {"申报单位": "申 报 单 位 （ 个 人 ）：", "地址": "地　　址", "案例名称": "案例名称:"},
        {"申报单位": "申报单位【个人】", "类别": "类别(在所属类别打√):", "案例简介": "案例简介："},
        {"手机": "手机号码", "地址": "通讯地址", "申报单位": "申报单位"},
    ],
)
def test_label_variants(labels: Mapping[str, str]) -> None:
    form = read_form(make_form_docx(labels=labels, tick="typed-☑", category="park"), LABELS)
    for key in ("案例名称", "申报单位", "联系人", "手机", "地址"):
        assert form.fields[key] == DEFAULT_FIELDS[key], key
    assert form.fields["案例简介"] == DEFAULT_INTRO
    assert form.categories == ["park"]


def test_label_normalisation() -> None:
    assert normalise_label("联 系 人：") == "联系人"
    assert normalise_label("申报单位（个人）") == normalise_label("申报单位(个人)")
    assert match_label("手    机") == ("手机", "", False)
    assert match_label("推荐单位意见：同意") == ("推荐单位意见", "同意", False)
    assert match_label("案例名称 零碳园区") == ("案例名称", "零碳园区", False)
    # A value that merely starts like a label is not one.
    assert match_label("手机支付推广项目") is None
    assert match_label("地址不详") is None
    assert match_label("联系电话") == ("手机", "", True)


def test_fallback_phone_label() -> None:
    form = read_form(make_form_docx(labels={"手机": "联系电话"}), LABELS)
    assert form.fields["手机"] == DEFAULT_FIELDS["手机"]


def test_value_looking_like_a_label_stays_a_value() -> None:
    form = read_form(make_form_docx(fields={"案例名称": "手机支付低碳出行推广"}), LABELS)
    assert form.fields["案例名称"] == "手机支付低碳出行推广"
    assert form.fields["手机"] == DEFAULT_FIELDS["手机"]


def test_extra_rows_and_paragraphs_tolerated() -> None:
    form = read_form(make_form_docx(extra_rows=True, category="individual"), LABELS)
    assert form.fields["案例名称"] == DEFAULT_FIELDS["案例名称"]
    assert form.fields["联系人"] == DEFAULT_FIELDS["联系人"]
    assert form.categories == ["individual"]
    assert "序号" not in form.fields


def test_missing_label_leaves_field_out() -> None:
    form = read_form(make_form_docx(labels={"地址": "备注"}), LABELS)
    assert "地址" not in form.fields
    assert form.fields["手机"] == DEFAULT_FIELDS["手机"]


def test_vertically_merged_cells_and_split_intro() -> None:
    """案例简介's label spans two rows; the intro goes on in the second row's value cell."""
    doc = Document(io.BytesIO(make_form_docx()))
    table = doc.tables[0]
    intro_row = next(i for i, r in enumerate(table.rows) if r.cells[0].text == "案例简介")
    new_tr = table.rows[intro_row]._tr.__copy__()
    table.rows[intro_row]._tr.addnext(new_tr)
    second = table.rows[intro_row + 1].cells[1]
    for p in second.paragraphs[1:]:
        p._p.getparent().remove(p._p)
    second.paragraphs[0].text = "第二部分：成效显著。"
    table.rows[intro_row + 1].cells[0].paragraphs[0].text = ""
    table.cell(intro_row, 0).merge(table.cell(intro_row + 1, 0))
    # A vertically merged value cell repeats in both rows; it must count once.
    table.cell(0, 1).merge(table.cell(1, 1))
    buf = io.BytesIO()
    doc.save(buf)
    form = read_form(buf.getvalue(), LABELS)
    assert form.fields["案例简介"] == DEFAULT_INTRO + "\n第二部分：成效显著。"
    assert form.fields["案例名称"].count(DEFAULT_FIELDS["案例名称"]) == 1


def test_paragraph_form() -> None:
    data = make_form_docx(layout="paragraphs", tick="typed-☑", category="community")
    form = read_form(data, LABELS)
    for key in ("案例名称", "申报单位", "联系人", "手机", "地址"):
        assert form.fields[key] == DEFAULT_FIELDS[key]
    assert form.fields["案例简介"] == DEFAULT_INTRO
    assert form.categories == ["community"]
    assert form.fields["推荐单位意见"] == "同意推荐。"


# -- hints -------------------------------------------------------------------------------------


def test_hint_left_alone_counts_as_empty() -> None:
    form = read_form(make_form_docx(intro="", hint_left=True), LABELS)
    assert form.fields["案例简介"] == ""
    assert "案例简介" in form.hints_left


def test_hint_left_before_intro_is_stripped() -> None:
    form = read_form(make_form_docx(hint_left=True), LABELS)
    assert form.fields["案例简介"] == DEFAULT_INTRO
    assert "案例简介" not in form.hints_left


def test_hint_variants() -> None:
    half_width = INTRO_HINT.replace("（", "(").replace("）", ")")
    for intro_cell in (
        half_width,
        INTRO_HINT + DEFAULT_INTRO,  # typed straight after the hint, same paragraph
        DEFAULT_INTRO + "\n" + INTRO_HINT,
        INTRO_HINT[1:-1],  # without its brackets
        "请简要介绍案例背景和案例目标，执行情况、实施过程",  # a piece of it, on its own
    ):
        form = read_form(make_form_docx(intro=intro_cell), LABELS)
        value = form.fields["案例简介"]
        assert "请简要介绍" not in value, intro_cell
        assert value in ("", DEFAULT_INTRO)


def test_opinion_skeleton_only_is_a_hint() -> None:
    form = read_form(make_form_docx(fields={"推荐单位意见": ""}), LABELS)
    assert form.fields["推荐单位意见"] == ""
    assert form.hints_left == ["推荐单位意见"]


def test_opinion_with_date_filled_keeps_date() -> None:
    doc = Document(io.BytesIO(make_form_docx()))
    cell = doc.tables[0].rows[-1].cells[0]
    cell.paragraphs[-1].text = "2023年12月20日"
    buf = io.BytesIO()
    doc.save(buf)
    form = read_form(buf.getvalue(), LABELS)
    assert form.fields["推荐单位意见"] == "同意推荐。\n2023年12月20日"


@pytest.mark.skipif(not OFFICIAL_FORM.exists(), reason="../shared is not checked out")
def test_official_blank_form() -> None:
    form = read_form(OFFICIAL_FORM.read_bytes(), LABELS)
    assert set(form.fields) == {
        "案例名称", "申报单位", "类别", "联系人", "手机", "地址", "案例简介", "推荐单位意见",
    }  # fmt: skip
    assert all(form.fields[k] == "" for k in form.fields if k != "类别")
    assert form.categories == []
    assert form.hints_left == ["案例简介", "推荐单位意见"]


@needs_soffice
def test_hints_and_extra_rows_after_round_trip(round_trip: dict[str, tuple[bytes, bytes]]) -> None:
    only = read_form(round_trip["hint-only"][1], LABELS)
    assert only.fields["案例简介"] == "" and "案例简介" in only.hints_left
    both = read_form(round_trip["hint-and-intro"][1], LABELS)
    assert both.fields["案例简介"] == DEFAULT_INTRO and both.hints_left == []
    extra = read_form(round_trip["extra-rows"][1], LABELS)
    assert extra.fields["联系人"] == DEFAULT_FIELDS["联系人"]
    assert extra.categories == ["park"]


# -- unreadable --------------------------------------------------------------------------------


def _zip(members: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a word file at all",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,  # a .doc handed over unconverted
        pytest.param(make_form_docx()[:3000], id="truncated-docx"),
        pytest.param(_zip({"hello.txt": b"hi"}), id="zip-not-word"),
        pytest.param(
            _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document"}),
            id="broken-xml",
        ),
    ],
)
def test_corrupt_docx_is_unreadable(data: bytes) -> None:
    with pytest.raises(FormUnreadable):
        read_form(data, LABELS)


def test_macro_enabled_document_is_read() -> None:
    src = zipfile.ZipFile(io.BytesIO(make_form_docx(category="community")))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"wordprocessingml.document.main+xml",
                    b"XX",
                ).replace(
                    b"application/vnd.openxmlformats-officedocument.XX",
                    b"application/vnd.ms-word.document.macroEnabled.main+xml",
                )
            dst.writestr(info, data)
    assert b"macroEnabled" in zipfile.ZipFile(buf).read("[Content_Types].xml")
    assert read_form(buf.getvalue(), LABELS).categories == ["community"]


def test_tracked_deletions_are_not_text() -> None:
    doc = Document(io.BytesIO(make_form_docx(tick="none")))
    cell = doc.tables[0].rows[2].cells[1]
    deleted = parse_xml(
        f'<w:del {nsdecls("w")} w:id="9" w:author="a" w:date="2023-12-01T00:00:00Z">'
        "<w:r><w:delText>√</w:delText></w:r></w:del>"
    )
    cell.paragraphs[0]._p.insert(1, deleted)
    buf = io.BytesIO()
    doc.save(buf)
    assert read_form(buf.getvalue(), LABELS).categories == []


# -- counting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("低碳发展", 4),
        ("低碳，发展。", 6),  # full-width punctuation counts
        ("2023年", 2),  # a number is one word
        ("CO2排放", 3),
        ("建成光伏12.5MW，年发电1300万千瓦时", 14),
        ("hello, world", 2),  # half-width punctuation belongs to its word
        ("a - b", 3),  # standing alone it is a word of its own
        ("“光伏+储能”", 7),
        ("低 碳\n发\u3000展", 4),  # whitespace never counts
        ("ＡＢＣ１２３", 6),  # full-width letters and digits are characters
        ("e-mail: zmzyz@ceec.cn", 2),
    ],
)
def test_count_chars_like_word(text: str, expected: int) -> None:
    assert count_chars_like_word(text) == expected


def test_count_the_intro_limit() -> None:
    assert count_chars_like_word("碳" * 2000) == 2000
    assert count_chars_like_word("碳" * 1999 + "CO2") == 2000
