"""Videos we could not check because of our side (ffprobe missing or timed out): staff only."""

from __future__ import annotations

from collections.abc import Iterator

from parsers.model import VideoError
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts

# A timeout means a busy host far more often than a bad file.
_SENTENCES = {
    VideoError.TIMEOUT: "视频探测超时",
    VideoError.TOOL_MISSING: "服务器缺少 ffprobe，无法检查视频",
    VideoError.MISSING_FILE: "视频文件不存在",
}


def detail_for(error: VideoError | None) -> str | None:
    """Our side of a video problem (`error.ours`), in staff's words; None for the unit's."""
    return _SENTENCES.get(error) if error is not None else None


def _check(c: CaseFacts) -> Iterator[Hit]:
    for note in c.media_notes:
        # Point at the file when the case has it.
        named = [f for f in c.files if f.name == note.name]
        detail = f"{note.name}：{detail_for(note.error)}"
        yield Hit(detail, named[0].path if named else None)


RULE = Rule[CaseFacts](
    code="MEDIA_CHECK_UNAVAILABLE",
    severity=Severity.WARNING,
    level=Level.CASE,
    reason="服务器未能检查视频（ffprobe 缺失或超时）",
    fix="工作人员请检查 ffprobe 后执行 intake retriage，或手工打开视频核对时长",
    check=_check,
    audience=Audience.STAFF,
)
