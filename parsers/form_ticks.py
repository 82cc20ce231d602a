"""Which categories a form's category cell ticks, read from the cell's text.

Owns the tick and empty-box characters (`TICKED_MARKS`, `UNTICKED_MARKS`) and
`ticked_categories`, which ties each mark to the label beside it. Check boxes and symbol fonts
have already been turned into these characters by `form_text`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

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
