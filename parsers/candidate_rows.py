"""Turning a candidate list's rows and lines into entries: columns by label, sections, order.

Owns `CandidateEntry` and `ListReader`, which reads blocks of rows (a Word table, a sheet, a CSV
file) and single lines (paragraphs, a text file) into entries in list order: the header row and
its columns by their labels, category sections (a spanning row, a heading line, a `类别` column
left blank for "as above"), and each entry's order as written or else its position. How the rows
come out of each file format is `candidate_formats`'s business.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from parsers.candidate_order import CN_NUMERALS, parse_order_number, split_order_prefix


@dataclass(frozen=True)
class CandidateEntry:
    order: int | None
    name: str
    applicant: str | None = None
    # As written: `园区`, `企业类`, or a heading line such as `一、园区类`.
    category: str | None = None
    # True when the order was written in the list (a 序号/推荐顺序 cell, a numbered line); False
    # when it is only the row's position within its category.
    explicit: bool = False


# -- labels and headings -----------------------------------------------------------------------

_ORDER_RANK_LABELS = frozenset(
    {"推荐顺序", "推荐排序", "推荐次序", "推荐顺位", "推荐排名", "推荐序号", "排序", "顺序",
     "次序", "顺位", "排名", "优先顺序"}
)  # fmt: skip
_ORDER_SEQ_LABELS = frozenset({"序号", "编号", "no", "no."})
_NAME_LABELS = frozenset(
    {"案例名称", "名称", "项目名称", "案例", "案例名", "案例题目", "推荐案例", "推荐案例名称",
     "典型案例名称", "候选案例", "候选案例名称", "项目", "案例项目名称"}
)  # fmt: skip
_APPLICANT_LABELS = frozenset(
    {"申报单位", "单位", "申报主体", "申报个人", "申报单位或个人", "申报单位/个人", "单位/个人",
     "单位名称", "申报单位名称", "申报人", "申报对象", "推荐对象", "实施单位", "实施主体"}
)  # fmt: skip
_CATEGORY_LABELS = frozenset({"类别", "类型", "案例类别", "案例类型", "申报类别", "所属类别"})

_RANK, _SEQ, _NAME, _APPLICANT, _CATEGORY = "rank", "seq", "name", "applicant", "category"
_LABEL_KINDS = (
    (_RANK, _ORDER_RANK_LABELS),
    (_SEQ, _ORDER_SEQ_LABELS),
    (_NAME, _NAME_LABELS),
    (_APPLICANT, _APPLICANT_LABELS),
    (_CATEGORY, _CATEGORY_LABELS),
)
_NOTES = re.compile(r"\([^()]*\)")
# Lines under the list that land in the name column: `合计`, `推荐单位（盖章）`, the date under
# the seal (`2023年12月20日`, or left blank as `年  月  日`), `联系人：…`, `注：…`.
_NOT_A_CASE = re.compile(
    r"^(?:合计|小计|总计|共计)$|盖章|公章|^(?:\d{4})?年\d{0,2}月\d{0,2}日$"
    r"|^(?:注|备注|说明|填表人|联系人|联系电话)(?::|$)"
)


def _not_a_case(name: str) -> bool:
    return bool(_NOT_A_CASE.search("".join(unicodedata.normalize("NFKC", name).split())))


def _label_kind(text: str) -> str | None:
    norm = "".join(unicodedata.normalize("NFKC", text).split()).lower()
    norm = _NOTES.sub("", norm.replace("【", "(").replace("】", ")")).rstrip(":")
    for kind, labels in _LABEL_KINDS:
        if norm in labels:
            return kind
    return None


def _heading_pattern(labels: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(lb) for lb in sorted(labels, key=len, reverse=True))
    return re.compile(
        rf"^(?:第?(?:\d{{1,2}}|[{CN_NUMERALS}]{{1,3}})[、.:)]?|\((?:\d{{1,2}}|[{CN_NUMERALS}]{{1,3}})\))?"
        rf"(?:{alternatives})(?:类别|类型|类案例|类|案例)?(?:\([^()]*\))?"
        rf"(?:推荐名单|候选名单|名单|案例)?(?:\([^()]*\))?:?$"
    )


def is_heading(text: str, pattern: re.Pattern[str]) -> bool:
    """`一、园区类`, `（二）企业类案例（3个）`, `社区：` — a line that only names a category."""
    norm = "".join(unicodedata.normalize("NFKC", text).split())
    return bool(pattern.match(norm))


_NOTE_STARTS = ("注", "备注", "说明", "附", "填表")


def _mentions_category(text: str, labels: Sequence[str]) -> bool:
    # A spanning row that names a category and is short enough to be a heading, not a footnote
    # (`注：园区类按推荐顺序排列`).
    return (
        len(text) <= 30 and not text.startswith(_NOTE_STARTS) and any(lb in text for lb in labels)
    )


# -- rows to entries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    key: object  # the same for every grid position a merged cell covers


Row = list[Cell]


@dataclass
class _Columns:
    """Grid columns under each header label kind."""

    by_kind: dict[str, list[int]]
    width: int


class ListReader:
    """Turns blocks of rows (tables, sheets) and lines (paragraphs) into entries, in order."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.heading = _heading_pattern(labels)
        self.entries: list[CandidateEntry] = []
        self.section: str | None = None  # the current category heading
        self.columns: _Columns | None = None  # the last header seen, for tables without one
        self.positions: dict[str | None, int] = {}

    def add(
        self, order: int | None, name: str, applicant: str | None, category: str | None
    ) -> None:
        position = self.positions.get(category, 0) + 1
        self.positions[category] = position
        explicit = order is not None
        entry = CandidateEntry(
            order if order is not None else position, name, applicant or None, category, explicit
        )
        self.entries.append(entry)

    def set_section(self, text: str) -> None:
        self.section = text.strip()

    # -- lines ---------------------------------------------------------------------------------

    def line(self, text: str) -> None:
        """One paragraph outside tables: a category heading, a numbered case, or nothing."""
        text = text.strip()
        if not text:
            return
        if is_heading(text, self.heading):
            self.set_section(text)
            return
        order, rest = split_order_prefix(text)
        if order is None:
            return
        name, applicant = _split_name_applicant(rest)
        if name:
            self.add(order, name, applicant, self.section)

    # -- rows ----------------------------------------------------------------------------------

    def block(self, rows: Iterable[Row]) -> None:
        """One table or sheet."""
        columns: _Columns | None = None
        carried: str | None = None  # the category column's value, for blank cells below it
        before_header: list[Row] = []
        for row in rows:
            if columns is not None:
                carried = self._row(row, columns, carried)
                continue
            columns = _header(row)
            if columns is None:
                before_header.append(row)
                continue
            self.columns = columns
            # Above the header stand the title and perhaps the section (`一、园区类`).
            for title_row in before_header:
                self._heading_only(title_row)
        if columns is not None:
            return
        # No header of its own: the previous table's columns if the width agrees (one table per
        # category, header only in the first), else a guess from a leading number column.
        previous = self.columns
        columns = previous if previous and previous.width == _width(before_header) else None
        columns = columns or _guess_columns(before_header)
        for row in before_header:
            if columns is None:
                self._heading_only(row)  # not a list table; a section title table at most
            else:
                carried = self._row(row, columns, carried)

    def _heading_only(self, row: Row) -> None:
        texts = _distinct_texts(row)
        if len(texts) == 1 and is_heading(texts[0][1], self.heading):
            self.set_section(texts[0][1])

    def _row(self, row: Row, columns: _Columns, carried: str | None) -> str | None:
        texts = _distinct_texts(row)
        if not texts:
            return carried
        name_cols = columns.by_kind[_NAME]
        if len(texts) == 1:
            col, text = texts[0]
            spans = sum(1 for c in row if c.key == row[col].key) > 1
            if is_heading(text, self.heading) or (
                (spans or col not in name_cols)
                and parse_order_number(text) is None
                and _mentions_category(text, self.labels)
            ):
                self.set_section(text)
                return None  # a new section: the category column's "as above" starts afresh
            if col not in name_cols:
                return carried  # a title, footnote or stray cell
        used: set[object] = set()
        name = _value(row, name_cols, used)
        if not name or _label_kind(name) == _NAME or _not_a_case(name):
            return carried  # an empty row, a repeated header, a total, seal or note line
        order = None
        for kind in (_RANK, _SEQ):
            order = order or parse_order_number(_value(row, columns.by_kind.get(kind, []), used))
        applicant = _value(row, columns.by_kind.get(_APPLICANT, []), used)
        category_cols = columns.by_kind.get(_CATEGORY, [])
        category = _value(row, category_cols, used) if category_cols else ""
        # A blank category cell means "as above" (and is what a merged cell reads as in xlsx).
        carried = category or carried
        self.add(order, name, applicant, carried or self.section)
        return carried


