from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import UnitFacts


def _check(u: UnitFacts) -> Iterator[Hit]:
    if not u.cases:
        return
    unknown = [c.name for c in u.cases if c.order is None]
    if unknown:
        yield Hit("无法确定推荐顺序：" + "、".join(unknown))


RULE = Rule[UnitFacts](
    code="ORDER_MISSING",
    severity=Severity.WARNING,
    audience=Audience.ADVICE,
    level=Level.UNIT,
    reason="无法确定推荐顺序",
    fix="请在推荐名单中注明每个类别内的推荐顺序",
    check=_check,
)
