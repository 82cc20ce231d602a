from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    for f in c.by_role("photo"):
        if f.photo is not None and f.photo.error:
            yield Hit(f"{f.name}：{f.photo.error}", f.path)


RULE = Rule[CaseFacts](
    code="PHOTO_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="照片无法打开，或不是 JPG/PNG 格式",
    fix="请提供能正常打开的 JPG 或 PNG 格式照片（手机 HEIC 照片请先转为 JPG）",
    check=_check,
)
