"""The text of a form's paragraphs and cells, with every way of ticking a box made a character.

Owns walking the WordprocessingML tree: which elements carry text and which are skipped (deleted
text, field codes, ruby, drawings), paragraphs and tables seen through content controls and
custom XML (`iter_blocks`), text boxes read once (`mc:Choice`, not its `mc:Fallback` copy), and
check boxes — content controls (`w14:checkbox`) and legacy form fields (`FORMCHECKBOX`) — turned
into `☑` / `☐` by their stored state. Symbol-font characters are decoded by `form_symbols`.
"""

from __future__ import annotations

from collections.abc import Iterator

from docx.oxml.ns import qn
from lxml import etree

from parsers.form_symbols import StyleFonts, sym_char

_W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
_P, _TBL, _T = qn("w:p"), qn("w:tbl"), qn("w:t")
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


def block_text(container: etree._Element, fonts: StyleFonts) -> str:
    """Text of a cell (or any block container): its paragraphs joined by newlines.

    Tables nested in the cell are left out; they are read as tables of their own.
    """
    return "\n".join(paragraph_text(p, fonts) for p in iter_blocks(container) if p.tag == _P)


def paragraph_text(p: etree._Element, fonts: StyleFonts) -> str:
    out: list[str] = []
    _walk(p, out, fonts)
    return "".join(out)


def _walk(el: etree._Element, out: list[str], fonts: StyleFonts) -> None:
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
            out.append(sym_char(child))
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


def iter_blocks(el: etree._Element) -> Iterator[etree._Element]:
    """Paragraphs and tables of a body or cell in order, looking through block containers."""
    for child in el:
        tag = child.tag
        if tag in (_P, _TBL):
            yield child
        elif tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from iter_blocks(content)
        elif tag == _CUSTOM_XML:
            yield from iter_blocks(child)


def in_fallback(el: etree._Element) -> bool:
    """Whether `el` is inside an `mc:Fallback`, which repeats its `mc:Choice` for old readers
    (text boxes): such content is read once, from the choice."""
    return any(a.tag == _MC_FALLBACK for a in el.iterancestors())
