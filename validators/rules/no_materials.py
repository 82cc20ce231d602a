"""NO_MATERIALS: a submission with no attachment and no large-attachment link."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    if m.attachment_count == 0 and not m.cloud_links:
        yield Hit("邮件没有附件，也没有超大附件链接")


RULE = Rule[MessageFacts](
    code="NO_MATERIALS",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.MESSAGE,
    reason="邮件中没有找到推荐材料",
    fix="请将每个案例的推荐材料放入独立文件夹并压缩（如“北京市XX推荐材料.zip”），作为附件重新发送",
    check=_check,
)
