"""INTRO_TOO_LONG: 案例简介 is over the call's limit, counted as Word counts."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    limit = c.campaign.limits.intro_max_chars
    if c.intro_chars is not None and c.intro_chars > limit:
        yield Hit(f"案例简介 {c.intro_chars} 字，上限 {limit} 字", c.form_file)


RULE = Rule[CaseFacts](
    code="INTRO_TOO_LONG",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="案例简介超过字数上限",
    fix="请将推荐表中的案例简介压缩到 {intro_max_chars} 字以内（按 Word“字数统计”计），证明材料可另附页",
    check=_check,
)
