"""Names should read 单位+案例名+推荐表/照片/视频, as the call's examples show."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts

_EXPECTED = {"form_word": "推荐表", "photo": "照片", "video": "视频"}


def _check(c: CaseFacts) -> Iterator[Hit]:
    unit = c.campaign.unit(c.unit) if c.unit else None
    prefixes = unit.names if unit else ()
    for f in c.files:
        word = _EXPECTED.get(f.role)
        if word is None:
            continue
        problems = []
        if prefixes and not f.name.startswith(prefixes):
            problems.append("未以单位名称开头")
        if word not in f.name:
            problems.append(f"未包含“{word}”")
        if problems:
            yield Hit(f"{f.name}：{'，'.join(problems)}", f.path)


RULE = Rule[CaseFacts](
    code="FILE_NAMING",
    severity=Severity.WARNING,
    audience=Audience.ADVICE,
    level=Level.CASE,
    reason="文件命名不符合“单位+案例名+推荐表/照片/视频”的格式",
    fix="请按“北京市XX推荐表.doc”“北京市XX照片（照片说明）.jpg”“北京市XX视频.mp4”的格式命名文件",
    check=_check,
)
