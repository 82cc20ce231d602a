"""Read the recommendation form (推荐表) from `.docx` bytes into `FormData`.

Fields are found by their labels, never by cell position: units add rows, merge and split cells,
pad labels with spaces (`联 系 人`) and switch bracket widths. A label is a cell whose text,
normalised (NFKC, whitespace removed, so full- and half-width brackets and colons compare equal),
is a known label, optionally followed by parenthesised notes (`申报单位（个人）`,
`类别（在所属类别打√）`) and a colon. Its value is whatever follows the label in the same cell
plus the distinct cells to its right in the same row, up to the next label. Forms typed as plain
paragraphs (`案例名称：……`) are read the same way, for the fields the tables did not give.

The text of the document is extracted with every way of ticking a box turned into a plain
character: `w:sym` symbols and runs in a symbol font (Wingdings, Wingdings 2, Webdings, Symbol;
also the private-use characters U+F0xx that a `.doc` → `.docx` conversion leaves) become their
Unicode look-alikes (`☑`, `□`, `✓` …), content-control and legacy form-field check boxes become
`☑` or `☐` by their stored state. The category cell is then read as text; see
`ticked_categories` for how a tick is tied to a label.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from docx import Document
from docx.oxml.ns import qn
from docx.table import Table
from lxml import etree

from parsers.model import FormData

# Canonical field keys (as `FormData.fields` uses them), with the labels accepted for each,
# normalised. The first is the official one; the others are what units' own templates say.
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "案例名称": ("案例名称", "案例题目"),
    "申报单位": ("申报单位", "申报个人", "申报单位或个人", "申报单位/个人", "申报主体"),
    "类别": ("类别", "案例类别", "申报类别", "类型", "案例类型"),
    "联系人": ("联系人",),
    "手机": ("手机", "手机号", "手机号码", "联系手机", "移动电话"),
    "地址": ("地址", "通讯地址", "通信地址", "联系地址", "单位地址"),
    "案例简介": ("案例简介", "案例介绍"),
    "推荐单位意见": ("推荐单位意见",),
}
# Labels that only stand in when the form has no proper label for the field.
FALLBACK_LABELS: dict[str, tuple[str, ...]] = {
    "手机": ("联系电话", "电话"),
}
FIELDS: tuple[str, ...] = tuple(FIELD_LABELS)

INTRO_HINT = (
    "（2000字以内。请简要介绍案例背景和案例目标，执行情况、实施过程、取得的成果、意义和评价等"
    "内容应简洁、明确，层次不宜过多，突出亮点特色，组织活动应有相关数据说明。证明材料可另附页）"
)

# Limits for a hostile package: python-docx loads every part into memory.
_MAX_PART_BYTES = 64 * 1024 * 1024
_MAX_TOTAL_BYTES = 256 * 1024 * 1024

_DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
# Word variants python-docx refuses only because of their content type; the body is the same.
_WORD_MAIN_VARIANTS = (
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
)


class FormUnreadable(Exception):
    """The bytes are not a Word document python-docx can open."""


def read_form(docx: bytes, category_labels: Mapping[str, str]) -> FormData:
    """Read a `.docx` form. `category_labels` maps category key → label, e.g. `park` → `园区`.

    `FormData.fields` holds the fields whose label was found (keys as in `FIELDS`), values
    trimmed and with hint text removed; `hints_left` the keys whose value was nothing but hint
    text; `categories` the ticked category keys, in form order.
    """
    body, styles = _open_body(docx)
    fonts = _StyleFonts(styles)
    found = _Found()
    for tbl in body.iter(qn("w:tbl")):
        if _in_fallback(tbl):
            continue
        _read_table(Table(tbl, None), fonts, found)  # type: ignore[arg-type]
    _read_paragraphs(body, fonts, found)

    form = FormData()
    for key in FIELDS:
        raw = found.value(key)
        if raw is None:
            continue
        value, only_hint = _strip_hints(key, raw)
        form.fields[key] = value
        if only_hint:
            form.hints_left.append(key)
    if "类别" in found.raw:
        form.categories = ticked_categories(found.value("类别") or "", category_labels)
    return form


# -- opening ------------------------------------------------------------------------------------


def _open_body(data: bytes) -> tuple[etree._Element, etree._Element | None]:
    """The document's `w:body` and its `w:styles` (None if it has none)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if any(i.file_size > _MAX_PART_BYTES for i in infos) or (
                sum(i.file_size for i in infos) > _MAX_TOTAL_BYTES
            ):
                raise FormUnreadable("the Word file is too large to read safely")
            types = z.read("[Content_Types].xml") if "[Content_Types].xml" in z.namelist() else b""
    except zipfile.BadZipFile as exc:
        raise FormUnreadable("not a .docx file (no zip container)") from exc
    except (OSError, ValueError, zipfile.LargeZipFile) as exc:
        raise FormUnreadable(f"damaged .docx container: {exc}") from exc
    if any(t.encode() in types for t in _WORD_MAIN_VARIANTS):
        data = _as_plain_docx(data)
    try:
        document = Document(io.BytesIO(data))
        body = document.element.body
    except Exception as exc:  # python-docx raises many kinds on a malformed package
        raise FormUnreadable(f"not a readable Word document: {exc}") from exc
    if body is None:
        raise FormUnreadable("the Word document has no body")
    try:
        styles = document.part._styles_part.element if document.part._styles_part else None
    except Exception:  # a damaged styles part only costs us style-defined symbol fonts
        styles = None
    return body, styles


