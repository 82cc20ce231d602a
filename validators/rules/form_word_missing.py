"""FORM_WORD_MISSING: the case has no Word version of its form."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if not c.by_role("form_word"):
        yield Hit("案例文件夹中没有 .doc/.docx/.wps 格式的推荐表")


RULE = Rule[CaseFacts](
    code="FORM_WORD_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="缺少推荐表的 Word 电子版",
    fix="请在案例文件夹中补充 Word 版推荐表（如“北京市XX推荐表.docx”）",
    check=_check,
)
