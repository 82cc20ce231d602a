from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    if m.contact.missing:
        yield Hit("缺少：" + "、".join(m.contact.missing))


RULE = Rule[MessageFacts](
    code="CONTACT_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.MESSAGE,
    reason="邮件正文未注明工作负责人的姓名、联系电话和邮箱",
    fix="请回复本邮件，在正文中写明工作负责人的姓名、联系电话（手机）和电子邮箱",
    check=_check,
)
