"""FORM_SCAN_MISSING: the case has no stamped scan of its form."""

from collections.abc import Iterator

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    if not c.by_role("form_scan"):
        yield Hit("案例文件夹中没有推荐表盖章扫描件（PDF 或图片）")


RULE = Rule[CaseFacts](
    code="FORM_SCAN_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="缺少加盖公章的推荐表扫描件",
    fix="请补充推荐表盖章扫描件（PDF 或 JPG，如“北京市XX推荐表（盖章）.pdf”）",
    check=_check,
)
