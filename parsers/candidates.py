"""Read a unit's candidate list (推荐名单) for the recommendation order of its cases.

The call asks every unit for a stamped list of its 2–3 cases per category "with the
recommendation order marked" (推荐名单请注明推荐顺序). Units send it as a Word table, an Excel
sheet, numbered paragraphs, or only as the stamped scan. What `read_candidate_list` decides, and
why:

- **Columns by their labels, never by position.** The header row is the first row with a name
  label (`案例名称`, `名称`, `项目名称` …); the other columns are found beside it by their own labels
  (`推荐顺序`/`排序` before `序号`, `申报单位`/`单位`, `类别`/`类型`). Labels are compared
  normalised (NFKC, no whitespace, parenthesised notes dropped), so `序 号` and `申报单位（个人）`
  are labels too. A table without a header repeats the previous table's columns (one table per
  category), and failing that a leading number column followed by text is read as order + name.
- **Category sections** come as a row with a single text spanning the table (`一、园区类`), a
  paragraph before the table, a sheet named after the category, or a `类别` column (vertically
  merged, or left blank meaning "as above"). The category is kept as the unit wrote it; mapping
  it to a category key is the caller's business.
- **The order is what the unit wrote when it is a number** (`1`, `１`, `01`, `一`, `第二`, `（3）`),
  else the row's position within its category, and `CandidateEntry.explicit` says which.
- **Never raises.** A scan (PDF, image), an old binary `.doc`/`.xls`, a damaged file or a file with
  no recognisable list gives `readable=False` and a Chinese note for staff. `.doc`/`.wps` lists
  are converted to `.docx` by the caller before they come here.

`order_from_name` reads the same order from a numbered case or folder name (`1.北京市XX推荐材料`),
for units that number their folders instead of sending a readable list.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from parsers.sniff import DOCX, XLSX, sniff_type

DEFAULT_CATEGORY_LABELS: tuple[str, ...] = ("园区", "企业", "社区", "个人")

NOTE_SCAN = "名单为图片或 PDF，无法自动读取推荐顺序"
NOTE_OLD_WORD = "名单为 .doc/.wps 格式，未转换为 .docx，无法自动读取推荐顺序"
NOTE_OLD_EXCEL = "名单为旧版 Excel（.xls/.et）格式，无法自动读取推荐顺序"
NOTE_DAMAGED = "名单文件已损坏，无法读取"
NOTE_TOO_LARGE = "名单文件过大，未读取"
NOTE_EMPTY_FILE = "名单文件为空"
NOTE_NO_LIST = "名单中未找到案例列表，无法自动读取推荐顺序"
NOTE_UNKNOWN = "名单格式无法识别，无法自动读取推荐顺序"


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


@dataclass(frozen=True)
class CandidateList:
    entries: tuple[CandidateEntry, ...] = ()
    readable: bool = True
    note: str = ""  # why the list could not be read; empty when it could


# Limits for a hostile package (openpyxl and python-docx inflate parts into memory).
_MAX_PART_BYTES = 64 * 1024 * 1024
_MAX_TOTAL_BYTES = 256 * 1024 * 1024
_MAX_ROWS = 2000  # per table or sheet; a list has a dozen
_MAX_COLS = 40
_MAX_SHEETS = 10


def read_candidate_list(
    name: str, data: bytes, category_labels: Sequence[str] = DEFAULT_CATEGORY_LABELS
) -> CandidateList:
    """Read the list in `data` (file `name` is only a tie-breaker for the format)."""
    if not data:
        return CandidateList(readable=False, note=NOTE_EMPTY_FILE)
    try:
        kind = _kind(name, data)
        reader = _READERS.get(kind)
        if reader is None:
            return CandidateList(readable=False, note=_UNREADABLE_NOTES.get(kind, NOTE_UNKNOWN))
        entries = reader(data, tuple(category_labels))
    except _TooLarge:
        return CandidateList(readable=False, note=NOTE_TOO_LARGE)
    except Exception:  # every library raises its own kinds on damaged input; none may escape
        return CandidateList(readable=False, note=NOTE_DAMAGED)
    if not entries:
        return CandidateList(readable=False, note=NOTE_NO_LIST)
    return CandidateList(entries=tuple(entries))


# -- order numbers -----------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3, "四": 4,
    "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9,
    "玖": 9,
}  # fmt: skip
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100}
_CN = "零〇一壹二两贰三叁四肆五伍六陆七柒八捌九玖十拾百佰"


def chinese_numeral(text: str) -> int | None:
    """`一` → 1, `十二` → 12, `二十` → 20, `一百零五` → 105; None if not a plain numeral."""
    if not text or any(ch not in _CN for ch in text):
        return None
    total = current = 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        else:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
    return total + current


_ORDER_CELL = re.compile(
    r"^(?:no\.?|第)?[(\[【〔]?(?P<n>\d{1,3}|[" + _CN + r"]{1,4})[)\]】〕]?"
    r"(?:\.0+)?(?:个|名|位|顺位)?[.、:]?$"
)


def parse_order_number(text: str) -> int | None:
    """An order written in a cell: `1`, `１`, `01`, `一`, `第二`, `（3）`, `1.`, `①`; else None."""
    norm = "".join(unicodedata.normalize("NFKC", text).split()).lower()
    m = _ORDER_CELL.match(norm)
    if m is None:
        return None
    raw = m.group("n")
    value = int(raw) if raw.isdigit() else chinese_numeral(raw)
    return value if value else None


# Characters that make a leading number a quantity or a date, not an order: `2号园区`, `3个社区`.
_MEASURES = "年月日号个家万千百亿吨度期届项条种次座所类天元米人户名位只台辆栋层周批轮代"
_SEP = r"[、.．:：\-_—－~～)）]"
_NAME_PREFIX = re.compile(
    rf"""^\s*
    (?:(?:{"|".join(DEFAULT_CATEGORY_LABELS)})类?\s*)?       # `园区1-XX`
    (?:
        第\s*(?P<a>\d{{1,3}}|[{_CN}]{{1,4}})\s*(?:(?:个|名|位)\s*{_SEP}*\s*|{_SEP}+\s*|\s+)
      | [(\[【〔]\s*(?P<b>\d{{1,3}}|[{_CN}]{{1,4}})\s*[)\]】〕]\s*{_SEP}*\s*
      | (?P<c>\d{{1,3}})\s*(?:{_SEP}+(?!\d)\s*|\s+)
      | (?P<d>[{_CN}]{{1,3}})\s*[、.．:：]\s*
      | (?P<e>\d{{1,2}})(?=[\u4e00-\u9fff])(?![{_MEASURES}])
    )
    (?P<rest>.*)$""",
    re.VERBOSE | re.DOTALL,
)
_MAX_NAME_ORDER = 99  # a larger leading number is a quantity or a year, not an order


def split_order_prefix(text: str) -> tuple[int | None, str]:
    """A leading order number and the text after it: `2、XX` → (2, `XX`); else (None, text).

    Accepted: `1.XX`, `01-XX`, `2、XX`, `1 XX`, `（一）XX`, `(1)XX`, `【1】XX`, `一、XX`, `第2个 XX`,
    `第二、XX`, `①XX`, `1北京市XX` and the same after a category word (`园区1-XX`). Not an order:
    `2023年XX`, `2023-XX`, `1.5万吨XX`, `2号园区`, `一带一路XX`, `第一批XX`.
    """
    stripped = text.strip()
    if stripped and "①" <= stripped[0] <= "⑳":  # NFKC would make `①北京` into `1北京`
        return ord(stripped[0]) - ord("①") + 1, stripped[1:].strip()
    norm = unicodedata.normalize("NFKC", stripped)
    m = _NAME_PREFIX.match(norm)
    if m is None:
        return None, text
    raw = next(g for g in m.group("a", "b", "c", "d", "e") if g is not None)
    value = int(raw) if raw.isdigit() else chinese_numeral(raw)
    rest = m.group("rest").strip()
    if not value or value > _MAX_NAME_ORDER or not rest:
        return None, text
    return value, rest


def order_from_name(case_name: str) -> int | None:
    """The order a unit put in front of a case or folder name: `1.北京市XX推荐材料` → 1.

    `01-XX` → 1, `（一）XX` → 1, `第2个 XX` → 2, `2、XX` → 2, `园区1-XX` → 1; a year
    (`2023年XX`) or a quantity (`3个社区XX`) is not an order. Path separators are allowed: only
    the last component counts.
    """
    last = re.split(r"[/\\]", case_name.rstrip("/\\"))[-1]
    return split_order_prefix(last)[0]


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
        rf"^(?:第?(?:\d{{1,2}}|[{_CN}]{{1,3}})[、.:)]?|\((?:\d{{1,2}}|[{_CN}]{{1,3}})\))?"
        rf"(?:{alternatives})(?:类别|类型|类案例|类|案例)?(?:\([^()]*\))?"
        rf"(?:推荐名单|候选名单|名单|案例)?(?:\([^()]*\))?:?$"
    )


def _is_heading(text: str, pattern: re.Pattern[str]) -> bool:
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
class _Cell:
    text: str
    key: object  # the same for every grid position a merged cell covers


_Row = list[_Cell]


@dataclass
class _Columns:
    """Grid columns under each header label kind."""

    by_kind: dict[str, list[int]]
    width: int


class _Reader:
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
        if _is_heading(text, self.heading):
            self.set_section(text)
            return
        order, rest = split_order_prefix(text)
        if order is None:
            return
        name, applicant = _split_name_applicant(rest)
        if name:
            self.add(order, name, applicant, self.section)

    # -- rows ----------------------------------------------------------------------------------

    def block(self, rows: Iterable[_Row]) -> None:
        """One table or sheet."""
        columns: _Columns | None = None
        carried: str | None = None  # the category column's value, for blank cells below it
        before_header: list[_Row] = []
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

    def _heading_only(self, row: _Row) -> None:
        texts = _distinct_texts(row)
        if len(texts) == 1 and _is_heading(texts[0][1], self.heading):
            self.set_section(texts[0][1])

    def _row(self, row: _Row, columns: _Columns, carried: str | None) -> str | None:
        texts = _distinct_texts(row)
        if not texts:
            return carried
        name_cols = columns.by_kind[_NAME]
        if len(texts) == 1:
            col, text = texts[0]
            spans = sum(1 for c in row if c.key == row[col].key) > 1
            if _is_heading(text, self.heading) or (
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


def _distinct_texts(row: _Row) -> list[tuple[int, str]]:
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


def _value(row: _Row, cols: Sequence[int], used: set[object]) -> str:
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


def _header(row: _Row) -> _Columns | None:
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


def _width(rows: Sequence[_Row]) -> int:
    return max((len(r) for r in rows), default=0)


def _guess_columns(rows: Sequence[_Row]) -> _Columns | None:
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


# -- formats -----------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


_SCAN, _OLD_WORD, _OLD_EXCEL, _TEXT, _CSV = "scan", "old_word", "old_excel", "text", "csv"
_UNREADABLE_NOTES = {_SCAN: NOTE_SCAN, _OLD_WORD: NOTE_OLD_WORD, _OLD_EXCEL: NOTE_OLD_EXCEL}


def _kind(name: str, data: bytes) -> str:
    ctype = sniff_type(data, name)
    if ctype in (DOCX, XLSX, "application/zip"):
        return _ooxml_kind(data)
    if ctype == "application/pdf" or ctype.startswith("image/"):
        return _SCAN
    if ctype == "application/msword":
        return _OLD_WORD
    if ctype == "application/vnd.ms-excel":
        return _OLD_EXCEL
    if ctype == "text/csv":
        return _CSV
    if ctype == "text/plain":
        return _TEXT
    return "unknown"


def _ooxml_kind(data: bytes) -> str:
    """docx or xlsx by the members actually present (units rename `.xlsx` to `.docx` and back)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        if any(i.file_size > _MAX_PART_BYTES for i in infos) or (
            sum(i.file_size for i in infos) > _MAX_TOTAL_BYTES
        ):
            raise _TooLarge
        names = {i.filename for i in infos}
    if "word/document.xml" in names or any(n.startswith("word/") for n in names):
        return DOCX
    if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
        return XLSX
    return "unknown"