def _as_plain_docx(data: bytes) -> bytes:
    """The same package with a .docm/.dotx/.dotm main part declared as a plain document."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "[Content_Types].xml":
                for t in _WORD_MAIN_VARIANTS:
                    content = content.replace(t.encode(), _DOCX_MAIN.encode())
            dst.writestr(info, content)
    return out.getvalue()


def _in_fallback(el: etree._Element) -> bool:
    # mc:Fallback repeats the content of mc:Choice (text boxes) for old readers.
    return any(a.tag == _MC_FALLBACK for a in el.iterancestors())


# -- collecting label → value -------------------------------------------------------------------


@dataclass
class _Found:
    # Per field key: value pieces in document order, from the first label occurrence that had
    # a non-empty value (or the first at all).
    raw: dict[str, list[str]] = field(default_factory=dict)
    fallback: dict[str, list[str]] = field(default_factory=dict)
    # Cells already used for a key, so merged cells repeated across rows count once. The
    # elements themselves are kept: lxml proxies, and so their ids, live only while referenced.
    seen: dict[str, set[etree._Element]] = field(default_factory=dict)
    label_cells: dict[str, set[etree._Element]] = field(default_factory=dict)

    def add(
        self, key: str, pieces: list[str], label_cell: etree._Element | None, fallback: bool
    ) -> None:
        store = self.fallback if fallback else self.raw
        if key in store and label_cell is not None and label_cell in self.label_cells.get(key, ()):
            store[key].extend(pieces)  # the same (vertically merged) label, next row
            return
        if key in store and "".join(store[key]).strip():
            return  # keep the first occurrence that says something
        store[key] = list(pieces)
        if label_cell is not None:
            self.label_cells.setdefault(key, set()).add(label_cell)

    def value(self, key: str) -> str | None:
        pieces = self.raw.get(key)
        if pieces is None or not "".join(pieces).strip():
            pieces = self.fallback.get(key, pieces)
        if pieces is None:
            return None
        return "\n".join(p for p in pieces if p.strip())


def _read_table(table: Table, fonts: _StyleFonts, found: _Found) -> None:
    for row in table.rows:
        cells = _distinct_cells(row)
        texts = [_block_text(tc, fonts) for tc in cells]
        labels = [match_label(t) for t in texts]
        i = 0
        while i < len(cells):
            match = labels[i]
            if match is None:
                i += 1
                continue
            key, rest, fallback = match
            label_cell = cells[i]
            seen = found.seen.setdefault(key, set())
            repeat = label_cell in found.label_cells.get(key, ())
            pieces = [] if repeat else [rest]
            j = i + 1
            while j < len(cells) and labels[j] is None:
                if cells[j] not in seen:
                    seen.add(cells[j])
                    pieces.append(texts[j])
                j += 1
            found.add(key, pieces, label_cell, fallback)
            i = j


def _distinct_cells(row: object) -> list[etree._Element]:
    """The row's cells left to right, each underlying `w:tc` once (merged cells repeat)."""
    try:
        tcs = [c._tc for c in row.cells]  # type: ignore[attr-defined]
    except Exception:  # a malformed vertical merge; read the cells as they stand
        tcs = list(row._tr.tc_lst)  # type: ignore[attr-defined]
    out: list[etree._Element] = []
    for tc in tcs:
        if all(tc is not o for o in out):
            out.append(tc)
    return out


