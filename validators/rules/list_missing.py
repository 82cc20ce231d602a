"""LIST_MISSING: a unit sent cases but no stamped candidate list (推荐名单)."""

from __future__ import annotations

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import UnitFacts


def _check(u: UnitFacts) -> Iterator[Hit]:
    if u.cases and not u.has_list:
        yield Hit("尚未收到加盖公章的推荐名单")


RULE = Rule[UnitFacts](
    code="LIST_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.UNIT,
    reason="未收到推荐名单",
    fix="请补充发送加盖公章的候选案例推荐名单（注明推荐顺序），如“北京市推荐名单.pdf”",
    check=_check,
)
