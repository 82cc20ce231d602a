"""Recommendation forms (推荐表) as real `.docx` bytes, for the tests and the demo.

The table is built from scratch with python-docx so that the builder works in a plain clone,
without `../shared`. It copies the official 2023 form: the same rows, labels, merged cells, hint
text and the category cell `园区        企业        社区        个人`.

Every way a unit ticks a category is reproduced in the XML Word itself writes (`TICK_STYLES`).
`samples.word97` turns these into real `.doc` files.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Literal

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

CATEGORY_LABELS: dict[str, str] = {
    "park": "园区",
    "enterprise": "企业",
    "community": "社区",
    "individual": "个人",
}

INTRO_HINT = (
    "（2000字以内。请简要介绍案例背景和案例目标，执行情况、实施过程、取得的成果、意义和评价等"
    "内容应简洁、明确，层次不宜过多，突出亮点特色，组织活动应有相关数据说明。证明材料可另附页）"
)

DEFAULT_INTRO = (
    "本园区以“光伏+储能”为核心，2022年建成分布式光伏12.5MW，年发电量1300万千瓦时，"
    "减少二氧化碳排放约1.02万吨。园区推行能源管理平台，实现用能在线监测。"
)

DEFAULT_FIELDS: dict[str, str] = {
    "案例名称": "零碳智慧园区建设实践",
    "申报单位": "北京市经济技术开发区管理委员会",
    "联系人": "张  伟",
    "手机": "13812345678",
    "地址": "北京市大兴区荣华中路10号",
    "推荐单位意见": "同意推荐。",
}

# The labels as the official form prints them, with and without its padding spaces.
SPACED_LABELS: dict[str, str] = {
    "案例名称": "案例名称",
    "申报单位": "申报单位（个人）",
    "类别": "类别（在所属类别打√）",
    "联系人": "联 系 人",
    "手机": "手    机",
    "地址": "地    址",
    "案例简介": "案例简介",
    "推荐单位意见": "推荐单位意见：",
}
PLAIN_LABELS: dict[str, str] = {**SPACED_LABELS, "联系人": "联系人", "手机": "手机", "地址": "地址"}

TickStyle = Literal[
    "typed-√",
    "typed-✓",
    "typed-✔",
    "typed-☑",
    "typed-■",
    "typed-☒",
    "typed-●",
    "sym-wingdings2",
    "sym-wingdings",
    "font-wingdings2",
    "font-wingdings",
    "content-control",
    "legacy-checkbox",
    "legacy-checkbox-default",
    "deleted-others",
    "none",
    "multiple",
]
TICK_STYLES: tuple[str, ...] = TickStyle.__args__  # type: ignore[attr-defined]

# Typed ticks that are boxes get an empty box before the options not chosen, as people type them.
_EMPTY_BOX = {"☑": "☐", "☒": "☐", "■": "□"}
_OPTION_GAP = "        "


def make_form_docx(
    fields: Mapping[str, str] | None = None,
    tick: str = "typed-√",
    category: str | Sequence[str] = "park",
    intro: str = DEFAULT_INTRO,
    hint_left: bool = False,
    label_spacing: bool = True,
    extra_rows: bool = False,
    tick_after: bool = False,
    labels: Mapping[str, str] | None = None,
    layout: Literal["table", "paragraphs"] = "table",
) -> bytes:
    """A filled-in form.

    `fields` override `DEFAULT_FIELDS` (keys as there; an empty string leaves the cell empty).
    `category` is the key (or keys) ticked; `tick="multiple"` ticks `category` and the next one.
    `hint_left` keeps the 案例简介 hint in place, before `intro` (pass `intro=""` for hint only).
    `tick_after` puts typed ticks after the label (`园区√`) instead of before it.
    `labels` override single labels (e.g. `{"申报单位": "申报单位(个人)"}`).
    `extra_rows` adds rows and paragraphs the official form does not have.
    """
    values = {**DEFAULT_FIELDS, **(fields or {})}
    names = {**(SPACED_LABELS if label_spacing else PLAIN_LABELS), **(labels or {})}
    ticked = [category] if isinstance(category, str) else list(category)
    if tick == "multiple":
        keys = list(CATEGORY_LABELS)
        ticked = [*ticked, keys[(keys.index(ticked[0]) + 1) % len(keys)]]
        tick = "typed-√"

    doc = Document()
    doc.add_paragraph("附表")
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title_run = title.add_run("2023年绿色低碳典型案例推荐表")
    title_run.bold = True
    title_run.font.size = Pt(16)
    if extra_rows:
        doc.add_paragraph("填报日期：2023年12月1日")

    if layout == "paragraphs":
        _fill_paragraphs(doc, values, names, tick, ticked, intro, hint_left, tick_after)
    else:
        _fill_table(doc, values, names, tick, ticked, intro, hint_left, tick_after, extra_rows)

    # Word always ends a document with a paragraph; a table left last is lost in a doc round trip.
    doc.add_paragraph("")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _fill_table(
    doc: object,
    values: Mapping[str, str],
    names: Mapping[str, str],
    tick: str,
    ticked: Sequence[str],
    intro: str,
    hint_left: bool,
    tick_after: bool,
    extra_rows: bool,
) -> None:
    rows: list[tuple[str, ...]] = [
        ("案例名称",),
        ("申报单位",),
        ("类别",),
        ("联系人", "手机"),
        ("地址",),
        ("案例简介",),
        ("推荐单位意见",),
    ]
    if extra_rows:
        rows.insert(0, ("序号",))
        rows.insert(5, ("邮箱",))
    table = doc.add_table(rows=len(rows), cols=4)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    for row, spec in zip(table.rows, rows, strict=True):
        cells = row.cells
        key = spec[0]
        if key == "推荐单位意见":
            cell = cells[0].merge(cells[3])
            _fill_opinion(cell, names[key], values.get(key, ""))
            continue
        if len(spec) == 2:
            for i, k in enumerate(spec):
                _set_text(cells[2 * i], names[k])
                _set_text(cells[2 * i + 1], values.get(k, ""))
            continue
        value_cell = cells[1].merge(cells[3])
        if key == "序号":
            _set_text(cells[0], "序    号")
            _set_text(value_cell, "1")
        elif key == "邮箱":
            _set_text(cells[0], "邮    箱")
            _set_text(value_cell, "zhangwei@example.cn")
        else:
            _set_text(cells[0], names[key])
            if key == "类别":
                _fill_category(value_cell.paragraphs[0], tick, ticked, tick_after)
            elif key == "案例简介":
                _fill_intro(value_cell, intro, hint_left)
            else:
                _set_text(value_cell, values.get(key, ""))


def _fill_paragraphs(
    doc: object,
    values: Mapping[str, str],
    names: Mapping[str, str],
    tick: str,
    ticked: Sequence[str],
    intro: str,
    hint_left: bool,
    tick_after: bool,
) -> None:
    add = doc.add_paragraph  # type: ignore[attr-defined]
    for key in ("案例名称", "申报单位"):
        add(f"{names[key]}：{values.get(key, '')}")
    category = add(f"{names['类别']}：")
    _fill_category(category, tick, ticked, tick_after)
    for key in ("联系人", "手机", "地址"):
        add(f"{names[key]}：{values.get(key, '')}")
    add(f"{names['案例简介']}：{INTRO_HINT if hint_left else ''}")
    for text in intro.split("\n"):
        if text:
            add(text)
    add(f"{names['推荐单位意见'].rstrip('：')}：{values.get('推荐单位意见', '')}")
    add("（单位公章）")
    add("年   月   日")


def _set_text(cell: _Cell, text: str) -> None:
    lines = text.split("\n")
    cell.paragraphs[0].add_run(lines[0])
    for line in lines[1:]:
        cell.add_paragraph(line)


def _fill_intro(cell: _Cell, intro: str, hint_left: bool) -> None:
    texts = ([INTRO_HINT] if hint_left else []) + ([*intro.split("\n")] if intro else [])
    if not texts:
        return
    cell.paragraphs[0].add_run(texts[0])
    for text in texts[1:]:
        cell.add_paragraph(text)


def _fill_opinion(cell: _Cell, label: str, opinion: str) -> None:
    cell.paragraphs[0].add_run(label + opinion)
    for text in ("", "", "（单位公章）", "年   月   日"):
        p = cell.add_paragraph(text)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _fill_category(p: Paragraph, tick: str, ticked: Sequence[str], tick_after: bool) -> None:
    keys = list(CATEGORY_LABELS)
    if tick == "none":
        p.add_run(_OPTION_GAP.join(CATEGORY_LABELS.values()))
        return
    if tick == "deleted-others":
        p.add_run("".join(CATEGORY_LABELS[k] for k in ticked))
        return
    for i, key in enumerate(keys):
        on = key in ticked
        label = CATEGORY_LABELS[key]
        if i:
            p.add_run(_OPTION_GAP)
        if tick.startswith("typed-"):
            mark = tick.removeprefix("typed-")
            text = mark if on else _EMPTY_BOX.get(mark, "")
            p.add_run(label + text if tick_after else text + label)
            continue
        if tick_after:
            p.add_run(label)
        _append_mark(p, tick, on)
        if not tick_after:
            p.add_run(label)


def _append_mark(p: Paragraph, tick: str, on: bool) -> None:
    """Append one checkbox in the XML that Word writes for `tick`."""
    el = p._p
    if tick == "sym-wingdings2":
        el.append(_sym("Wingdings 2", "F052" if on else "F0A3"))
    elif tick == "sym-wingdings":
        el.append(_sym("Wingdings", "F0FE" if on else "F0A8"))
    elif tick == "font-wingdings2":
        _symbol_font_run(p, "Wingdings 2", "R" if on else "£")
    elif tick == "font-wingdings":
        _symbol_font_run(p, "Wingdings", "þ" if on else "¨")
    elif tick == "content-control":
        el.append(_content_control(on))
    elif tick in ("legacy-checkbox", "legacy-checkbox-default"):
        for r in _legacy_checkbox(on, by_default=tick == "legacy-checkbox-default"):
            el.append(r)
    else:
        raise ValueError(f"unknown tick style {tick!r}")


def _sym(font: str, char: str) -> object:
    return parse_xml(f'<w:r {nsdecls("w")}><w:sym w:font="{font}" w:char="{char}"/></w:r>')


def _symbol_font_run(p: Paragraph, font: str, text: str) -> None:
    run = p.add_run(text)
    rpr = run._r.get_or_add_rPr()
    rpr.append(
        parse_xml(
            f'<w:rFonts {nsdecls("w")} w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}"'
            ' w:hint="eastAsia"/>'
        )
    )


def _content_control(on: bool) -> object:
    # What Word 2010+ writes for Developer > Check Box Content Control (MS Gothic ☒ / ☐).
    return parse_xml(
        f'<w:sdt {nsdecls("w", "w14")}><w:sdtPr><w:id w:val="{1000 + on}"/>'
        f'<w14:checkbox><w14:checked w14:val="{int(on)}"/>'
        '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
        '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>'
        '<w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic"'
        ' w:hAnsi="MS Gothic" w:hint="eastAsia"/></w:rPr>'
        f"<w:t>{'☒' if on else '☐'}</w:t></w:r></w:sdtContent></w:sdt>"
    )


def _legacy_checkbox(on: bool, by_default: bool) -> list[object]:
    # Legacy Tools > Check Box Form Field: a FORMCHECKBOX field whose state lives in w:ffData.
    if by_default:
        state = f'<w:default w:val="{int(on)}"/>'
    else:
        state = '<w:default w:val="0"/>' + ("<w:checked/>" if on else "")
    begin = (
        f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"><w:ffData>'
        '<w:name w:val=""/><w:enabled/><w:calcOnExit w:val="0"/>'
        f"<w:checkBox><w:sizeAuto/>{state}</w:checkBox></w:ffData></w:fldChar></w:r>"
    )
    instr = (
        f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
    )
    end = f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>'
    return [parse_xml(begin), parse_xml(instr), parse_xml(end)]
