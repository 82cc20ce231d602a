"""PHOTO_TOO_LARGE: a photo over the call's size limit."""

import math
from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts

_MB = 1024 * 1024


def _mb(size: int, *, up: bool = False) -> str:
    # A found size is rounded up so that "over the limit" never prints as the limit itself.
    value = math.ceil(size / _MB * 100) / 100 if up else size / _MB
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _check(c: CaseFacts) -> Iterator[Hit]:
    limit = c.campaign.limits.photo_max_bytes
    for f in c.by_role("photo"):
        if f.size > limit:
            yield Hit(f"{f.name}：{_mb(f.size, up=True)} MB，超过 {_mb(limit)} MB 上限", f.path)


RULE = Rule[CaseFacts](
    code="PHOTO_TOO_LARGE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="照片文件超过大小上限",
    fix="请压缩或缩小该照片，使其不超过规定大小，再重新发送该案例",
    check=_check,
)
