"""PHOTO_COUNT: the case's photos are fewer or more than the call asks."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    limits = c.campaign.limits
    n = len(c.by_role("photo"))
    if not limits.photos_min <= n <= limits.photos_max:
        yield Hit(f"收到 {n} 张照片，要求 {limits.photos_min}–{limits.photos_max} 张")


RULE = Rule[CaseFacts](
    code="PHOTO_COUNT",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="照片数量不符合要求",
    fix="请按要求提供 {photos_min}–{photos_max} 张照片（JPG 或 PNG），每张附照片说明",
    check=_check,
)