def _read_paragraphs(body: etree._Element, fonts: _StyleFonts, found: _Found) -> None:
    """Fields typed as `标签：内容` paragraphs outside tables; only fills what tables did not."""
    current: str | None = None
    pieces: dict[str, list[str]] = {}
    fallbacks: set[str] = set()
    for p in _iter_blocks(body):
        if p.tag != qn("w:p"):
            current = None  # a table ends a paragraph field
            continue
        text = _paragraph_text(p, fonts)
        match = match_label(text)
        if match is not None:
            key, rest, fallback = match
            if key in pieces:
                current = None
                continue
            current = key
            pieces[key] = [rest]
            if fallback:
                fallbacks.add(key)
        elif current in ("案例简介", "推荐单位意见"):
            pieces[current].append(text)
        elif text.strip():
            current = None
    for key, ps in pieces.items():
        found.add(key, ps, None, key in fallbacks)


def _iter_blocks(el: etree._Element) -> Iterator[etree._Element]:
    """Paragraphs and tables of a body or cell in order, looking through block containers."""
    for child in el:
        tag = child.tag
        if tag in (_P, _TBL):
            yield child
        elif tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _iter_blocks(content)
        elif tag == _CUSTOM_XML:
            yield from _iter_blocks(child)


# -- label matching ----------------------------------------------------------------------------


