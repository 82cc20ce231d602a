from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.form_error:
        yield Hit(c.form_error, c.form_file)


RULE = Rule[CaseFacts](
    code="FORM_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="推荐表 Word 文件无法打开",
    fix="请用 Word 或 WPS 另存为 .docx 格式后重新发送该案例",
    check=_check,
)
