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
  no recognisable list gives `readable=False` and a `ListProblem` saying why (its wording for
  people is in `validators.rules.order_missing`). `.doc`/`.wps` lists are converted to `.docx`
  by the caller before they come here.

`order_from_name` reads the same order from a numbered case or folder name (`1.北京市XX推荐材料`),
for units that number their folders instead of sending a readable list.

This module owns the result types and `read_candidate_list`; the work is done beside it, in
`candidate_order` (order numbers), `candidate_rows` (rows and lines to entries) and
`candidate_formats` (each file format's rows). The names callers use are importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from parsers.candidate_formats import OLD_EXCEL, OLD_WORD, READERS, SCAN, TooLarge, list_format
from parsers.candidate_order import (
    DEFAULT_CATEGORY_LABELS,
    chinese_numeral,
    order_from_name,
    parse_order_number,
    split_order_prefix,
)
from parsers.candidate_rows import CandidateEntry

__all__ = [
    "DEFAULT_CATEGORY_LABELS",
    "CandidateEntry",
    "CandidateList",
    "ListProblem",
    "chinese_numeral",
    "order_from_name",
    "parse_order_number",
    "read_candidate_list",
    "split_order_prefix",
]


class ListProblem(StrEnum):
    """Why a candidate list could not be read."""

    SCAN = "scan"  # a PDF or an image: only a person can read it
    OLD_WORD = "old_word"  # a .doc/.wps that was not converted to .docx
    OLD_EXCEL = "old_excel"  # an old binary .xls/.et
    DAMAGED = "damaged"
    TOO_LARGE = "too_large"  # inflates beyond the limits; not read
    EMPTY_FILE = "empty_file"
    NO_LIST = "no_list"  # readable, but no list of cases in it
    UNKNOWN = "unknown"  # a format we do not recognise


@dataclass(frozen=True)
class CandidateList:
    entries: tuple[CandidateEntry, ...] = ()
    readable: bool = True
    note: ListProblem | Literal[""] = ""  # why the list could not be read; empty when it could


_UNREADABLE_FORMATS = {
    SCAN: ListProblem.SCAN,
    OLD_WORD: ListProblem.OLD_WORD,
    OLD_EXCEL: ListProblem.OLD_EXCEL,
}


def read_candidate_list(
    name: str, data: bytes, category_labels: Sequence[str] = DEFAULT_CATEGORY_LABELS
) -> CandidateList:
    """Read the list in `data` (file `name` is only a tie-breaker for the format)."""
    if not data:
        return CandidateList(readable=False, note=ListProblem.EMPTY_FILE)
    try:
        kind = list_format(name, data)
        reader = READERS.get(kind)
        if reader is None:
            problem = _UNREADABLE_FORMATS.get(kind, ListProblem.UNKNOWN)
            return CandidateList(readable=False, note=problem)
        entries = reader(data, tuple(category_labels))
    except TooLarge:
        return CandidateList(readable=False, note=ListProblem.TOO_LARGE)
    except Exception:  # every library raises its own kinds on damaged input; none may escape
        return CandidateList(readable=False, note=ListProblem.DAMAGED)
    if not entries:
        return CandidateList(readable=False, note=ListProblem.NO_LIST)
    return CandidateList(entries=tuple(entries))
