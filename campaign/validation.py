"""Checking a campaign file before anything runs on it: every problem, each with its key and line.

`check_campaign(raw, text)` looks at the parsed TOML (`raw`) and names, for each problem, the
key (`limits.photos_min`, `categories[4].label`) and the line of the file it is on (or of the
table that lacks it).  tomllib gives no positions, so `line_of` finds them by scanning the text.
`load_campaign` refuses a file with any problem; `intake campaign check FILE` lists them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from campaign.model import Limits, Office

REQUIRED_KEYS = ("id", "deadline", "categories", "units")
LIMIT_KEYS = {f.name for f in fields(Limits)}
OFFICE_KEYS = {f.name for f in fields(Office)}
# (min key, max key) pairs that must not cross.
LIMIT_RANGES = (
    ("cases_per_category_min", "cases_per_category_max"),
    ("photos_min", "photos_max"),
)
MIN_CATEGORIES, MAX_CATEGORIES = 1, 8


@dataclass(frozen=True)
class Problem:
    key: str  # e.g. `limits.photos_min`, `categories[4].label`
    line: int | None  # 1-based line in the file, if the key (or its table) was found
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else "top level: "
        return f"{where}{self.key}: {self.message}"


_KEY_PATH = re.compile(r"([A-Za-z_][\w-]*)(?:\[(\d+)\])?")


def line_of(text: str, key: str) -> int | None:
    """The 1-based line of `key` (`limits.photos_min`, `units[3].aliases`, `deadline`) in a TOML
    text, or of the table that should hold it; None if neither is there."""
    lines = text.splitlines()
    parts = [(m.group(1), int(m.group(2)) if m.group(2) else None) for m in _KEY_PATH.finditer(key)]
    start, end = (
        0,
        next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines)),
    )
    found: int | None = None
    for depth, (name, index) in enumerate(parts):
        last = depth == len(parts) - 1
        if depth == 0 and (index is not None or not last):
            header = _header(name)
            hits = [i for i, ln in enumerate(lines) if header.match(ln)]
            pick = (index or 0) if index is not None else 0
            if pick < len(hits):
                start = hits[pick]
                found = start + 1
                end = next(
                    (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
                    len(lines),
                )
                start += 1
                continue
            # `units = [...]` written inline: the key's own line.
            assign = _assignment(lines, name, 0, len(lines))
            return None if assign is None else assign + 1
        assign = _assignment(lines, name, start, end)
        if assign is not None:
            return assign + 1
        if depth == 0:  # a table named alone: `categories` → its first `[[categories]]`
            return next((i + 1 for i, ln in enumerate(lines) if _header(name).match(ln)), None)
        return found
    return found


def _header(name: str) -> re.Pattern[str]:
    # `[limits]`, `[[categories]]`, and `[[form.fields]]` for `fields`.
    return re.compile(rf"^\s*\[\[?\s*(?:[\w.]+\.)?{re.escape(name)}\s*\]\]?\s*(#.*)?$")


def _assignment(lines: list[str], name: str, start: int, end: int) -> int | None:
    pattern = re.compile(rf"^\s*\"?{re.escape(name)}\"?\s*=")
    return next((i for i in range(start, end) if pattern.match(lines[i])), None)


def check_campaign(raw: Mapping[str, Any], text: str) -> list[Problem]:
    """Every problem of a parsed campaign file, in file order as far as it can tell."""
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(key, line_of(text, key), message))

    for key in REQUIRED_KEYS:
        if key not in raw:
            problems.append(Problem(key, None, "missing (a campaign must say it)"))
    if "deadline" in raw:
        _check_deadline(raw["deadline"], bad)
    for key in ("id", "title", "timezone", "subject_format"):
        if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
            bad(key, "must be a non-empty text")
    _check_categories(raw.get("categories"), bad)
    _check_units(raw.get("units"), bad)
    _check_limits(raw.get("limits", {}), bad)
    _check_table(raw.get("office", {}), "office", OFFICE_KEYS, bad)
    _check_form(raw.get("form"), bad)
    years = raw.get("ineligible_years", [])
    if not isinstance(years, list) or not all(isinstance(y, int) for y in years):
        bad("ineligible_years", "must be a list of years, e.g. [2021, 2022]")
    problems.sort(key=lambda p: p.line or 0)
    return problems


def _check_deadline(value: Any, bad: Any) -> None:
    try:
        deadline = datetime.fromisoformat(str(value))
    except ValueError:
        bad("deadline", f"not a date and time: {value!r} (e.g. 2023-12-31T23:59:59+08:00)")
        return
    if deadline.tzinfo is None:
        bad("deadline", "needs a time zone offset, e.g. 2023-12-31T23:59:59+08:00")


def _check_categories(value: Any, bad: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        bad("categories", "must be [[categories]] tables with a key and a label")
        return
    if not MIN_CATEGORIES <= len(value) <= MAX_CATEGORIES:
        bad(
            "categories",
            f"{len(value)} categories; a call has {MIN_CATEGORIES} to {MAX_CATEGORIES}",
        )
    seen_keys: dict[str, int] = {}
    seen_labels: dict[str, int] = {}
    for i, c in enumerate(value):
        for part in ("key", "label"):
            if not (isinstance(c.get(part), str) and c[part].strip()):
                bad(f"categories[{i}].{part}", f"category {i + 1} has no {part}")
        key, label = c.get("key"), c.get("label")
        if isinstance(key, str) and key in seen_keys:
            bad(f"categories[{i}].key", f"key {key!r} is used by category {seen_keys[key] + 1} too")
        if isinstance(label, str) and label in seen_labels:
            bad(
                f"categories[{i}].label",
                f"label {label!r} is used by category {seen_labels[label] + 1} too",
            )
        if isinstance(key, str):
            seen_keys.setdefault(key, i)
        if isinstance(label, str):
            seen_labels.setdefault(label, i)
        criteria = c.get("criteria", [])
        if not isinstance(criteria, list):
            bad(f"categories[{i}].criteria", "must be a list of texts")


def _check_units(value: Any, bad: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(u, dict) for u in value):
        bad("units", "must be [[units]] tables with a name")
        return
    owner: dict[str, tuple[int, str]] = {}
    for i, u in enumerate(value):
        name = u.get("name")
        if not (isinstance(name, str) and name.strip()):
            bad(f"units[{i}].name", f"unit {i + 1} has no name")
            continue
        aliases = u.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            bad(f"units[{i}].aliases", f"{name}: aliases must be a list of texts")
            aliases = []
        abbr = u.get("abbr")
        if abbr is not None and not (isinstance(abbr, str) and len(abbr) == 1):
            bad(f"units[{i}].abbr", f"{name}: abbr must be one character")
        for word, part in [(name, "name"), *((a, "aliases") for a in aliases)]:
            other = owner.get(word)
            if other is not None and other[1] != name:
                bad(f"units[{i}].{part}", f"{word!r} names both {other[1]} and {name}")
            owner.setdefault(word, (i, name))
        if isinstance(abbr, str) and len(abbr) == 1:
            other = owner.get("abbr:" + abbr)
            if other is not None:
                bad(f"units[{i}].abbr", f"abbreviation {abbr!r} is used by {other[1]} and {name}")
            owner.setdefault("abbr:" + abbr, (i, name))


def _check_limits(value: Any, bad: Any) -> None:
    if not _check_table(value, "limits", LIMIT_KEYS, bad):
        return
    merged = {**Limits().__dict__, **value}
    for key in sorted(set(value) & LIMIT_KEYS):
        v = value[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            bad(f"limits.{key}", f"must be a number of 0 or more, not {v!r}")
    for low, high in LIMIT_RANGES:
        a, b = merged[low], merged[high]
        if isinstance(a, int | float) and isinstance(b, int | float) and a > b:
            bad(f"limits.{low if low in value else high}", f"{low} = {a} is more than {high} = {b}")
    for key in (
        "photo_max_bytes",
        "video_max_seconds",
        "intro_max_chars",
        "cases_per_category_max",
    ):
        v = merged[key]
        if isinstance(v, int | float) and not isinstance(v, bool) and v <= 0:
            bad(f"limits.{key}", "must be more than 0")


def _check_table(value: Any, name: str, allowed: set[str], bad: Any) -> bool:
    if not isinstance(value, dict):
        bad(name, f"must be a [{name}] table")
        return False
    for key in sorted(set(value) - allowed):
        bad(f"{name}.{key}", f"unknown key (known: {', '.join(sorted(allowed))})")
    return True


def _check_form(value: Any, bad: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        bad("form", "must be a [form] table")
        return
    for part in ("hints", "option_words"):
        v = value.get(part, [])
        if not isinstance(v, list) or not all(isinstance(a, str) for a in v):
            bad(f"form.{part}", "must be a list of texts")
    fields_ = value.get("fields")
    if fields_ is None:
        bad("form.fields", "missing: list the form's fields as [[form.fields]] tables")
        return
    if not isinstance(fields_, list) or not all(isinstance(f, dict) for f in fields_):
        bad("form.fields", "must be [[form.fields]] tables with a key and a label")
        return
    owner: dict[str, str] = {}
    for i, f in enumerate(fields_):
        key = f.get("key")
        if not (isinstance(key, str) and key.strip()):
            bad(f"fields[{i}].key", f"form field {i + 1} has no key")
            continue
        for part in ("aliases", "fallback_aliases"):
            v = f.get(part, [])
            if not isinstance(v, list) or not all(isinstance(a, str) for a in v):
                bad(f"fields[{i}].{part}", f"{key}: must be a list of texts")
        for word in [key, *[a for a in f.get("aliases", []) if isinstance(a, str)]]:
            if word in owner and owner[word] != key:
                bad(f"fields[{i}].aliases", f"label {word!r} belongs to {owner[word]} and {key}")
            owner.setdefault(word, key)
    keys = {f.get("key") for f in fields_}
    for needed in ("案例名称", "类别"):
        if needed not in keys:
            bad("form.fields", f"the form needs a field {needed!r}")