def _read_docx(data: bytes, labels: tuple[str, ...]) -> list[CandidateEntry]:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = Document(io.BytesIO(data))
    reader = _Reader(labels)
    blocks: list[tuple[str, object]] = []

    def walk(el: object) -> Iterator[object]:
        for child in el:  # type: ignore[attr-defined]
            if child.tag in (qn("w:p"), qn("w:tbl")):
                yield child
            elif child.tag == qn("w:sdt"):
                content = child.find(qn("w:sdtContent"))
                if content is not None:
                    yield from walk(content)

    for el in walk(document.element.body):
        if el.tag == qn("w:tbl"):  # type: ignore[attr-defined]
            blocks.append(("table", Table(el, document)))  # type: ignore[arg-type]
        else:
            blocks.append(("p", Paragraph(el, document)))  # type: ignore[arg-type]

    tables_gave = False
    for kind, block in blocks:
        if kind == "table":
            before = len(reader.entries)
            reader.block(_docx_rows(block))
            tables_gave = tables_gave or len(reader.entries) > before
        else:
            text = block.text  # type: ignore[attr-defined]
            if _is_heading(text, reader.heading):
                reader.set_section(text)
    if tables_gave:
        return reader.entries
    # No list table: numbered paragraphs (`1. XX`) with their category headings.
    reader = _Reader(labels)
    for kind, block in blocks:
        if kind == "p":
            reader.line(block.text)  # type: ignore[attr-defined]
    return reader.entries