def _normalise_with_map(text: str) -> tuple[str, list[int]]:
    """NFKC with whitespace removed, and for each output character its index in `text`."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for n in unicodedata.normalize("NFKC", ch):
            if n.isspace():
                continue
            out.append(_BRACKETS.get(n, n))
            where.append(i)
    return "".join(out), where


_BRACKETS = {"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")"}
_ALL_LABELS: list[tuple[str, str, bool]] = sorted(
    [(alias, key, False) for key, aliases in FIELD_LABELS.items() for alias in aliases]
    + [(alias, key, True) for key, aliases in FALLBACK_LABELS.items() for alias in aliases],
    key=lambda t: -len(t[0]),
)


def normalise_label(text: str) -> str:
    """`联 系 人：` → `联系人`; `申报单位（个人）` → `申报单位(个人)`."""
    return _normalise_with_map(text)[0].rstrip(":")


def match_label(text: str) -> tuple[str, str, bool] | None:
    """If `text` starts with a field label: (key, the text after the label, is a fallback label).

    After the label come optional parenthesised notes and colons. The label must end there: at
    the end of the text, at a colon, or at whitespace in the original, so a value such as
    `手机支付推广` is not taken for the label `手机`.
    """
    norm, where = _normalise_with_map(text)
    for alias, key, fallback in _ALL_LABELS:
        if not norm.startswith(alias):
            continue
        pos = len(alias)
        while pos < len(norm) and norm[pos] == "(":
            close = norm.find(")", pos)
            if close < 0:
                break
            pos = close + 1
        noted = pos > len(alias)
        colon = False
        while pos < len(norm) and norm[pos] == ":":
            pos += 1
            colon = True
        if pos >= len(norm):
            return key, "", fallback
        start = where[pos]
        end_of_label = where[pos - 1] + 1
        if colon or noted or start > end_of_label:
            return key, text[start:], fallback
        return None
    return None


# -- text extraction ---------------------------------------------------------------------------

_W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
_P, _TBL, _R, _T = qn("w:p"), qn("w:tbl"), qn("w:r"), qn("w:t")
_SDT, _SDT_PR, _SDT_CONTENT = qn("w:sdt"), qn("w:sdtPr"), qn("w:sdtContent")
_CUSTOM_XML = qn("w:customXml")
_SKIPPED = {
    qn(t)
    for t in (
        "w:delText",
        "w:instrText",
        "w:delInstrText",
        "w:del",
        "w:moveFrom",
        "w:rPr",
        "w:pPr",
        "w:sdtPr",
        "w:rt",  # ruby annotation above the base text
        "w:drawing",
        "w:pict",
        "w:object",
        "w:footnoteReference",
        "w:endnoteReference",
    )
}
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _block_text(container: etree._Element, fonts: _StyleFonts) -> str:
    """Text of a cell (or any block container): its paragraphs joined by newlines.

    Tables nested in the cell are left out; they are read as tables of their own.
    """
    return "\n".join(_paragraph_text(p, fonts) for p in _iter_blocks(container) if p.tag == _P)


def _paragraph_text(p: etree._Element, fonts: _StyleFonts) -> str:
    out: list[str] = []
    _walk(p, out, fonts)
    return "".join(out)


def _walk(el: etree._Element, out: list[str], fonts: _StyleFonts) -> None:
    for child in el:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIPPED:
            continue
        if tag == _T:
            run = child.getparent()
            out.append(fonts.decode(child.text or "", run))
        elif tag == _SDT:
            box = _content_control_checkbox(child)
            if box is not None:
                out.append(_BOX_ON if box else _BOX_OFF)
            else:
                content = child.find(_SDT_CONTENT)
                if content is not None:
                    _walk(content, out, fonts)
        elif tag == _FLD_CHAR:
            box = _legacy_checkbox(child)
            if box is not None:
                out.append(_BOX_ON if box else _BOX_OFF)
        elif tag == _SYM:
            out.append(_sym_char(child))
        elif tag == _TAB:
            out.append("\t")
        elif tag in (_BR, _CR):
            out.append("\n")
        elif tag == _NB_HYPHEN:
            out.append("-")
        elif tag == _ALT_CONTENT:
            # mc:Fallback repeats mc:Choice for old readers; read one of them.
            choice = child.find(f"{{{_MC}}}Choice")
            if choice is not None:
                _walk(choice, out, fonts)
        elif not tag.startswith(f"{{{_MC}}}"):
            _walk(child, out, fonts)


_FLD_CHAR, _SYM, _TAB, _BR, _CR = qn("w:fldChar"), qn("w:sym"), qn("w:tab"), qn("w:br"), qn("w:cr")
_NB_HYPHEN = qn("w:noBreakHyphen")
_ALT_CONTENT = f"{{{_MC}}}AlternateContent"
_MC_FALLBACK = f"{{{_MC}}}Fallback"
_BOX_ON, _BOX_OFF = "☑", "☐"


def _on_off(el: etree._Element | None, attr: str = qn("w:val")) -> bool | None:
    """An OOXML on/off element: present without a value means on."""
    if el is None:
        return None
    val = el.get(attr)
    return val is None or val.lower() not in ("0", "false", "off")


def _content_control_checkbox(sdt: etree._Element) -> bool | None:
    pr = sdt.find(_SDT_PR)
    if pr is None:
        return None
    box = pr.find(f"{{{_W14}}}checkbox")
    if box is None:
        return None
    return bool(_on_off(box.find(f"{{{_W14}}}checked"), f"{{{_W14}}}val"))


def _legacy_checkbox(fld_char: etree._Element) -> bool | None:
    box = fld_char.find(f"{qn('w:ffData')}/{qn('w:checkBox')}")
    if box is None:
        return None
    checked = _on_off(box.find(qn("w:checked")))
    if checked is not None:
        return checked
    # No explicit state: the box shows its default.
    return bool(_on_off(box.find(qn("w:default"))))


# -- symbol fonts ------------------------------------------------------------------------------

# Code (0x00–0xFF) in a symbol font → the Unicode character it looks like. Only what people use
# to tick or leave a box; other symbol characters pass through unchanged.
_SYMBOL_FONTS: dict[str, dict[int, str]] = {
    "wingdings": {
        0x6C: "●",
        0x6E: "■",
        0x6F: "□",
        0x71: "❑",
        0x72: "❒",
        0x78: "⌧",
        0xA1: "○",
        0xA4: "◉",
        0xA8: "◻",
        0xFB: "✗",
        0xFC: "✓",
        0xFD: "☒",
        0xFE: "☑",
    },
    "wingdings 2": {
        0x4F: "✗",
        0x50: "✓",
        0x51: "☒",
        0x52: "☑",
        0x53: "☒",
        0x54: "☒",
        0x98: "●",
        0x99: "○",
        0x9E: "⦿",
        0xA2: "■",
        0xA3: "□",
        0xA4: "□",
        0xA5: "□",
        0xA6: "□",
        0xA8: "▣",
    },
    "webdings": {0x61: "✔", 0x63: "□", 0x72: "✗"},
    "symbol": {0xD6: "√"},
    "wingdings 3": {},
}
# A private-use character with no symbol font in sight: the common Wingdings / Wingdings 2 boxes
# are unambiguous enough to read on their own.
_PUA_FALLBACK = {
    0x52: "☑", 0x54: "☒", 0x50: "✓", 0xA3: "□",  # Wingdings 2
    0xFE: "☑", 0xFD: "☒", 0xFC: "✓", 0xA8: "◻",  # Wingdings
}  # fmt: skip


def _symbol_font(name: str | None) -> dict[int, str] | None:
    if not name:
        return None
    return _SYMBOL_FONTS.get(name.strip().lower())


def _symbol_code(ch: str) -> int | None:
    code = ord(ch)
    if 0xF000 <= code <= 0xF0FF:
        return code - 0xF000
    if code <= 0xFF:
        return code
    return None


def _sym_char(sym: etree._Element) -> str:
    font = sym.get(qn("w:font"))
    try:
        code = int(sym.get(qn("w:char")) or "", 16)
    except ValueError:
        return ""
    code = code - 0xF000 if 0xF000 <= code <= 0xF0FF else code
    table = _symbol_font(font)
    if table is not None:
        return table.get(code, "\ufffd")
    return chr(code) if code > 0xFF else _PUA_FALLBACK.get(code, "\ufffd")


class _StyleFonts:
    """Fonts of runs, direct or from a character style, to read symbol-font text."""

    def __init__(self, styles: etree._Element | None) -> None:
        self._styles: dict[str, dict[str, str]] = {}
        self._based_on: dict[str, str] = {}
        if styles is None:
            return
        for style in styles.iter(qn("w:style")):
            sid = style.get(qn("w:styleId"))
            if not sid:
                continue
            rfonts = style.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
            if rfonts is not None:
                self._styles[sid] = _font_attrs(rfonts)
            based = style.find(qn("w:basedOn"))
            if based is not None and based.get(qn("w:val")):
                self._based_on[sid] = based.get(qn("w:val")) or ""

    def _style_fonts(self, sid: str) -> dict[str, str]:
        chain: list[str] = []
        while sid and sid not in chain and len(chain) < 20:
            chain.append(sid)
            sid = self._based_on.get(sid, "")
        merged: dict[str, str] = {}
        for s in reversed(chain):
            merged.update(self._styles.get(s, {}))
        return merged

    def run_fonts(self, run: etree._Element | None) -> dict[str, str]:
        if run is None or run.tag != _R:
            return {}
        rpr = run.find(qn("w:rPr"))
        if rpr is None:
            return {}
        fonts: dict[str, str] = {}
        rstyle = rpr.find(qn("w:rStyle"))
        if rstyle is not None and rstyle.get(qn("w:val")):
            fonts.update(self._style_fonts(rstyle.get(qn("w:val")) or ""))
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is not None:
            fonts.update(_font_attrs(rfonts))
        return fonts

    def decode(self, text: str, run: etree._Element | None) -> str:
        """`text` of `run` as it looks: symbol-font codes become their Unicode look-alikes."""
        if not text:
            return text
        fonts = self.run_fonts(run)
        tables = [_symbol_font(fonts.get(k)) for k in ("ascii", "hAnsi", "eastAsia", "cs")]
        has_pua = any(0xF000 <= ord(c) <= 0xF0FF for c in text)
        if not has_pua and all(t is None for t in tables):
            return text
        # Word draws U+0000–007F in the ascii font, the rest in hAnsi (eastAsia when the run is
        # hinted so); a conversion writes the same font in all four.
        high = fonts.get("eastAsia") if fonts.get("hint") == "eastAsia" else fonts.get("hAnsi")
        low_table = tables[0]
        high_table = _symbol_font(high) or tables[1]
        any_table = next((t for t in tables if t is not None), None)
        out: list[str] = []
        for ch in text:
            code = _symbol_code(ch)
            if code is None:
                out.append(ch)
                continue
            pua = ord(ch) >= 0xF000
            table = low_table if ord(ch) < 0x80 else high_table
            if table is None and pua:
                table = any_table
            if table is not None:
                out.append(table.get(code, ch))
            elif pua:
                out.append(_PUA_FALLBACK.get(code, ch))
            else:
                out.append(ch)
        return "".join(out)


def _font_attrs(rfonts: etree._Element) -> dict[str, str]:
    out = {}
    for name in ("ascii", "hAnsi", "eastAsia", "cs", "hint"):
        val = rfonts.get(qn(f"w:{name}"))
        if val:
            out[name] = val
    return out


# -- hints -------------------------------------------------------------------------------------

_INTRO_HINT_CORE = re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", INTRO_HINT))
_BRACKETED_INTRO_HINT = re.compile(r"[（(][^()（）]*?(?:字以内|请简要介绍|另附页)[^()（）]*[)）]")
_BARE_INTRO_HINT = re.compile(r"\d+\s*字以内[。.，,]?\s*请简要介绍[\s\S]*?另附页[。.]?")
_STAMP = re.compile(r"[（(]\s*(?:单位)?\s*(?:公章|盖章|签章|印章|签字|签名)\s*[)）]")
_DATE_SKELETON = re.compile(r"(?<![0-9０-９〇零一二三四五六七八九十])年\s*月\s*日")


def _strip_hints(key: str, value: str) -> tuple[str, bool]:
    """The value without the form's hint text, and whether hint text was all there was."""
    stripped = value
    if key == "案例简介":
        stripped = _BRACKETED_INTRO_HINT.sub("", stripped)
        stripped = _BARE_INTRO_HINT.sub("", stripped)
        # A leftover piece of the hint on a line of its own (the unit deleted part of it).
        lines = [ln for ln in stripped.split("\n") if not _is_intro_hint_fragment(ln)]
        stripped = "\n".join(lines)
    elif key == "推荐单位意见":
        stripped = _STAMP.sub("", stripped)
        stripped = _DATE_SKELETON.sub("", stripped)
        # The template's blank lines make room for the seal; they are no part of the opinion.
        stripped = "\n".join(ln for ln in stripped.split("\n") if ln.strip())
    stripped = _trim_lines(stripped)
    return stripped, stripped == "" and _trim_lines(value) != ""


