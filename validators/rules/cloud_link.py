"""CLOUD_LINK: materials sent as a webmail large-attachment or cloud-drive link, for staff.

Owns how a link is worded for staff (provider, file, size, expiry, code, URL) and the same
facts as data (`expires_at` as ISO 8601, `never_expires`) for the daily report.
"""

from __future__ import annotations

from collections.abc import Iterator

from parsers.model import CloudLink, Expiry
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def expiry_text(expiry: Expiry | None) -> str | None:
    """`2023-12-30 09:41`, `2024-08-04` (day only), `无限期`, the mail's own words, or None."""
    if expiry is None:
        return None
    if expiry.never:
        return "无限期"
    if expiry.at is not None:
        # In the zone the mail gave (Shanghai), as webmail itself shows it.
        return expiry.at.strftime("%Y-%m-%d" if expiry.day_only else "%Y-%m-%d %H:%M")
    return expiry.as_written or None


def detail_for(link: CloudLink) -> str:
    parts = [link.provider]
    if link.file_name:
        parts.append(link.file_name)
    if link.size:
        parts.append(link.size)
    expires = expiry_text(link.expiry)
    parts.append(f"到期：{expires}" if expires else "到期时间未知")
    if link.code:
        parts.append(f"提取码：{link.code}")
    return "，".join(parts) + f"；{link.url}"


def _check(m: MessageFacts) -> Iterator[Hit]:
    for link in m.cloud_links:
        at = link.expires_at
        data = {
            "expires_at": at.isoformat() if at is not None else None,
            "never_expires": link.never_expires,
            "url": link.url,
            "provider": link.provider,
        }
        yield Hit(detail_for(link), data=data)


RULE = Rule[MessageFacts](
    code="CLOUD_LINK",
    severity=Severity.WARNING,
    level=Level.MESSAGE,
    reason="材料以网盘或超大附件链接发送，需要工作人员在链接过期前下载",
    fix="工作人员请在到期前下载链接中的材料并导入",
    check=_check,
    audience=Audience.STAFF,
)