def _docx_rows(table: object) -> Iterator[_Row]:
    """Rows as one cell per grid column; merged cells (either way) repeat the same `w:tc`."""
    for n, row in enumerate(table.rows):  # type: ignore[attr-defined]
        if n >= _MAX_ROWS:
            return
        try:
            cells = [(c._tc, c.text) for c in row.cells]
            # A row that starts later than the grid (w:gridBefore) still lines up with the header.
            before = [(("before", n, i), "") for i in range(row.grid_cols_before)]
            cells = before + cells
        except Exception:  # a malformed vertical merge; read the cells as they stand
            cells = [(tc, "".join(t.text or "" for t in tc.iter(_W_T))) for tc in row._tr.tc_lst]
        yield [_Cell(text, key) for key, text in cells[:_MAX_COLS]]


_W_T = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"


def _read_xlsx(data: bytes, labels: tuple[str, ...]) -> list[CandidateEntry]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        reader = _Reader(labels)
        heading = reader.heading
        for index, ws in enumerate(wb.worksheets[:_MAX_SHEETS]):
            # A sheet per category (`园区`, `企业类`) names the section; other titles do not.
            if _is_heading(str(ws.title), heading):
                reader.set_section(str(ws.title))
            rows = ws.iter_rows(max_row=_MAX_ROWS, max_col=_MAX_COLS, values_only=True)
            reader.block(
                [_Cell(_xlsx_text(v), (index, r, c)) for c, v in enumerate(values)]
                for r, values in enumerate(rows)
            )
        return reader.entries
    finally:
        wb.close()


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an order typed as a number comes back as 1.0
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _read_text(data: bytes, labels: tuple[str, ...]) -> list[CandidateEntry]:
    reader = _Reader(labels)
    for line in _decode_text(data).splitlines()[:_MAX_ROWS]:
        reader.line(line)
    return reader.entries


def _read_csv(data: bytes, labels: tuple[str, ...]) -> list[CandidateEntry]:
    reader = _Reader(labels)
    lines = _decode_text(data).splitlines()[:_MAX_ROWS]
    reader.block(
        [_Cell(v, (r, c)) for c, v in enumerate(values[:_MAX_COLS])]
        for r, values in enumerate(csv.reader(lines))
    )
    return reader.entries


_READERS: dict[str, Callable[[bytes, tuple[str, ...]], list[CandidateEntry]]] = {
    DOCX: _read_docx,
    XLSX: _read_xlsx,
    _TEXT: _read_text,
    _CSV: _read_csv,
}
