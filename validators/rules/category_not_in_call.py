"""CATEGORY_NOT_IN_CALL: the form ticks an option that this year's call does not have (个人 when
the call asks for 园区、企业、社区 only).  The tick stays with its own option: it is never moved
to a neighbouring category the call does have."""

from __future__ import annotations

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.form is not None and c.form.other_categories:
        labels = "、".join(f"“{label}”" for label in c.form.other_categories)
        yield Hit(f"勾选了{labels}", c.form_file, {"ticked": list(c.form.other_categories)})


RULE = Rule[CaseFacts](
    code="CATEGORY_NOT_IN_CALL",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="推荐表勾选的类别不在本次征集范围内",
    fix="本次征集的类别为{categories}，请改为其中之一后重新发送该案例",
    check=_check,
)
