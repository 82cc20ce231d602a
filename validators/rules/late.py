"""LATE: the mail arrived after the deadline; staff decide whether to accept it."""

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    deadline = m.campaign.deadline
    if m.received_at is not None and m.received_at > deadline:
        local = m.received_at.astimezone(ZoneInfo(m.campaign.timezone))
        yield Hit(f"收到时间 {local:%Y-%m-%d %H:%M}，截止时间 {deadline:%Y-%m-%d %H:%M}")


RULE = Rule[MessageFacts](
    code="LATE",
    severity=Severity.WARNING,
    level=Level.MESSAGE,
    reason="材料在截止时间之后收到",
    fix="由工作人员决定是否受理",
    check=_check,
    audience=Audience.STAFF,
)
