"""Phone numbers as units write them: mainland mobiles and landlines, read with `phonenumbers`.

Owns where a number sits in running text (the written shapes below, fax labels) and nothing of
what makes a number real: validity, mobile or landline, where the area code ends and the normal
form all come from `phonenumbers` (region CN).  Callers NFKC-normalise text first, so full-width
digits and `＋86` arrive as ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType

REGION = "CN"
_MAINLAND = 86
_LANDLINE_TYPES = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

# In running text: digits may be split by spaces or dashes (138 1234 5678, 138-1234-5678).
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[\s-]?)?1\d\d(?:[\s-]?\d){8}(?![0-9A-Za-z])")
# Area code 0 + 2–3 digits, optionally in brackets; 7–8 digit number; extension by - or 转.
# `01084665633` written without a dash is one run of digits; phonenumbers finds the area code.
_LANDLINE_RE = re.compile(
    r"(?<![0-9A-Za-z])(?P<main>(?:\(\s*0\d{2,3}\s*\)|0\d{2,3})\s*-?\s*\d{7,8})"
    r"(?:\s*(?:-|转|分机|ext\.?)\s*(?P<ext>\d{1,6}))?(?![0-9A-Za-z])",
    re.IGNORECASE,
)
# A number written on its own (a form's 手机 field): digits, and a `+` in front at most.
_ALONE_RE = re.compile(r"\+?\d+")
_FAX_BEFORE_RE = re.compile(r"(?:传真|fax)\s*(?:号码)?\s*:?\s*$", re.IGNORECASE)


def _valid(digits: str) -> PhoneNumber | None:
    try:
        number = phonenumbers.parse(digits, REGION)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _mobile(written: str) -> str | None:
    """The 11-digit form of a mainland mobile, or None when it is none."""
    number = _valid(re.sub(r"[\s-]", "", written))
    if number is None or number.country_code != _MAINLAND:
        return None
    if phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        return None
    return phonenumbers.national_significant_number(number)


def _landline(m: re.Match[str]) -> str | None:
    """`0471-6945678-8012`: area code with its 0, number, extension; None when not a landline."""
    number = _valid(re.sub(r"\D", "", m.group("main")))
    if number is None or number.country_code != _MAINLAND:
        return None
    if phonenumbers.number_type(number) not in _LANDLINE_TYPES:
        return None
    significant = phonenumbers.national_significant_number(number)
    cut = phonenumbers.length_of_geographical_area_code(number)
    if not cut:
        return None
    out = f"0{significant[:cut]}-{significant[cut:]}"
    if m.group("ext"):
        out += f"-{m.group('ext')}"
    return out


def is_mainland_mobile(s: str) -> bool:
    """True for a mainland China mobile number, written with full-width digits, spaces, dashes
    or a +86 prefix as people do (`138 1234 5678`, `＋86-13812345678`)."""
    compact = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", s or ""))
    return bool(_ALONE_RE.fullmatch(compact)) and _mobile(compact) is not None


def normal_form(value: str) -> str | None:
    """The normal form of one number written on its own (`010-84665633`), or None."""
    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    if is_mainland_mobile(compact):
        return _mobile(compact)
    m = _LANDLINE_RE.fullmatch(compact)
    return _landline(m) if m is not None else None


def _is_fax(before: str) -> bool:
    """`传真：010-…` is not a phone; `电话/传真：010-…` is both, so keep it."""
    return bool(_FAX_BEFORE_RE.search(before)) and not re.search(r"电话\s*[/、及和]\s*传真", before)


@dataclass
class Phones:
    """Numbers found in a text, each with where it starts, in reading order."""

    mobiles: list[tuple[int, str]] = field(default_factory=list)
    landlines: list[tuple[int, str]] = field(default_factory=list)


def find_phones(text: str, ignore: set[str]) -> Phones:
    """Mobiles and landlines in `text` in normal form, without fax numbers and `ignore`d ones."""
    found = Phones()
    taken: list[tuple[int, int]] = []
    for m in _MOBILE_RE.finditer(text):
        mobile = _mobile(m.group(0))
        if mobile is None:
            continue
        if _is_fax(text[max(0, m.start() - 12) : m.start()]) or mobile in ignore:
            continue
        found.mobiles.append((m.start(), mobile))
        taken.append(m.span())
    for m in _LANDLINE_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        if _is_fax(text[max(0, m.start() - 12) : m.start()]):
            continue
        landline = _landline(m)
        if landline is None:
            continue
        if landline in ignore or "-".join(landline.split("-")[:2]) in ignore:
            continue
        found.landlines.append((m.start(), landline))
    return found
