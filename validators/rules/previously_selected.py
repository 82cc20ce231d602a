"""PREVIOUSLY_SELECTED: the case matches one selected in an ineligible earlier year."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.previously_selected:
        yield Hit(f"与已入选案例相同：{c.previously_selected}")


RULE = Rule[CaseFacts](
    code="PREVIOUSLY_SELECTED",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="该案例已入选往年{ineligible_years}绿色低碳典型案例，不再参与本年度推选",
    fix="请更换为其他案例；如确属不同案例，请在回复中说明区别",
    check=_check,
)
