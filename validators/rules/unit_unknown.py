"""UNIT_UNKNOWN: no submitting unit in the subject, the sender's history or the file names."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    if m.unit is None:
        yield Hit(f"主题：{m.subject}" if m.subject else "邮件没有主题")


RULE = Rule[MessageFacts](
    code="UNIT_UNKNOWN",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.MESSAGE,
    reason="无法从邮件主题、发件人或文件名确定推荐单位",
    fix="请按“XX省（区、市）低碳发展典型案例申报材料”的格式在邮件主题中写明推荐单位后重新发送",
    check=_check,
)
