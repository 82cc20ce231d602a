"""FIELD_MISSING: a required field of the recommendation form is empty or still its hint text."""

from __future__ import annotations

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts

# 推荐单位意见 is left out: its seal and date live on the stamped scan, not in the Word copy.
REQUIRED = ("案例名称", "申报单位", "联系人", "手机", "地址", "案例简介")
LABELS = {"申报单位": "申报单位（个人）"}


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.form is None:
        return
    for key in REQUIRED:
        if not (c.form.fields.get(key) or "").strip():
            hint = "（仍为填写说明）" if key in c.form.hints_left else ""
            yield Hit(f"{LABELS.get(key, key)}{hint}", c.form_file)


RULE = Rule[CaseFacts](
    code="FIELD_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="推荐表中有栏目未填写（或仍是表格中的填写说明）",
    fix="请在推荐表中填写该栏目，删除表格自带的填写说明文字后重新发送该案例",
    check=_check,
)
