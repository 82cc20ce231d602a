"""CONVERTER_UNAVAILABLE: a .doc/.wps form we could not convert here (staff only)."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if c.converter_missing:
        yield Hit(c.converter_missing, c.form_file)


RULE = Rule[CaseFacts](
    code="CONVERTER_UNAVAILABLE",
    severity=Severity.WARNING,
    level=Level.CASE,
    reason="服务器未能转换 .doc/.wps 推荐表（LibreOffice 缺失或转换失败）",
    fix="工作人员请检查 LibreOffice 后执行 intake retriage，或手工打开推荐表核对",
    check=_check,
    audience=Audience.STAFF,
)
