"""Which unit a subject (or a set of file names) names, and how the subject strays from the call.

The call asks for `XX省（区、市）低碳发展典型案例申报材料`; real mail adds reply/forward prefixes,
gateway tags like `[外部邮件]`, half-width brackets, the year, spaces and short names (`广西`,
`兵团`).  Matching is lenient so that a sloppy subject still finds its unit; `deviations` says
what was sloppy, as typed `SubjectDeviation`s: the SUBJECT_FORMAT rule words them for staff, who
decide whether to mention it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from campaign import Campaign
from parsers.model import Deviation, SubjectDeviation, SubjectMatch

# Outlook and Foxmail write 答复/回复/转发, webmail writes Re/Fw/Fwd, German Outlook AW/WG, and
# some clients number replies as `Re[2]:`.  Colons arrive full- or half-width; NFKC runs first.
_PREFIX_RE = re.compile(
    r"^\s*(?:回复|答复|回覆|转发|轉發|re|fw|fwd|aw|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*",
    re.IGNORECASE,
)
# Tags put in front by mail gateways (ours or the sender's): `[外部邮件]`, `【外部邮件】`,
# `[EXTERNAL]`, `[SPAM]`.  Only those words: `【北京市】…` or `[第1部分]…` are the sender's own.
_TAG_RE = re.compile(r"^\s*(?:\[([^\[\]]{1,30})\]|【([^【】]{1,30})】)\s*")
_GATEWAY_TAG_RE = re.compile(
    r"外部|外来|垃圾|广告|可疑|疑似|风险|钓鱼|仿冒|未验证|安全提示|external|spam|suspicious|"
    r"caution|warning|phishing",
    re.IGNORECASE,
)
# The call's own placeholder copied verbatim, or half-replaced (`北京市（区、市）`).
_TEMPLATE_RE = re.compile(r"(?:[Xx×]{1,3}\s*省\s*)?\(\s*区\s*[、,]\s*市\s*\)")
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)\s*(?:年度|年)?")
# Brackets of every width, and separators people put between unit and title.  NFKC has already
# folded （）：，－ into their ASCII forms.
_IGNORED_CHARS = re.compile(
    r"[\s()\[\]{}<>【】〔〕〖〗「」『』《》〈〉\"'“”‘’_\-—–~·•:;,.!?。，、；！？…]+"
)


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    unit: str
    name: str


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _compact(text: str) -> str:
    return _IGNORED_CHARS.sub("", text)


def _names(campaign: Campaign) -> list[tuple[str, str]]:
    """(name, unit) for every full name and alias, longest first, so 新疆生产建设兵团 and
    新疆兵团 are tried before 新疆."""
    pairs = [(_compact(_nfkc(n)), u.name) for u in campaign.units for n in u.names]
    return sorted({p for p in pairs if p[0]}, key=lambda p: (-len(p[0]), p[0]))


def _scan(text: str, names: list[tuple[str, str]]) -> list[_Hit]:
    """Every non-overlapping unit name in `text`, left to right, longest at each position."""
    hits: list[_Hit] = []
    i = 0
    while i < len(text):
        for name, unit in names:
            if text.startswith(name, i):
                hits.append(_Hit(i, i + len(name), unit, name))
                i += len(name)
                break
        else:
            i += 1
    return hits


def _names_a_unit(text: str, names: list[tuple[str, str]]) -> bool:
    return bool(_scan(_compact(text), names))


def _strip_prefixes(subject: str, names: list[tuple[str, str]]) -> tuple[str, bool]:
    """Remove any run of reply/forward prefixes and gateway tags, in any order."""
    had_prefix = False
    while True:
        m = _PREFIX_RE.match(subject)
        if m:
            had_prefix = True
            subject = subject[m.end() :]
            continue
        t = _TAG_RE.match(subject)
        if t:
            inner = t.group(1) or t.group(2) or ""
            if _GATEWAY_TAG_RE.search(inner) and not _names_a_unit(inner, names):
                subject = subject[t.end() :]
                continue
        return subject, had_prefix


def _split_format(campaign: Campaign) -> tuple[str, str]:
    """The convention's text before and after `{unit}`, compacted like a subject."""
    fmt = campaign.subject_format
    before, sep, after = fmt.partition("{unit}")
    if not sep:
        return "", _compact(_nfkc(fmt))
    return _compact(_nfkc(before)), _compact(_nfkc(after))


def _abbr_hit(text: str, campaign: Campaign) -> _Hit | None:
    """A one-character abbreviation (粤, 京) counts only as the very first character and only
    when the call's wording follows at once: 新, 青, 吉 start far too many ordinary words."""
    if not text:
        return None
    _, suffix = _split_format(campaign)
    follow = [k for k in (*campaign.subject_keywords, suffix[:2]) if k]
    for unit in campaign.units:
        if unit.abbr and text.startswith(unit.abbr):
            rest = text[len(unit.abbr) :]
            if any(rest.startswith(_compact(_nfkc(k))) for k in follow):
                return _Hit(0, len(unit.abbr), unit.name, unit.abbr)
    return None


# Compacted (brackets and separators gone): `1/2`, `第2/3部分`, `第1部分`, `part1of2`, `之一`.
_PART_RE = re.compile(
    r"(?:第?\d{1,2}(?:/\d{1,2})?(?:部分|批|封|次|个)?|part\d{1,2}(?:of\d{1,2})?|[之其]?[一二三四五六七八九十])",
    re.IGNORECASE,
)


