"""PHOTO_CAPTION_MISSING: a photo without a caption in its name or a caption file."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    for f in c.by_role("photo"):
        if not (f.caption or "").strip():
            yield Hit(f"{f.name}：未找到照片说明", f.path)


RULE = Rule[CaseFacts](
    code="PHOTO_CAPTION_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="照片缺少照片说明",
    fix="请在照片文件名的括号中写明照片说明，如“北京市XX照片（照片说明）.jpg”，或附照片说明文件",
    check=_check,
)
