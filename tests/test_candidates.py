"""parsers.candidates on candidate lists (推荐名单) built here as real .docx and .xlsx files."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

import pytest
from docx import Document
from docx.table import Table
from openpyxl import Workbook

from parsers.candidates import (
    CandidateEntry,
    CandidateList,
    ListProblem,
    chinese_numeral,
    order_from_name,
    parse_order_number,
    read_candidate_list,
    split_order_prefix,
)
from validators.rules.order_missing import LIST_PROBLEM_TEXT, list_problem_text

# The list's problems are typed; the names the assertions below were written with.
NOTE_DAMAGED = ListProblem.DAMAGED
NOTE_EMPTY_FILE = ListProblem.EMPTY_FILE
NOTE_NO_LIST = ListProblem.NO_LIST
NOTE_OLD_EXCEL = ListProblem.OLD_EXCEL
NOTE_OLD_WORD = ListProblem.OLD_WORD
NOTE_SCAN = ListProblem.SCAN

# -- builders ------------------------------------------------------------------------------------


def _docx_bytes(document: object) -> bytes:
    out = io.BytesIO()
    document.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


def _add_row(table: Table, *values: str) -> None:
    cells = table.add_row().cells
    for cell, value in zip(cells, values, strict=False):
        cell.text = value


def _add_section_row(table: Table, text: str) -> None:
    """A heading row: one cell merged across the whole table, as Word's 合并单元格 makes it."""
    cells = table.add_row().cells
    merged = cells[0].merge(cells[-1])
    merged.text = text


def _table(document: object, header: Sequence[str]) -> Table:
    table: Table = document.add_table(rows=1, cols=len(header))  # type: ignore[attr-defined]
    for cell, label in zip(table.rows[0].cells, header, strict=True):
        cell.text = label
    return table


def _xlsx_bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _summary(result: CandidateList) -> list[tuple[int | None, str, str | None, str | None]]:
    return [(e.order, e.name, e.applicant, e.category) for e in result.entries]


# -- Word ----------------------------------------------------------------------------------------


def test_docx_table_with_category_section_rows_and_chinese_numerals() -> None:
    doc = Document()
    doc.add_paragraph("北京市低碳发展典型案例推荐名单")
    # Header labels as units type them: padded with spaces, with a bracketed note.
    table = _table(doc, ["序 号", "案例名称", "申报单位（个人）", "备注"])
    _add_section_row(table, "一、园区类")
    _add_row(table, "1", "城市副中心绿色低碳示范园区", "北京城市副中心管理委员会", "")
    _add_row(table, "２", "中关村低碳产业园", "中关村某某园区管理有限公司", "")  # full-width 2
    _add_section_row(table, "二、企业类")
    _add_row(table, "一", "零碳工厂数字化能源管理实践", "北京某某股份有限公司", "")
    _add_row(table, "二", "绿色数据中心", "北京某某科技有限公司", "")
    _add_row(table, "三", "氢能重卡示范", "北京某某汽车有限公司", "")
    _add_section_row(table, "三、个人类")
    _add_row(table, "（1）", "低碳出行倡导十年", "张三", "")
    _add_section_row(table, "注：以上个人类案例按推荐顺序排列。")  # a footnote, not a section
    # What units type under the list, in the name column.
    _add_row(table, "", "推荐单位（盖章）", "", "")
    _add_row(table, "", "2023年12月20日", "", "")
    _add_row(table, "", "年   月   日", "", "")
    _add_row(table, "", "联系人：李四", "", "")
    _add_row(table, "", "合 计", "6", "")

    result = read_candidate_list("北京市推荐名单.docx", _docx_bytes(doc))

    assert result.readable and result.note == ""
    assert _summary(result) == [
        (1, "城市副中心绿色低碳示范园区", "北京城市副中心管理委员会", "一、园区类"),
        (2, "中关村低碳产业园", "中关村某某园区管理有限公司", "一、园区类"),
        (1, "零碳工厂数字化能源管理实践", "北京某某股份有限公司", "二、企业类"),
        (2, "绿色数据中心", "北京某某科技有限公司", "二、企业类"),
        (3, "氢能重卡示范", "北京某某汽车有限公司", "二、企业类"),
        (1, "低碳出行倡导十年", "张三", "三、个人类"),
    ]
    assert all(e.explicit for e in result.entries)


