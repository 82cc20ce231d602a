"""Recommendation order numbers as units write them: in a list's cell or in front of a name.

Owns reading an order from a cell (`1`, `１`, `01`, `一`, `第二`, `（3）`: `parse_order_number`), from
the front of a numbered line, case or folder name (`split_order_prefix`, `order_from_name`), the
Chinese numerals they use (`chinese_numeral`) and the call's default category words, which may
stand before such a number (`园区1-XX`).
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_CATEGORY_LABELS: tuple[str, ...] = ("园区", "企业", "社区", "个人")

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3, "四": 4,
    "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9,
    "玖": 9,
}  # fmt: skip
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100}
# Every character a Chinese order numeral is written with.
CN_NUMERALS = "零〇一壹二两贰三叁四肆五伍六陆七柒八捌九玖十拾百佰"


def chinese_numeral(text: str) -> int | None:
    """`一` → 1, `十二` → 12, `二十` → 20, `一百零五` → 105; None if not a plain numeral."""
    if not text or any(ch not in CN_NUMERALS for ch in text):
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
    r"^(?:no\.?|第)?[(\[【〔]?(?P<n>\d{1,3}|[" + CN_NUMERALS + r"]{1,4})[)\]】〕]?"
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
        第\s*(?P<a>\d{{1,3}}|[{CN_NUMERALS}]{{1,4}})\s*(?:(?:个|名|位)\s*{_SEP}*\s*|{_SEP}+\s*|\s+)
      | [(\[【〔]\s*(?P<b>\d{{1,3}}|[{CN_NUMERALS}]{{1,4}})\s*[)\]】〕]\s*{_SEP}*\s*
      | (?P<c>\d{{1,3}})\s*(?:{_SEP}+(?!\d)\s*|\s+)
      | (?P<d>[{CN_NUMERALS}]{{1,3}})\s*[、.．:：]\s*
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
