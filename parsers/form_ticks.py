"""Which categories a form's category cell ticks, read from the cell's text.

Owns the tick and empty-box characters (`TICKED_MARKS`, `UNTICKED_MARKS`) and `read_ticks` /
`ticked_categories`, which tie each mark to the option beside it. Check boxes and symbol fonts
have already been turned into these characters by `form_text`.

Every option the form prints is an option, whether or not this year's call has it: the call's
labels, the known option words (`个人`, `基地`) and any other short word that stands beside a
box.  A tick beside 个人 is 个人 — in a call without 个人 it is reported as such, never moved to
the neighbouring 社区.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TICKED_MARKS = frozenset("√✓✔✅☑☒■●▣◉⦿⊠⌧◆◼◾⬛▪🗸🗹🗷🗵⮽")
UNTICKED_MARKS = frozenset("☐□○◯◻◽▢❑❒◇⬜❍🞎🞏🞐🞑🞒🞓")
# Between a mark and its label these may stand besides whitespace: `园区（√）`, `园区:☑`.
_CONNECTORS = frozenset("()（）[]【】〔〕:：、,，;；.。-—_")
_INSTRUCTION = re.compile(r"[（(][^()（）]*(?:打|勾|选|填)[^()（）]*[)）]")
# `企业（ ）`: brackets left empty are the unticked boxes of a `企业（√）` form.
_EMPTY_BRACKETS = re.compile(r"[（(\[【]\s*[)）\]】]")
_OPENING, _CLOSING = frozenset("（([【"), frozenset(")）]】")
# A printed option: a short run of Chinese characters standing between boxes, spaces or brackets.
_WORD = re.compile(r"(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{2,6}(?![\u4e00-\u9fff])")
_OTHER = "\x00other:"  # key prefix of an option outside the call


@dataclass(frozen=True)
class _Item:
    start: int
    end: int
    key: str | None = None  # a label
    ticked: bool | None = None  # a mark


def ticked_categories(
    text: str, category_labels: Mapping[str, str], option_words: Sequence[str] = ()
) -> list[str]:
    """The category keys ticked in the category cell's text (see `read_ticks`)."""
    return read_ticks(text, category_labels, option_words)[0]


def read_ticks(
    text: str, category_labels: Mapping[str, str], option_words: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """(category keys ticked, other options ticked by their printed label), in form order.

    `option_words` are option labels a form may print beyond the call's (个人, 基地); any other
    short word standing alone beside a box counts as an option too.

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
    options = dict(category_labels)
    known = set(category_labels.values())
    for word in option_words:
        if word not in known:
            options[_OTHER + word] = word
            known.add(word)
    taken: list[tuple[int, int]] = []
    for key, label in sorted(options.items(), key=lambda kv: -len(kv[1])):
        pattern = r"\s*".join(map(re.escape, label))
        if key.startswith(_OTHER):  # a known word only as a word of its own, not in 示范基地
            pattern = rf"(?<![\u4e00-\u9fff]){pattern}(?![\u4e00-\u9fff])"
        for m in re.finditer(pattern, clean):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                items.append(_Item(m.start(), m.end(), key=key))
                taken.append((m.start(), m.end()))
    for m in _WORD.finditer(clean):
        # A word printed beside a box that is none of the known options (a call's new 基地类…).
        if any(a < m.end() and m.start() < b for a, b in taken) or not _beside_box(clean, m):
            continue
        items.append(_Item(m.start(), m.end(), key=_OTHER + m.group(0)))
        taken.append((m.start(), m.end()))
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
    ordered = sorted(chosen, key=lambda k: order[k])
    return (
        [k for k in ordered if not k.startswith(_OTHER)],
        [k.removeprefix(_OTHER) for k in ordered if k.startswith(_OTHER)],
    )


def _beside_box(text: str, word: re.Match[str]) -> bool:
    """Is a mark or an empty bracket the next thing before or after this word?"""
    boxes = TICKED_MARKS | UNTICKED_MARKS
    left = text[: word.start()].rstrip(" \t\u3000:：")
    right = text[word.end() :].lstrip(" \t\u3000:：")
    if (left and left[-1] in boxes) or (right and right[0] in boxes):
        return True
    return bool(_EMPTY_BRACKETS.match(right)) or bool(
        re.match(r"[（(]\s*[" + re.escape("".join(TICKED_MARKS)) + r"]\s*[)）]", right)
    )


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
