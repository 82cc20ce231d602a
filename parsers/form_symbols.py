"""Symbol fonts: what a tick typed in Wingdings, Webdings or Symbol looks like as Unicode.

Owns the code → look-alike tables (`☑`, `□`, `✓` …) for the symbol fonts people tick boxes with,
the private-use characters (U+F0xx) a `.doc` → `.docx` conversion leaves, `w:sym` elements
(`sym_char`) and `StyleFonts`, which finds a run's fonts directly or through its character style
so that `StyleFonts.decode` can turn the run's text into what Word draws.
"""

from __future__ import annotations

from docx.oxml.ns import qn
from lxml import etree

_R = qn("w:r")

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


def sym_char(sym: etree._Element) -> str:
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


class StyleFonts:
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
