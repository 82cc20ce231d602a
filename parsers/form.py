"""Read the recommendation form (推荐表) from `.docx` bytes into `FormData`.

Fields are found by their labels, never by cell position: units add rows, merge and split cells,
pad labels with spaces (`联 系 人`) and switch bracket widths. A label is a cell whose text,
normalised (NFKC, whitespace removed, so full- and half-width brackets and colons compare equal),
is a known label, optionally followed by parenthesised notes (`申报单位（个人）`,
`类别（在所属类别打√）`) and a colon. Its value is whatever follows the label in the same cell
plus the distinct cells to its right in the same row, up to the next label. Forms typed as plain
paragraphs (`案例名称：……`) are read the same way, for the fields the tables did not give.

This module owns `read_form` and label matching. Which fields a form has, their labels and
aliases, and the hint texts that count as empty are the campaign's (`campaign.FormSpec`; the
2023 form is the default). The rest of the form reader lives beside it:

- `form_open`: opening the package safely (`FormUnreadable`);
- `form_text`: the text of paragraphs and cells, with check boxes turned into `☑` / `☐`;
- `form_symbols`: symbol fonts (Wingdings, Wingdings 2, Webdings, Symbol; also the private-use
  characters U+F0xx that a `.doc` → `.docx` conversion leaves) read as their Unicode look-alikes;
- `form_ticks`: which categories the category cell ticks (`ticked_categories`);
- `form_count`: counting 字 like Word (`count_chars_like_word`).

`FormUnreadable`, `ticked_categories` and `count_chars_like_word` are importable from here too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from docx.oxml.ns import qn
from docx.table import Table
from lxml import etree

from campaign import FormSpec
from parsers.form_count import count_chars_like_word
from parsers.form_open import FormUnreadable, open_body
from parsers.form_symbols import StyleFonts
from parsers.form_text import block_text, in_fallback, iter_blocks, paragraph_text
from parsers.form_ticks import read_ticks, ticked_categories
from parsers.model import FormData

__all__ = [
    "DEFAULT_FORM",
    "FIELDS",
    "FORM_READER_VERSION",
    "FIELD_LABELS",
    "FormUnreadable",
    "count_chars_like_word",
    "match_label",
    "normalise_label",
    "read_form",
    "read_ticks",
    "ticked_categories",
]

# The 2023 form's field keys and accepted labels (the default `FormSpec`), for callers that
# want the names; a campaign's own form may have others.
DEFAULT_FORM = FormSpec()
FIELD_LABELS: dict[str, tuple[str, ...]] = {f.key: f.labels for f in DEFAULT_FORM.fields}
FIELDS: tuple[str, ...] = tuple(FIELD_LABELS)
CATEGORY_FIELD = "类别"
# Bump when `read_form` would read the same bytes differently: `intake.derived` keeps forms'
# reads under it, and a stale read must not outlive the reader that made it.
FORM_READER_VERSION = 1


def read_form(
    docx: bytes, category_labels: Mapping[str, str], form: FormSpec = DEFAULT_FORM
) -> FormData:
    """Read a `.docx` form. `category_labels` maps category key → label, e.g. `park` → `园区`;
    `form` is the campaign's description of the form (its fields, labels and hint texts).

    `FormData.fields` holds the fields whose label was found (keys as in `form.fields`), values
    trimmed and with hint text removed; `hints_left` the keys whose value was nothing but hint
    text; `categories` the ticked category keys, in form order; `other_categories` the options
    ticked that the call does not have.
    """
    body, styles = open_body(docx)
    fonts = StyleFonts(styles)
    found = _Found()
    for tbl in body.iter(qn("w:tbl")):
        if in_fallback(tbl):
            continue
        _read_table(Table(tbl, None), fonts, found, form)  # type: ignore[arg-type]
    _read_paragraphs(body, fonts, found, form)

    data = FormData()
    for spec in form.fields:
        raw = found.value(spec.key)
        if raw is None:
            continue
        value, only_hint = _strip_hints(spec.key, raw, form.hints)
        data.fields[spec.key] = value
        if only_hint:
            data.hints_left.append(spec.key)
    if CATEGORY_FIELD in found.raw:
        data.categories, data.other_categories = read_ticks(
            found.value(CATEGORY_FIELD) or "", category_labels, form.option_words
        )
    return data


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


def _read_table(table: Table, fonts: StyleFonts, found: _Found, form: FormSpec) -> None:
    for row in table.rows:
        cells = _distinct_cells(row)
        texts = [block_text(tc, fonts) for tc in cells]
        labels = [match_label(t, form) for t in texts]
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


def _read_paragraphs(
    body: etree._Element, fonts: StyleFonts, found: _Found, form: FormSpec
) -> None:
    """Fields typed as `标签：内容` paragraphs outside tables; only fills what tables did not."""
    current: str | None = None
    pieces: dict[str, list[str]] = {}
    fallbacks: set[str] = set()
    for p in iter_blocks(body):
        if p.tag != qn("w:p"):
            current = None  # a table ends a paragraph field
            continue
        text = paragraph_text(p, fonts)
        match = match_label(text, form)
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


@lru_cache(maxsize=8)
def _all_labels(form: FormSpec) -> list[tuple[str, str, bool]]:
    """(normalised label, field key, is a fallback label), longest label first."""
    return sorted(
        [(normalise_label(a), f.key, False) for f in form.fields for a in f.labels]
        + [(normalise_label(a), f.key, True) for f in form.fields for a in f.fallback_aliases],
        key=lambda t: -len(t[0]),
    )


def normalise_label(text: str) -> str:
    """`联 系 人：` → `联系人`; `申报单位（个人）` → `申报单位(个人)`."""
    return _normalise_with_map(text)[0].rstrip(":")


def match_label(text: str, form: FormSpec = DEFAULT_FORM) -> tuple[str, str, bool] | None:
    """If `text` starts with a field label: (key, the text after the label, is a fallback label).

    After the label come optional parenthesised notes and colons. The label must end there: at
    the end of the text, at a colon, or at whitespace in the original, so a value such as
    `手机支付推广` is not taken for the label `手机`.
    """
    norm, where = _normalise_with_map(text)
    for alias, key, fallback in _all_labels(form):
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


# -- hints -------------------------------------------------------------------------------------


def _core(text: str) -> str:
    return re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", text))


_BRACKETED_INTRO_HINT = re.compile(r"[（(][^()（）]*?(?:字以内|请简要介绍|另附页)[^()（）]*[)）]")
_BARE_INTRO_HINT = re.compile(r"\d+\s*字以内[。.，,]?\s*请简要介绍[\s\S]*?另附页[。.]?")
_STAMP = re.compile(r"[（(]\s*(?:单位)?\s*(?:公章|盖章|签章|印章|签字|签名)\s*[)）]")
_DATE_SKELETON = re.compile(r"(?<![0-9０-９〇零一二三四五六七八九十])年\s*月\s*日")


def _strip_hints(key: str, value: str, hints: tuple[str, ...]) -> tuple[str, bool]:
    """The value without the form's hint text, and whether hint text was all there was."""
    stripped = value
    cores = tuple(_core(h) for h in hints)
    if key == "案例简介":
        stripped = _BRACKETED_INTRO_HINT.sub("", stripped)
        stripped = _BARE_INTRO_HINT.sub("", stripped)
        # A leftover piece of the hint on a line of its own (the unit deleted part of it).
        lines = [ln for ln in stripped.split("\n") if not _is_hint_fragment(ln, cores)]
        stripped = "\n".join(lines)
    elif _core(stripped) and _core(stripped) in cores:
        stripped = ""  # another field's hint, left as the blank form has it
    elif key == "推荐单位意见":
        stripped = _STAMP.sub("", stripped)
        stripped = _DATE_SKELETON.sub("", stripped)
        # The template's blank lines make room for the seal; they are no part of the opinion.
        stripped = "\n".join(ln for ln in stripped.split("\n") if ln.strip())
    stripped = _trim_lines(stripped)
    return stripped, stripped == "" and _trim_lines(value) != ""


def _is_hint_fragment(line: str, hint_cores: tuple[str, ...]) -> bool:
    core = _core(line)
    return len(core) >= 8 and any(core in hint for hint in hint_cores)


def _trim_lines(text: str) -> str:
    lines = [ln.rstrip() for ln in text.split("\n")]
    return "\n".join(lines).strip()