def _is_intro_hint_fragment(line: str) -> bool:
    core = re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", line))
    return len(core) >= 8 and core in _INTRO_HINT_CORE


def _trim_lines(text: str) -> str:
    lines = [ln.rstrip() for ln in text.split("\n")]
    return "\n".join(lines).strip()


# -- category ticks ----------------------------------------------------------------------------

TICKED_MARKS = frozenset("√✓✔✅☑☒■●▣◉⦿⊠⌧◆◼◾⬛▪🗸🗹🗷🗵⮽")
UNTICKED_MARKS = frozenset("☐□○◯◻◽▢❑❒◇⬜❍🞎🞏🞐🞑🞒🞓")
# Between a mark and its label these may stand besides whitespace: `园区（√）`, `园区:☑`.
_CONNECTORS = frozenset("()（）[]【】〔〕:：、,，;；.。-—_")
_INSTRUCTION = re.compile(r"[（(][^()（）]*(?:打|勾|选|填)[^()（）]*[)）]")
# `企业（ ）`: brackets left empty are the unticked boxes of a `企业（√）` form.
_EMPTY_BRACKETS = re.compile(r"[（(\[【]\s*[)）\]】]")
_OPENING, _CLOSING = frozenset("（([【"), frozenset(")）]】")


@dataclass(frozen=True)
class _Item:
    start: int
    end: int
    key: str | None = None  # a label
    ticked: bool | None = None  # a mark


