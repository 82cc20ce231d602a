"""VIDEO_COUNT: more videos than the call allows."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    limit = c.campaign.limits.videos_max
    n = len(c.by_role("video"))
    if n > limit:
        yield Hit(f"收到 {n} 个视频，最多 {limit} 个")


RULE = Rule[CaseFacts](
    code="VIDEO_COUNT",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="视频数量超过要求",
    fix="请保留不超过 {videos_max} 个视频后重新发送该案例",
    check=_check,
)
