"""A video over the campaign's length limit, read as a player shows it (whole seconds)."""

import math
from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _clock(seconds: float) -> str:
    whole = math.floor(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _check(c: CaseFacts) -> Iterator[Hit]:
    limit = c.campaign.limits.video_max_seconds
    for f in c.by_role("video"):
        # An unreadable video (audio only, a still image) is VIDEO_UNREADABLE's, not ours too.
        if f.video is None or f.video.error:
            continue
        duration = f.video.duration_s
        # Whole seconds, as a player displays them: an export of "3:00" often probes as 180.02 s
        # (audio padding), and a unit cannot see or fix a fraction of a second.
        if duration is not None and math.floor(duration) > limit:
            yield Hit(f"{f.name}：时长 {_clock(duration)}，上限 {_clock(limit)}", f.path)


RULE = Rule[CaseFacts](
    code="VIDEO_TOO_LONG",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="视频时长超过上限",
    fix="请将视频剪辑到规定时长以内，再重新发送该案例",
    check=_check,
)
