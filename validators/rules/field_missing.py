"""FIELD_MISSING: a required field of the recommendation form is empty or still its hint text."""

from __future__ import annotations

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    # Which fields are required, and their labels, are the campaign's form's (`FormSpec`).
    # The 2023 form leaves out 推荐单位意见: its seal and date live on the stamped scan.
    if c.form is None:
        return
    form = c.campaign.form
    for key in form.required:
        if not (c.form.fields.get(key) or "").strip():
            hint = "（仍为填写说明）" if key in c.form.hints_left else ""
            yield Hit(f"{form.label(key)}{hint}", c.form_file)


RULE = Rule[CaseFacts](
    code="FIELD_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="推荐表中有栏目未填写（或仍是表格中的填写说明）",
    fix="请在推荐表中填写该栏目，删除表格自带的填写说明文字后重新发送该案例",
    check=_check,
)
