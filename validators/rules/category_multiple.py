from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.form is not None and len(c.form.categories) > 1:
        labels = "、".join(c.campaign.category_label(k) for k in c.form.categories)
        yield Hit(f"勾选了：{labels}", c.form_file)


RULE = Rule[CaseFacts](
    code="CATEGORY_MULTIPLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="推荐表勾选了多个类别",
    fix="每个案例只能属于一个类别，请只保留一个“√”",
    check=_check,
)
