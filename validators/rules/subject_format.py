from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    if m.unit and m.subject_deviations:
        yield Hit("；".join(m.subject_deviations))


RULE = Rule[MessageFacts](
    code="SUBJECT_FORMAT",
    severity=Severity.WARNING,
    audience=Audience.ADVICE,
    level=Level.MESSAGE,
    reason="邮件主题与通知要求的格式不一致",
    fix="今后请按“XX省（区、市）低碳发展典型案例申报材料”的格式填写邮件主题",
    check=_check,
)
