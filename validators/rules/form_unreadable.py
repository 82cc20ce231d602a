"""FORM_UNREADABLE: the Word form does not open (damaged, not Word, or LibreOffice refused it)."""

from __future__ import annotations

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.form_error:
        # `form_error` is the reader's reason (the converter's or the form parser's words).
        yield Hit(f"推荐表无法读取：{c.form_error}", c.form_file)


RULE = Rule[CaseFacts](
    code="FORM_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="推荐表 Word 文件无法打开",
    fix="请用 Word 或 WPS 另存为 .docx 格式后重新发送该案例",
    check=_check,
)
