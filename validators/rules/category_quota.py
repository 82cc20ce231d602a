"""CATEGORY_QUOTA: a unit has fewer or more current cases in a category than the call allows."""

from collections import Counter
from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import UnitFacts


def _check(u: UnitFacts) -> Iterator[Hit]:
    limits = u.campaign.limits
    counts = Counter(c.category for c in u.cases if c.category)
    if not u.cases:
        return
    for category in u.campaign.categories:
        n = counts.get(category.key, 0)
        if not limits.cases_per_category_min <= n <= limits.cases_per_category_max:
            yield Hit(
                f"{category.label}类 {n} 个，要求 "
                f"{limits.cases_per_category_min}–{limits.cases_per_category_max} 个"
            )


RULE = Rule[UnitFacts](
    code="CATEGORY_QUOTA",
    severity=Severity.WARNING,
    audience=Audience.ADVICE,
    level=Level.UNIT,
    reason="某类别的推荐案例数量不在 {cases_min}–{cases_max} 个之间",
    fix="每个类别推荐 {cases_min}–{cases_max} 个案例",
    check=_check,
)