def test_docx_category_column_vertically_merged_and_rank_preferred_over_serial() -> None:
    doc = Document()
    table = _table(doc, ["序号", "类别", "项目名称", "申报主体", "推荐顺序"])
    _add_row(table, "1", "园区", "园区甲", "甲管委会", "2")
    _add_row(table, "2", "", "园区乙", "乙管委会", "1")
    _add_row(table, "3", "企业", "企业甲", "甲公司", "第一")
    _add_row(table, "4", "", "企业乙", "乙公司", "第二")
    # The 类别 cells merged down over their category's rows, as most lists do.
    rows = table.rows
    rows[1].cells[1].merge(rows[2].cells[1])
    rows[3].cells[1].merge(rows[4].cells[1])

    result = read_candidate_list("名单.docx", _docx_bytes(doc))

    # 序号 runs through the whole table; 推荐顺序 is the order the unit means.
    assert _summary(result) == [
        (2, "园区甲", "甲管委会", "园区"),
        (1, "园区乙", "乙管委会", "园区"),
        (1, "企业甲", "甲公司", "企业"),
        (2, "企业乙", "乙公司", "企业"),
    ]


def test_docx_one_table_per_category_under_heading_paragraphs() -> None:
    doc = Document()
    doc.add_paragraph("（一）社区类")
    first = _table(doc, ["排序", "名称", "单位"])
    _add_row(first, "1", "低碳社区甲", "甲社区居委会")
    _add_row(first, "2", "低碳社区乙", "乙社区居委会")
    doc.add_paragraph("（二）企业类")
    # The second table has no header of its own: the first table's columns carry over.
    second = doc.add_table(rows=0, cols=3)
    _add_row(second, "1", "企业丙", "丙有限公司")
    _add_row(second, "2", "企业丁", "丁有限公司")

    result = read_candidate_list("名单.docx", _docx_bytes(doc))

    assert _summary(result) == [
        (1, "低碳社区甲", "甲社区居委会", "（一）社区类"),
        (2, "低碳社区乙", "乙社区居委会", "（一）社区类"),
        (1, "企业丙", "丙有限公司", "（二）企业类"),
        (2, "企业丁", "丁有限公司", "（二）企业类"),
    ]


def test_docx_without_order_column_uses_position_within_category() -> None:
    doc = Document()
    table = _table(doc, ["类别", "案例名称", "申报单位"])
    _add_row(table, "园区", "园区甲", "甲")
    _add_row(table, "园区", "园区乙", "乙")
    _add_row(table, "企业", "企业甲", "丙")

    result = read_candidate_list("名单.docx", _docx_bytes(doc))

    assert [(e.order, e.category, e.explicit) for e in result.entries] == [
        (1, "园区", False),
        (2, "园区", False),
        (1, "企业", False),
    ]


def test_docx_horizontally_merged_cells_are_read_once() -> None:
    doc = Document()
    table = _table(doc, ["序号", "案例名称", "", "申报单位"])
    header = table.rows[0].cells
    header[1].merge(header[2])  # the name header spans two grid columns
    _add_row(table, "1", "跨两列的案例名称", "", "某单位")
    cells = table.rows[1].cells
    cells[1].merge(cells[2])

    result = read_candidate_list("名单.docx", _docx_bytes(doc))

    assert _summary(result) == [(1, "跨两列的案例名称", "某单位", None)]


def test_docx_numbered_paragraphs_when_there_is_no_table() -> None:
    doc = Document()
    doc.add_paragraph("浙江省低碳发展典型案例推荐名单")
    doc.add_paragraph("一、园区类")
    doc.add_paragraph("1. 杭州某某低碳园区建设（申报单位：杭州某某园区管委会）")
    doc.add_paragraph("2、宁波某某零碳园区")
    doc.add_paragraph("二、社区类：")
    doc.add_paragraph("（一）社区垃圾分类与低碳生活实践\t杭州市某某社区居民委员会")
    doc.add_paragraph("2023年12月20日")  # the date under the seal is no case

    result = read_candidate_list("名单.docx", _docx_bytes(doc))

    assert _summary(result) == [
        (1, "杭州某某低碳园区建设", "杭州某某园区管委会", "一、园区类"),
        (2, "宁波某某零碳园区", None, "一、园区类"),
        (1, "社区垃圾分类与低碳生活实践", "杭州市某某社区居民委员会", "二、社区类："),
    ]


