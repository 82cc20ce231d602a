"""SUBJECT_FORMAT: the subject strays from the call's format; says how, in Chinese, for staff.

Owns the wording of each `SubjectDeviation` that `parsers.subject.match_subject` finds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from parsers.model import Deviation, SubjectDeviation
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts

# `{}` is filled with the deviation's words, joined by 、.
_WORDING: dict[Deviation, str] = {
    Deviation.REPLY_PREFIX: "带有“回复/转发”前缀",
    Deviation.TEMPLATE_TEXT: "保留了模板文字“XX省（区、市）”",
    Deviation.YEAR: "包含年份",
    Deviation.EMPTY: "主题为空",
    Deviation.NO_UNIT: "未写明报送单位",
    Deviation.MISSING_TEXT: "缺少“{}”",
    Deviation.SHORT_NAME: "使用了简称“{}”",
    Deviation.ONE_CHAR_NAME: "使用了单字简称“{}”",
    Deviation.SEVERAL_UNITS: "主题中出现多个单位：{}",
    Deviation.UNIT_NOT_FIRST: "单位名称不在主题开头",
    Deviation.EXTRA_TEXT: "多余内容：{}",
}


def deviation_text(deviation: SubjectDeviation) -> str:
    """`SubjectDeviation(SHORT_NAME, ("宁夏",))` → `使用了简称“宁夏”`."""
    return _WORDING[deviation.kind].format("、".join(deviation.words))


def deviation_texts(deviations: Iterable[SubjectDeviation]) -> tuple[str, ...]:
    return tuple(deviation_text(d) for d in deviations)


def _check(m: MessageFacts) -> Iterator[Hit]:
    if m.unit and m.subject_deviations:
        yield Hit("；".join(deviation_texts(m.subject_deviations)))


RULE = Rule[MessageFacts](
    code="SUBJECT_FORMAT",
    severity=Severity.WARNING,
    audience=Audience.ADVICE,
    level=Level.MESSAGE,
    reason="邮件主题与通知要求的格式不一致",
    fix="今后请按“XX省（区、市）低碳发展典型案例申报材料”的格式填写邮件主题",
    check=_check,
)
