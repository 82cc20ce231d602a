"""Videos we could not check because of our side (ffprobe missing or timed out): staff only."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    for note in c.media_notes:
        # A note reads "<file name>：<problem>"; point at the file when the case has it.
        named = [f for f in c.files if note.startswith(f"{f.name}：")]
        named.sort(key=lambda f: len(f.name), reverse=True)
        yield Hit(note, named[0].path if named else None)


RULE = Rule[CaseFacts](
    code="MEDIA_CHECK_UNAVAILABLE",
    severity=Severity.WARNING,
    level=Level.CASE,
    reason="服务器未能检查视频（ffprobe 缺失或超时）",
    fix="工作人员请检查 ffprobe 后执行 intake retriage，或手工打开视频核对时长",
    check=_check,
    audience=Audience.STAFF,
)