def _distinct_texts(row: Row) -> list[tuple[int, str]]:
    """(first grid column, text) of each non-empty cell, merged cells once."""
    seen: set[object] = set()
    out: list[tuple[int, str]] = []
    for i, cell in enumerate(row):
        if cell.key in seen:
            continue
        seen.add(cell.key)
        if cell.text.strip():
            out.append((i, cell.text.strip()))
    return out


def _value(row: Row, cols: Sequence[int], used: set[object]) -> str:
    """The first non-empty text under `cols`, each merged cell given to one column only."""
    for col in cols:
        if col >= len(row):
            continue
        cell = row[col]
        if cell.key in used:
            continue
        text = _clean_cell(cell.text)
        if text:
            used.add(cell.key)
            return text
    return ""


def _clean_cell(text: str) -> str:
    # A name typed over two lines in a narrow cell is one name.
    return "".join(line.strip() for line in text.strip().splitlines())


def _header(row: Row) -> _Columns | None:
    by_kind: dict[str, list[int]] = {}
    for i, cell in enumerate(row):
        kind = _label_kind(cell.text)
        if kind is None:
            continue
        cols = by_kind.setdefault(kind, [])
        # A header cell spanning two grid columns covers both; a second cell with the same kind
        # of label (`名称` after `案例名称`) is another column and is not read.
        if not cols or row[cols[-1]].key == cell.key:
            cols.append(i)
    if _NAME not in by_kind:
        return None
    return _Columns(by_kind, len(row))


