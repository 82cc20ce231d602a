from collections.abc import Iterator

from parsers.media import INTERNAL_VIDEO_ERRORS
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    for f in c.by_role("video"):
        error = f.video.error if f.video is not None else None
        # A missing ffprobe is our fault, never the unit's.
        if error and error not in INTERNAL_VIDEO_ERRORS:
            yield Hit(f"{f.name}：{error}", f.path)


RULE = Rule[CaseFacts](
    code="VIDEO_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="视频文件无法识别或读取",
    fix="请提供能正常播放的视频文件（如 MP4），再重新发送该案例",
    check=_check,
)
