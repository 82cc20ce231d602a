"""VIDEO_UNREADABLE: a video that is no video (garbage, sound only, a still, a GIF)."""

from __future__ import annotations

from collections.abc import Iterator

from parsers.model import VideoError
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts

_SENTENCES = {
    VideoError.UNREADABLE: "无法识别的视频文件",
    VideoError.NO_PICTURE: "文件中没有视频画面（可能只有声音）",
    VideoError.IMAGE: "这是一张图片，不是视频",
    VideoError.GIF: "这是 GIF 动图，不是视频",
    VideoError.NO_DURATION: "无法读取视频时长",
}


def detail_for(error: VideoError | None) -> str | None:
    """The unit's side of a video problem, in the notice's words; None for none or ours."""
    return _SENTENCES.get(error) if error is not None else None


def _check(c: CaseFacts) -> Iterator[Hit]:
    for f in c.by_role("video"):
        # A missing ffprobe is our fault, never the unit's: detail_for has no words for it.
        problem = detail_for(f.video.error) if f.video is not None else None
        if problem:
            yield Hit(f"{f.name}：{problem}", f.path)


RULE = Rule[CaseFacts](
    code="VIDEO_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="视频文件无法识别或读取",
    fix="请提供能正常播放的视频文件（如 MP4），再重新发送该案例",
    check=_check,
)
