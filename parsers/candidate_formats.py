"""Getting a candidate list's rows and lines out of each file format it comes in.

Owns telling the format by content (`list_format`: units rename `.xlsx` to `.docx` and back, and
send scans and old binary files), the limits against a hostile package, and one reader per
readable format (`READERS`: Word, Excel, CSV, plain text) feeding `ListReader`. The formats no
reader can read are `SCAN`, `OLD_WORD` and `OLD_EXCEL` (and `UNKNOWN`).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime

from parsers.candidate_rows import CandidateEntry, Cell, ListReader, Row, is_heading
from parsers.sniff import DOCX, XLSX, sniff_type

# Limits for a hostile package (openpyxl and python-docx inflate parts into memory).
_MAX_PART_BYTES = 64 * 1024 * 1024
_MAX_TOTAL_BYTES = 256 * 1024 * 1024
_MAX_ROWS = 2000  # per table or sheet; a list has a dozen
_MAX_COLS = 40
_MAX_SHEETS = 10


class TooLarge(Exception):
    """A part or the whole package inflates beyond the limits: not read at all."""


# Formats besides DOCX and XLSX (which are `parsers.sniff`'s content types).
SCAN, OLD_WORD, OLD_EXCEL, TEXT, CSV = "scan", "old_word", "old_excel", "text", "csv"
UNKNOWN = "unknown"


def list_format(name: str, data: bytes) -> str:
    """DOCX, XLSX, CSV or TEXT by the content (`name` only breaks ties), or a format no reader
    reads: SCAN, OLD_WORD, OLD_EXCEL, UNKNOWN. Raises `TooLarge` for an oversized package."""
    ctype = sniff_type(data, name)
    if ctype in (DOCX, XLSX, "application/zip"):
        return _ooxml_kind(data)
    if ctype == "application/pdf" or ctype.startswith("image/"):
        return SCAN
    if ctype == "application/msword":
        return OLD_WORD
    if ctype == "application/vnd.ms-excel":
        return OLD_EXCEL
    if ctype == "text/csv":
        return CSV
    if ctype == "text/plain":
        return TEXT
    return UNKNOWN


def _ooxml_kind(data: bytes) -> str:
    """docx or xlsx by the members actually present (units rename `.xlsx` to `.docx` and back)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        if any(i.file_size > _MAX_PART_BYTES for i in infos) or (
            sum(i.file_size for i in infos) > _MAX_TOTAL_BYTES
        ):
            raise TooLarge
        names = {i.filename for i in infos}
    if "word/document.xml" in names or any(n.startswith("word/") for n in names):
        return DOCX
    if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
        return XLSX
    return UNKNOWN


def _read_docx(data: bytes, labels: tuple[str, ...]) -> list[CandidateEntry]:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = Document(io.BytesIO(data))
    reader = ListReader(labels)
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
            if is_heading(text, reader.heading):
                reader.set_section(text)
    if tables_gave:
        return reader.entries
    # No list table: numbered paragraphs (`1. XX`) with their category headings.
    reader = ListReader(labels)
    for kind, block in blocks:
        if kind == "p":
            reader.line(block.text)  # type: ignore[attr-defined]
    return reader.entries


def _docx_rows(table: object) -> Iterator[Row]:
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
        yield [Cell(text, key) for key, text in cells[:_MAX_COLS]]


_W_T = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"


def _read_xlsx(data: bytes, labels: tuple[str, ...]) -> list[CandidateEntry]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        reader = ListReader(labels)
        heading = reader.heading
        for index, ws in enumerate(wb.worksheets[:_MAX_SHEETS]):
            # A sheet per category (`园区`, `企业类`) names the section; other titles do not.
            if is_heading(str(ws.title), heading):
                reader.set_section(str(ws.title))
            rows = ws.iter_rows(max_row=_MAX_ROWS, max_col=_MAX_COLS, values_only=True)
            reader.block(
                [Cell(_xlsx_text(v), (index, r, c)) for c, v in enumerate(values)]
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
    reader = ListReader(labels)
    for line in _decode_text(data).splitlines()[:_MAX_ROWS]:
        reader.line(line)
    return reader.entries


def _read_csv(data: bytes, labels: tuple[str, ...]) -> list[CandidateEntry]:
    reader = ListReader(labels)
    lines = _decode_text(data).splitlines()[:_MAX_ROWS]
    reader.block(
        [Cell(v, (r, c)) for c, v in enumerate(values[:_MAX_COLS])]
        for r, values in enumerate(csv.reader(lines))
    )
    return reader.entries


READERS: dict[str, Callable[[bytes, tuple[str, ...]], list[CandidateEntry]]] = {
    DOCX: _read_docx,
    XLSX: _read_xlsx,
    TEXT: _read_text,
    CSV: _read_csv,
}