def test_docx_without_any_list_is_not_readable() -> None:
    doc = Document()
    doc.add_paragraph("请见附件扫描件。")

    result = read_candidate_list("名单.docx", _docx_bytes(doc))

    assert result == CandidateList(readable=False, note=NOTE_NO_LIST)


# -- Excel ---------------------------------------------------------------------------------------


def test_xlsx_with_title_merged_category_cells_and_numeric_orders() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "推荐名单"
    ws.append(["广东省低碳发展典型案例推荐名单"])
    ws.merge_cells("A1:E1")
    ws.append(["推荐顺序", "类别", "案例名称", "申报单位", "备注"])
    ws.append([1, "园区", "园区光伏一体化储能示范", "广州某某产业园区管理有限公司", None])
    ws.append([2.0, None, "园区二", "某某管委会", None])  # floats: how Excel stores numbers
    ws.append(["１", "企业", "企业一", "某某股份有限公司", None])
    ws.append(["二", None, "企业二", "某某有限公司", None])
    ws.merge_cells("B3:B4")
    ws.merge_cells("B5:B6")
    ws.append(["注：按推荐顺序排列"])
    ws.merge_cells("A7:E7")

    result = read_candidate_list("广东省推荐名单.xlsx", _xlsx_bytes(wb))

    assert result.readable
    assert _summary(result) == [
        (1, "园区光伏一体化储能示范", "广州某某产业园区管理有限公司", "园区"),
        (2, "园区二", "某某管委会", "园区"),
        (1, "企业一", "某某股份有限公司", "企业"),
        (2, "企业二", "某某有限公司", "企业"),
    ]


def test_xlsx_section_rows_and_a_sheet_per_category() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "案例名称", "申报单位"])
    ws.append(["一、园区类"])
    ws.merge_cells("A2:C2")
    ws.append([1, "园区甲", "甲"])
    ws.append([2, "园区乙", "乙"])
    ws.append(["二、企业类"])
    ws.merge_cells("A5:C5")
    ws.append([1, "企业甲", "丙"])
    people = wb.create_sheet("个人类")
    people.append(["序号", "名称", "单位/个人"])
    people.append([1, "低碳出行倡导十年", "张三"])

    result = read_candidate_list("名单.xlsx", _xlsx_bytes(wb))

    assert _summary(result) == [
        (1, "园区甲", "甲", "一、园区类"),
        (2, "园区乙", "乙", "一、园区类"),
        (1, "企业甲", "丙", "二、企业类"),
        (1, "低碳出行倡导十年", "张三", "个人类"),
    ]


def test_xlsx_named_docx_is_read_by_its_content() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "案例名称"])
    ws.append([1, "案例甲"])

    result = read_candidate_list("名单.docx", _xlsx_bytes(wb))

    assert _summary(result) == [(1, "案例甲", None, None)]


# -- unreadable lists ----------------------------------------------------------------------------

_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
_PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.mark.parametrize(
    ("name", "data"),
    [("推荐名单（盖章）.pdf", _PDF), ("推荐名单.jpg", _JPEG), ("推荐名单.png", _PNG)],
)
def test_scanned_list_is_not_readable(name: str, data: bytes) -> None:
    assert read_candidate_list(name, data) == CandidateList(readable=False, note=NOTE_SCAN)


def test_corrupt_files_are_not_readable_and_never_raise() -> None:
    doc = Document()
    _add_row(_table(doc, ["序号", "案例名称"]), "1", "案例甲")
    truncated = _docx_bytes(doc)[:400]  # a download cut short: no central directory

    for name, data in [
        ("名单.docx", truncated),
        ("名单.xlsx", b"PK\x03\x04" + b"\x00" * 100),
        ("名单.docx", b"not a word file at all"),
    ]:
        result = read_candidate_list(name, data)
        assert result == CandidateList(readable=False, note=NOTE_DAMAGED), name


