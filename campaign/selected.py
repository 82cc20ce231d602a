"""Lists of cases selected in earlier years (往年入选案例): read from CSV or xlsx, columns found by
their header, and written back as the CSV the campaign reads.

The office keeps its own list (a spreadsheet from the published results); `intake selected
import` reads it with `read_selected_table`, which says what it read and what it skipped, and
stores it with `write_selected_csv` where `load_campaign` merges it into the campaign.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from campaign.model import SelectedCase

# Header words for each column, normalised (NFKC, no spaces).  The bundled CSV uses the English
# ones; the office's spreadsheets the Chinese ones.
COLUMNS: dict[str, tuple[str, ...]] = {
    "year": ("year", "年份", "年度", "入选年份"),
    "unit": ("unit", "推荐单位", "省份", "单位"),
    "name": ("name", "案例名称", "案例"),
    "applicant": ("applicant", "申报单位", "申报单位(个人)", "申报主体"),
}
REQUIRED = ("year", "unit", "name")
_HEADER_ROWS = 10  # a title row or two may stand above the header


@dataclass
class SelectedTable:
    """What a list held: its cases, and each row skipped with the reason."""

    cases: list[SelectedCase] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class SelectedListError(ValueError):
    """The file cannot be read as a list of selected cases (no header row found, not a table)."""


def _norm(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


def _rows_of(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        # Imported only for an xlsx list: every process loads the campaign, most lists are CSV,
        # and openpyxl costs ~13 MB in each (the ingest workers among them).
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows: list[list[str]] = []
        for ws in wb.worksheets:
            rows.extend(
                ["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)
            )
        wb.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
    raise SelectedListError(f"{path.name}: neither xlsx nor a CSV in UTF-8 or GB18030")


def _header(row: Sequence[str]) -> dict[str, int] | None:
    where: dict[str, int] = {}
    for i, cell in enumerate(row):
        word = _norm(cell)
        for key, words in COLUMNS.items():
            if key not in where and word in {_norm(w) for w in words}:
                where[key] = i
    return where if all(k in where for k in REQUIRED) else None


def _year(text: str) -> int | None:
    m = re.search(r"(?<!\d)(20\d\d)(?!\d)", unicodedata.normalize("NFKC", text))
    return int(m.group(1)) if m else None


def read_selected_table(path: Path) -> SelectedTable:
    """Read a CSV or xlsx list; columns by header (年份, 推荐单位, 案例名称, 申报单位)."""
    try:
        rows = _rows_of(path)
    except OSError as exc:
        raise SelectedListError(f"cannot read {path}: {exc}") from exc
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise SelectedListError(f"{path.name}: not a readable xlsx or CSV ({exc})") from exc
    headers = [(n, _header(row)) for n, row in enumerate(rows[:_HEADER_ROWS])]
    start, where = next(((n, w) for n, w in headers if w is not None), (0, None))
    if where is None:
        raise SelectedListError(
            f"{path.name}: no header row with the columns 年份, 推荐单位 and 案例名称"
        )
    table = SelectedTable()
    for n, row in enumerate(rows[start + 1 :], start=start + 2):

        def cell(key: str, row: Sequence[str] = row, where: dict[str, int] = where) -> str:
            i = where.get(key)
            return str(row[i]).strip() if i is not None and i < len(row) else ""

        if not any(str(c).strip() for c in row):
            continue
        year, unit, name = _year(cell("year")), cell("unit"), cell("name")
        missing = [w for w, v in (("年份", year), ("推荐单位", unit), ("案例名称", name)) if not v]
        if missing:
            table.skipped.append(f"row {n}: no {'/'.join(missing)}")
            continue
        assert year is not None
        table.cases.append(SelectedCase(year, unit, name, cell("applicant")))
    return table


def read_selected_cases(path: Path) -> tuple[SelectedCase, ...]:
    """The cases of a list file; rows without a year, unit or name are left out."""
    return tuple(read_selected_table(path).cases)


def write_selected_csv(path: Path, cases: Iterable[SelectedCase]) -> Path:
    """Store a list as the CSV `load_campaign` reads (year, unit, name, applicant)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["year", "unit", "name", "applicant"])
        out.writerows([c.year, c.unit, c.name, c.applicant] for c in cases)
    tmp.replace(path)
    return path
