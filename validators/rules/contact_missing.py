"""CONTACT_MISSING: the body does not name the responsible person's name, phone and email.

Owns the Chinese words for the contact fields a body leaves out.
"""

from __future__ import annotations

from collections.abc import Iterator

from parsers.model import Contact, ContactField
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts

LABELS: dict[ContactField, str] = {"name": "姓名", "phone": "联系电话", "email": "邮箱"}


def missing_labels(contact: Contact) -> list[str]:
    """`["联系电话", "邮箱"]`: what the body leaves out, in the words of the call."""
    return [LABELS[key] for key in contact.missing]


def _check(m: MessageFacts) -> Iterator[Hit]:
    if m.contact.missing:
        yield Hit("缺少：" + "、".join(missing_labels(m.contact)))


RULE = Rule[MessageFacts](
    code="CONTACT_MISSING",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.MESSAGE,
    reason="邮件正文未注明工作负责人的姓名、联系电话和邮箱",
    fix="请回复本邮件，在正文中写明工作负责人的姓名、联系电话（手机）和电子邮箱",
    check=_check,
)