def _is_part_marker(tail: str, campaign: Campaign) -> bool:
    """The subject's tail only numbers a part or names categories (`园区企业`, `社区类`)."""
    if not tail:
        return False
    labels = sorted((_compact(_nfkc(c.label)) for c in campaign.categories), key=len, reverse=True)
    words = "|".join(re.escape(label) for label in labels if label)
    category = rf"(?:(?:{words})(?:类|案例|类别)?)" if words else r"(?!)"
    return bool(re.fullmatch(rf"(?:{_PART_RE.pattern}|{category})+", tail, re.IGNORECASE))


def match_subject(subject: str, campaign: Campaign) -> SubjectMatch:
    """Find the submitting unit in a subject, and say how the subject deviates from
    `campaign.subject_for(unit)`.  `unit` is None when no unit is named."""
    names = _names(campaign)
    deviations: list[SubjectDeviation] = []

    text = _nfkc(subject or "")
    text, had_prefix = _strip_prefixes(text, names)
    if had_prefix:
        deviations.append(SubjectDeviation(Deviation.REPLY_PREFIX))

    if _TEMPLATE_RE.search(text):
        deviations.append(SubjectDeviation(Deviation.TEMPLATE_TEXT))
        text = _TEMPLATE_RE.sub("", text)

    if _YEAR_RE.search(text):
        deviations.append(SubjectDeviation(Deviation.YEAR))
        text = _YEAR_RE.sub("", text)

    text = _compact(text)
    if not text:
        return SubjectMatch(None, (SubjectDeviation(Deviation.EMPTY),))

    hits = _scan(text, names)
    used_abbr = False
    if not hits:
        abbr = _abbr_hit(text, campaign)
        if abbr:
            hits = [abbr]
            used_abbr = True

    prefix, suffix = _split_format(campaign)
    if not hits:
        deviations.append(SubjectDeviation(Deviation.NO_UNIT))
        if suffix and suffix not in text:
            deviations.append(SubjectDeviation(Deviation.MISSING_TEXT, (suffix,)))
        return SubjectMatch(None, tuple(deviations))

    first = hits[0]
    others = [h.unit for h in hits[1:] if h.unit != first.unit]
    if used_abbr:
        deviations.append(SubjectDeviation(Deviation.ONE_CHAR_NAME, (first.name,)))
    elif first.name != _compact(_nfkc(first.unit)):
        deviations.append(SubjectDeviation(Deviation.SHORT_NAME, (first.name,)))
    if others:
        listed = tuple(dict.fromkeys([first.unit, *others]))
        deviations.append(SubjectDeviation(Deviation.SEVERAL_UNITS, listed))

    before, after = text[: first.start], text[first.end :]
    extras: list[str] = []
    if prefix:
        if before.endswith(prefix):
            before = before[: -len(prefix)]
        else:
            deviations.append(SubjectDeviation(Deviation.MISSING_TEXT, (prefix,)))
    if suffix:
        at = after.find(suffix)
        if at >= 0:
            tail = after[at + len(suffix) :]
            # `（1/2）`, `(2/2)`, `（园区、企业）` after the title split one submission into parts:
            # that follows the convention.
            extras += [after[:at], "" if _is_part_marker(tail, campaign) else tail]
        elif suffix in before:
            # Title first, unit after (`低碳发展典型案例申报材料-北京市`): name it, not as extras.
            at = before.find(suffix)
            deviations.append(SubjectDeviation(Deviation.UNIT_NOT_FIRST))
            before = before[:at] + before[at + len(suffix) :]
            extras.append(after)
        else:
            # The rest is a variant of the title (`低碳典型案例`); listing it as extra says nothing.
            deviations.append(SubjectDeviation(Deviation.MISSING_TEXT, (suffix,)))
    else:
        extras.append(after)
    extras.insert(0, before)
    # Other units are reported once, above, not again as leftover text.
    for other in {h.name for h in hits[1:]}:
        extras = [e.replace(other, "") for e in extras]
    extra = tuple(e for e in extras if e)
    if extra:
        deviations.append(SubjectDeviation(Deviation.EXTRA_TEXT, extra))
    return SubjectMatch(first.unit, tuple(deviations))


def find_unit_in_names(names: Iterable[str], campaign: Campaign) -> str | None:
    """The unit most of the given file or folder names are about (`北京市XX推荐材料.zip`).

    Each name votes once, for the first unit it names (full name or alias, longest first).
    None when no name names a unit or when two units tie for the most votes.
    """
    table = _names(campaign)
    votes: Counter[str] = Counter()
    for raw in names:
        text = _compact(_YEAR_RE.sub("", _nfkc(raw)))
        hits = _scan(text, table)
        if hits:
            votes[hits[0].unit] += 1
    if not votes:
        return None
    ranked = votes.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


_REPLY_RE = re.compile(r"^\s*(?:回复|答复|回覆|re|aw)\s*(?:\[\d+\]|\(\d+\))?\s*:", re.IGNORECASE)


def is_reply(subject: str) -> bool:
    """A subject that answers a mail (`回复：`, `Re:`), as opposed to a new one or a forward."""
    return bool(_REPLY_RE.match(_nfkc(subject)))