def ticked_categories(text: str, category_labels: Mapping[str, str]) -> list[str]:
    """The category keys ticked in the category cell's text, in the order the form lists them.

    Marks are the characters in `TICKED_MARKS` / `UNTICKED_MARKS` (check boxes and symbol
    fonts already turned into these). Each mark belongs to one label:

    - a mark with a label right after it (only whitespace or brackets/colons between, e.g.
      `√园区`, `☑ 园区`) or right before it (`园区√`, `园区（√）`) can belong to that label;
    - if both are possible (`园区 √ 企业`), the cell's own convention decides: marks before
      labels if the cell starts with a mark, after them if it ends with one (unticked boxes and
      empty brackets `（ ）` count as marks for this); otherwise the label with less whitespace
      between wins, and on a tie the label before a bracketed mark (`企业（√）社区`), else the
      label after the mark;
    - marks with no label next to them count for nothing.

    A category is ticked if a ticked mark belongs to it. With no ticked mark at all, a cell that
    lists only some of the categories (the unit deleted the others) counts those as chosen,
    unless it still has empty boxes beside more than one of them.
    `×`/`✗` are not ticks: some people cross out what they did not choose.
    """
    clean = _INSTRUCTION.sub(lambda m: " " * len(m.group(0)), text)
    items: list[_Item] = []
    for key, label in category_labels.items():
        pattern = r"\s*".join(map(re.escape, label))
        items.extend(_Item(m.start(), m.end(), key=key) for m in re.finditer(pattern, clean))
    for i, ch in enumerate(clean):
        if ch in TICKED_MARKS or ch in UNTICKED_MARKS:
            items.append(_Item(i, i + 1, ticked=ch in TICKED_MARKS))
    items.extend(_Item(m.start(), m.end(), ticked=False) for m in _EMPTY_BRACKETS.finditer(clean))
    items.sort(key=lambda it: it.start)
    labels = [it for it in items if it.key is not None]
    marks = [it for it in items if it.ticked is not None]
    order = {key: n for n, key in enumerate(dict.fromkeys(it.key for it in labels if it.key))}

    if items and items[0].ticked is not None:
        convention: str | None = "before"
    elif items and items[-1].ticked is not None:
        convention = "after"
    else:
        convention = None

    chosen: set[str] = set()
    for n, mark in enumerate(items):
        if not mark.ticked:
            continue
        after = items[n + 1] if n + 1 < len(items) and items[n + 1].key is not None else None
        before = items[n - 1] if n > 0 and items[n - 1].key is not None else None
        gap_after = _gap(clean, mark.end, after.start) if after else None
        gap_before = _gap(clean, before.end, mark.start) if before else None
        owner: _Item | None
        if gap_after is None and gap_before is None:
            owner = None
        elif gap_before is None:
            owner = after
        elif gap_after is None:
            owner = before
        elif convention == "before":
            owner = after
        elif convention == "after":
            owner = before
        else:
            if gap_before != gap_after:
                owner = before if gap_before < gap_after else after
            else:
                # `企业（√）社区`: a bracketed mark follows its label, as in `是（ ）否（√）`.
                owner = before if _bracketed(clean, mark) else after
        if owner is not None and owner.key is not None:
            chosen.add(owner.key)

    if not chosen and not any(m.ticked for m in marks):
        present = set(order)
        # Empty boxes left beside several labels mean "nothing ticked", not "others deleted".
        if 0 < len(present) < len(category_labels) and (not marks or len(present) == 1):
            chosen = present
    return sorted(chosen, key=lambda k: order[k])


