"""Lenient matching of case names: against the candidate list, and against earlier years' winners.

Units never write a case name the same way twice: the form says `XX股份有限公司零碳工厂实践`, the
list `XX有限公司零碳工厂实践`, the folder `1.北京市XX零碳工厂实践推荐材料`, with full-width
brackets here and a stray space there. So names are compared in a normal form
(`normalize_name`) and then by a score.

Why `fuzz.ratio` (normalised Indel similarity) and a containment check, and not the token
scorers: rapidfuzz's `token_*` scorers split on whitespace, and a Chinese name has none, so they
fall back to `ratio` anyway. `partial_ratio` alone is too lenient on short names (any 6-character
slice of a long name scores 100). What each rule does, on the normalised forms:

- equal → same case;
- one contains the other, the shorter has at least 6 characters and is at least half the longer:
  same case. This is the unit name or a `二期` in front or behind:
  `北京市城市副中心绿色低碳示范园区` ~ `城市副中心绿色低碳示范园区`;
- `fuzz.ratio` ≥ threshold (90 by default): one or two characters typed differently:
  `园区光伏一体化与储能示范` ~ `园区光伏一体化储能示范` (95.7),
  `零碳工厂数字化能源管理实践` ~ `零碳工厂的数字化能源管理与实践` (92.9);
- never the same when the names name different categories or carry different numbers, however
  close the rest: `城市副中心绿色低碳示范园区` ≁ `城市副中心绿色低碳示范社区` (92.3 by ratio),
  `1号线光伏` ≁ `2号线光伏`.

For earlier winners (`find_previously_selected`) the applicant is a supporting signal only: with
the same applicant, a name scoring `max(ratio, partial_ratio)` ≥ 85 is enough
(`个人低碳出行倡导十年` ~ `坚持低碳出行倡导十年` by 张三, 88.9); the same applicant alone never is,
because a company that won in 2021 may well send a new case in 2023
(`零碳工厂数字化能源管理实践` ≁ `零碳工厂数字化碳资产管理实践`, 81.5 / 76.9).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz

from campaign import SelectedCase
from parsers.candidates import DEFAULT_CATEGORY_LABELS, CandidateEntry, split_order_prefix

DEFAULT_THRESHOLD = 90.0
# With the same applicant, the name may differ a little more (reworded, a word added).
SUPPORTED_THRESHOLD = 85.0
_MIN_CONTAINED = 6  # characters; shorter names are contained in too many others
_MIN_CONTAINED_SHARE = 0.5

# Longest first, so `集团股份有限公司` is one suffix, not `集团股份` + `有限公司`. A bare `集团`
# is the same company as `集团有限公司` (`某某集团` ~ `某某集团有限公司`).
_COMPANY = re.compile(r"(?:集团)?(?:股份有限公司|有限责任公司|有限公司|股份公司|公司)|集团")
# What file names and forms add after the name itself; stripped from the end, repeatedly
# (`XX项目案例推荐材料` → `XX`).
_TRAILERS = ("推荐材料", "申报材料", "推荐表", "案例", "项目")
_DIGITS = re.compile(r"\d+")


def _plain(s: str) -> str:
    """NFKC, lower case, without whitespace, punctuation, brackets, quotes or symbols."""
    text = unicodedata.normalize("NFKC", s).lower()
    # P*: punctuation incl. brackets, quotes, 《》, ·, 、; S*: symbols (℃ → °c, ™); Z*/C*: spaces
    # and invisible characters (the zero-width space Word leaves in pasted text).
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def normalize_name(s: str) -> str:
    """The form names are compared in.

    NFKC (full-width letters, digits and brackets become ASCII), lower case, a leading order
    number dropped (`1.`, `（一）`, `第2个`: see `parsers.candidates.split_order_prefix`), then
    whitespace, punctuation and symbols removed, every company suffix (`股份有限公司`,
    `有限责任公司`, `有限公司`, `集团有限公司`, `集团`, `公司` …) made `公司`, and a trailing `案例`, `项目`,
    `推荐材料`, `申报材料` or `推荐表` dropped.

    `1.《江苏某某新能源股份有限公司》零碳工厂 案例` → `江苏某某新能源公司零碳工厂`.
    """
    _, rest = split_order_prefix(unicodedata.normalize("NFKC", s))
    text = _COMPANY.sub("公司", _plain(rest))
    stripped = True
    while stripped:
        stripped = False
        for trailer in _TRAILERS:
            if text.endswith(trailer) and len(text) > len(trailer):
                text = text[: -len(trailer)]
                stripped = True
    return text


def _conflict(a: str, b: str) -> bool:
    """Normalised names that say different categories or numbers: different cases."""
    cats_a = {lb for lb in DEFAULT_CATEGORY_LABELS if lb in a}
    cats_b = {lb for lb in DEFAULT_CATEGORY_LABELS if lb in b}
    if cats_a - cats_b and cats_b - cats_a:
        return True
    nums_a, nums_b = _DIGITS.findall(a), _DIGITS.findall(b)
    return bool(nums_a) and bool(nums_b) and nums_a != nums_b


def _contains(a: str, b: str) -> bool:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return (
        len(short) >= _MIN_CONTAINED
        and len(short) >= _MIN_CONTAINED_SHARE * len(long)
        and short in long
    )


def _score(na: str, nb: str) -> float:
    if not na or not nb:
        return 0.0
    if na == nb:
        return 100.0
    if _conflict(na, nb):
        return 0.0
    if _contains(na, nb):
        return 100.0
    return float(fuzz.ratio(na, nb))


def name_score(a: str, b: str) -> float:
    """0–100: how alike two case names are (100 when equal or one contains the other)."""
    return _score(normalize_name(a), normalize_name(b))


def same_case(a: str, b: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Whether two names denote the same case (see the module docstring for the rules)."""
    return name_score(a, b) >= threshold


