"""CATEGORY_UNMARKED: the form ticks no category at all."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.form is not None and not c.form.categories and not c.form.other_categories:
        yield Hit("类别栏未勾选任何类别", c.form_file)


RULE = Rule[CaseFacts](
    code="CATEGORY_UNMARKED",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="推荐表未勾选案例类别",
    fix="请在推荐表“类别”栏中所属类别（{categories}之一）处打“√”",
    check=_check,
)
