from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    for link in m.cloud_links:
        parts = [link.provider]
        if link.file_name:
            parts.append(link.file_name)
        if link.size:
            parts.append(link.size)
        parts.append(f"到期：{link.expires}" if link.expires else "到期时间未知")
        if link.code:
            parts.append(f"提取码：{link.code}")
        yield Hit("，".join(parts) + f"；{link.url}")


RULE = Rule[MessageFacts](
    code="CLOUD_LINK",
    severity=Severity.WARNING,
    level=Level.MESSAGE,
    reason="材料以网盘或超大附件链接发送，需要工作人员在链接过期前下载",
    fix="工作人员请在到期前下载链接中的材料并导入",
    check=_check,
    audience=Audience.STAFF,
)
