"""MOBILE_INVALID: the form's 手机 is not a mainland mobile number."""

from collections.abc import Iterator

from parsers.phones import is_mainland_mobile
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts


def _check(c: CaseFacts) -> Iterator[Hit]:
    mobile = (c.form.fields.get("手机") or "").strip() if c.form else ""
    if mobile and not is_mainland_mobile(mobile):
        yield Hit(f"手机栏填写为“{mobile}”", c.form_file)


RULE = Rule[CaseFacts](
    code="MOBILE_INVALID",
    severity=Severity.WARNING,
    audience=Audience.ADVICE,
    level=Level.CASE,
    reason="推荐表“手机”栏不是有效的大陆手机号码",
    fix="请核对联系人手机号码（11 位，以 1 开头）",
    check=_check,
)