def _width(rows: Sequence[Row]) -> int:
    return max((len(r) for r in rows), default=0)


def _guess_columns(rows: Sequence[Row]) -> _Columns | None:
    """A headerless list: a column of order numbers with the case name in the next cell."""
    for row in rows:
        texts = _distinct_texts(row)
        if len(texts) >= 2 and parse_order_number(texts[0][1]) is not None:
            cols = [col for col, _ in texts]
            by_kind = {_SEQ: [cols[0]], _NAME: [cols[1]]}
            if len(cols) > 2:
                by_kind[_APPLICANT] = [cols[2]]
            return _Columns(by_kind, len(row))
    return None


_APPLICANT_IN_LINE = re.compile(
    r"^(?P<name>.+?)\s*[(（]?\s*(?:申报单位|申报主体|申报个人|申报人|单位)\s*[:：]\s*(?P<app>[^()（）]+?)\s*[)）]?$"
)


def _split_name_applicant(text: str) -> tuple[str, str | None]:
    """`XX（申报单位：YY）`, `XX 申报单位：YY`, `XX\tYY`, `XX  YY`, `XX——YY` → (XX, YY)."""
    m = _APPLICANT_IN_LINE.match(text)
    if m:
        return m.group("name").strip(" ，,;；"), m.group("app").strip()
    parts = [p.strip() for p in re.split(r"\t+|\s{2,}|\u3000+|——", text) if p.strip()]
    if len(parts) >= 2:
        return parts[0], parts[1]
    return text.strip(), None
