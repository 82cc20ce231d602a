"""CATEGORY_MULTIPLE: the form ticks more than one of the call's categories."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.form is None:
        return
    # An option outside the call counts as a tick too: 个人 and 社区 ticked is two categories.
    ticked = [c.campaign.category_label(k) for k in c.form.categories] + c.form.other_categories
    if len(ticked) > 1:
        labels = "、".join(ticked)
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