def test_damaged_copies_of_readable_lists_never_raise() -> None:
    doc = Document()
    _add_row(_table(doc, ["序号", "案例名称", "申报单位"]), "1", "案例甲", "甲")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "案例名称"])
    ws.append([1, "案例甲"])
    rng = random.Random(2023)
    for name, good in [("名单.docx", _docx_bytes(doc)), ("名单.xlsx", _xlsx_bytes(wb))]:
        for _ in range(40):
            damaged = bytearray(good)
            for _ in range(8):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            result = read_candidate_list(name, bytes(damaged))
            assert result.readable == bool(result.entries)
            assert result.readable or result.note


def test_other_unreadable_inputs() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert read_candidate_list("名单.doc", ole).note == NOTE_OLD_WORD
    assert read_candidate_list("名单.wps", ole).note == NOTE_OLD_WORD
    assert read_candidate_list("名单.xls", ole).note == NOTE_OLD_EXCEL
    assert read_candidate_list("名单.docx", b"") == CandidateList(
        readable=False, note=NOTE_EMPTY_FILE
    )
    assert not read_candidate_list("名单.mp4", b"\x00\x00\x00\x18ftypmp42").readable


def test_every_list_problem_is_worded_for_staff() -> None:
    assert set(LIST_PROBLEM_TEXT) == set(ListProblem)
    assert list_problem_text(NOTE_SCAN) == "名单为图片或 PDF，无法自动读取推荐顺序"
    assert list_problem_text(NOTE_NO_LIST) == "名单中未找到案例列表，无法自动读取推荐顺序"


def test_plain_text_list() -> None:
    text = "企业类\n1、企业甲  甲有限公司\n2、企业乙  乙有限公司\n".encode("gb18030")

    result = read_candidate_list("名单.txt", text)

    assert result.entries == (
        CandidateEntry(1, "企业甲", "甲有限公司", "企业类", True),
        CandidateEntry(2, "企业乙", "乙有限公司", "企业类", True),
    )


# -- order numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("1.北京市XX推荐材料", 1),
        ("01-XX", 1),
        ("（一）XX", 1),
        ("第2个 XX", 2),
        ("2、XX", 2),
        ("园区1-XX", 1),
        ("企业类2．XX", 2),
        ("（3）北京市XX推荐材料.zip", 3),
        ("【2】XX", 2),
        ("②XX", 2),
        ("十、XX", 10),
        ("1 北京市XX", 1),
        ("1北京市XX推荐材料", 1),
        ("材料/2、北京市XX推荐材料", 2),
        # Not orders: years, quantities, decimals, words that start with a numeral.
        ("2023年北京市XX推荐材料", None),
        ("2023-北京市XX", None),
        ("2023 北京市XX", None),
        ("1.5万吨减排项目", None),
        ("2号园区光伏", None),
        ("3个社区联动", None),
        ("一带一路绿色园区", None),
        ("第一批国家级低碳园区", None),
        ("北京市XX推荐材料", None),
        ("1.", None),
        ("", None),
    ],
)
def test_order_from_name(name: str, order: int | None) -> None:
    assert order_from_name(name) == order


def test_split_order_prefix_keeps_the_rest() -> None:
    assert split_order_prefix("（二）北京市XX推荐材料") == (2, "北京市XX推荐材料")
    assert split_order_prefix("2023年XX") == (None, "2023年XX")


@pytest.mark.parametrize(
    ("cell", "order"),
    [
        ("1", 1),
        ("１", 1),
        ("01", 1),
        ("1.", 1),
        ("1.0", 1),
        ("一", 1),
        ("十二", 12),
        ("第二", 2),
        ("（3）", 3),
        ("①", 1),
        ("第1名", 1),
        ("", None),
        ("0", None),
        ("待定", None),
        ("1-2", None),
    ],
)
def test_parse_order_number(cell: str, order: int | None) -> None:
    assert parse_order_number(cell) == order


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("十", 10), ("十一", 11), ("二十", 20), ("二十三", 23), ("一百零五", 105),
     ("叁", 3), ("两", 2), ("园", None), ("", None)],
)  # fmt: skip
def test_chinese_numeral(text: str, value: int | None) -> None:
    assert chinese_numeral(text) == value