def _normalize_org(s: str) -> str:
    # An applicant is an organisation or a person: no case trailers; the company suffix goes
    # too, so `XX` written without any suffix agrees with `XX有限公司`.
    text = _COMPANY.sub("公司", _plain(s))
    return text.removesuffix("公司") or text


def same_applicant(a: str, b: str) -> bool:
    """Same organisation or person: equal after normalisation, or ratio ≥ 90 for names long
    enough to be organisations (`杭州市某某社区居民委员会` ~ `杭州市某某社区居委会`, 90.9).
    Persons' names (2–4 characters) must be equal."""
    na, nb = _normalize_org(a), _normalize_org(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    if min(len(na), len(nb)) <= 4:
        return False
    return fuzz.ratio(na, nb) >= DEFAULT_THRESHOLD


# Administrative suffixes a unit name may lack: `北京` ~ `北京市`, `广西` ~ `广西壮族自治区`.
_UNIT_SUFFIXES = ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区")


def _same_unit(a: str, b: str) -> bool:
    na, nb = _plain(a), _plain(b)
    if na == nb:
        return True
    short, long = (na, nb) if len(na) <= len(nb) else (nb, na)
    # `新疆` is not `新疆生产建设兵团`: only an administrative suffix may be missing.
    return bool(short) and long.startswith(short) and long[len(short) :] in _UNIT_SUFFIXES


def find_previously_selected(
    name: str,
    applicant: str | None,
    unit: str | None,
    selected: Sequence[SelectedCase],
    ineligible_years: Sequence[int],
    threshold: float = DEFAULT_THRESHOLD,
    supported_threshold: float = SUPPORTED_THRESHOLD,
) -> SelectedCase | None:
    """The earlier winner this case is, if any; the best match when several qualify.

    Only winners of `ineligible_years` count (all of `selected` when that is empty: the list is
    then taken to hold just the ineligible years). A winner matches when its unit agrees (or
    either unit is unknown) and its name is the same case (`same_case` at `threshold`), or,
    with the same applicant, the name scores `max(ratio, partial_ratio)` ≥ `supported_threshold`.
    """
    target = normalize_name(name)
    if not target:
        return None
    years = set(ineligible_years)
    best: tuple[tuple[bool, float, bool], SelectedCase] | None = None
    for case in selected:
        if years and case.year not in years:
            continue
        if unit and case.unit and not _same_unit(unit, case.unit):
            continue
        other = normalize_name(case.name)
        score = _score(target, other)
        applicant_agrees = bool(
            applicant and case.applicant and same_applicant(applicant, case.applicant)
        )
        if score < threshold:
            if not applicant_agrees or _conflict(target, other):
                continue
            score = max(score, float(fuzz.partial_ratio(target, other)))
            if score < supported_threshold:
                continue
        rank = (target == other, score, applicant_agrees)
        if best is None or rank > best[0]:
            best = (rank, case)
    return best[1] if best else None


def match_candidate_order(
    case_name: str, entries: Iterable[CandidateEntry], threshold: float = DEFAULT_THRESHOLD
) -> int | None:
    """The order the candidate list gives the case named `case_name`, or None if not listed.

    The entry with the best score wins (an exact normal form before a containment or a fuzzy
    match); on a tie the earlier entry in the list.
    """
    target = normalize_name(case_name)
    if not target:
        return None
    best: tuple[tuple[bool, float], CandidateEntry] | None = None
    for entry in entries:
        other = normalize_name(entry.name)
        score = _score(target, other)
        if score < threshold:
            continue
        rank = (target == other, score)
        if best is None or rank > best[0]:
            best = (rank, entry)
    return best[1].order if best else None