def _bracketed(text: str, mark: _Item) -> bool:
    left = text[: mark.start].rstrip()
    right = text[mark.end :].lstrip()
    return bool(left) and bool(right) and left[-1] in _OPENING and right[0] in _CLOSING


def _gap(text: str, start: int, end: int) -> int | None:
    """Whitespace between two items, or None if anything but whitespace and connectors is there."""
    between = text[start:end]
    if any(not (c.isspace() or c in _CONNECTORS) for c in between):
        return None
    return sum(c.isspace() for c in between)


# -- counting like Word ------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x2FDF  # CJK and Kangxi radicals
        or 0x3001 <= code <= 0x303F  # CJK symbols and punctuation (U+3000 is a space)
        or 0x3040 <= code <= 0x31FF  # kana, bopomofo, CJK strokes
        or 0x3200 <= code <= 0x4DBF  # enclosed CJK, compatibility, extension A
        or 0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE10 <= code <= 0xFE1F  # vertical forms
        or 0xFE30 <= code <= 0xFE6F  # compatibility and small forms
        or 0xFF01 <= code <= 0xFF60  # full-width ASCII and brackets
        or 0xFFE0 <= code <= 0xFFE6  # full-width signs (￥, ￡)
        or 0x20000 <= code <= 0x3FFFF  # extensions B and later
        or ch in _CHINESE_PUNCT
    )


# Punctuation from the General Punctuation and Latin-1 blocks that a Chinese input method types
# and that Word, in Chinese text, counts as a Chinese character each.
_CHINESE_PUNCT = frozenset("“”‘’…—–·‖※№℃〃")
_RUN = re.compile(r"\s+")


def count_chars_like_word(text: str) -> int:
    """Count 字 as Word's 字数 does for Chinese text (中文字符和朝鲜语单词 + 非中文单词).

    - every CJK character counts 1, and so does every full-width or Chinese punctuation mark
      (`，。、；：？！“”‘’（）《》【】…—·`) and every full-width letter or digit;
    - every other run of non-space characters counts 1 as a word: `CO2`, `12.5MW`, `2023`
      (in `2023年` the run ends at 年: 2 in all), `e-mail`, `hello,` (half-width punctuation
      touching a word is part of it);
    - a half-width punctuation mark standing alone between spaces counts 1, as Word counts it;
    - whitespace (including the full-width space U+3000) counts nothing.
    """
    count = 0
    in_word = False
    for ch in text:
        if ch.isspace():
            in_word = False
        elif _is_cjk(ch):
            count += 1
            in_word = False
        elif not in_word:
            count += 1
            in_word = True
    return count
