"""ORDER_MISSING: the unit's cases whose recommendation order we could not determine.

Also owns the wording for why a candidate list could not be read (`parsers.candidates.ListProblem`),
the reason an order goes missing when the unit's list is a scan or an old file. No finding shows
it yet (the pipeline keeps only a list's entries); whatever comes to show a list's problem takes
its sentence from `list_problem_text`.
"""

from __future__ import annotations

from collections.abc import Iterator

from parsers.candidates import ListProblem
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import UnitFacts

LIST_PROBLEM_TEXT: dict[ListProblem, str] = {
    ListProblem.SCAN: "名单为图片或 PDF，无法自动读取推荐顺序",
    ListProblem.OLD_WORD: "名单为 .doc/.wps 格式，未转换为 .docx，无法自动读取推荐顺序",
    ListProblem.OLD_EXCEL: "名单为旧版 Excel（.xls/.et）格式，无法自动读取推荐顺序",
    ListProblem.DAMAGED: "名单文件已损坏，无法读取",
    ListProblem.TOO_LARGE: "名单文件过大，未读取",
    ListProblem.EMPTY_FILE: "名单文件为空",
    ListProblem.NO_LIST: "名单中未找到案例列表，无法自动读取推荐顺序",
    ListProblem.UNKNOWN: "名单格式无法识别，无法自动读取推荐顺序",
}


def list_problem_text(problem: ListProblem) -> str:
    """Why the candidate list could not be read, in Chinese for staff."""
    return LIST_PROBLEM_TEXT[problem]


def _check(u: UnitFacts) -> Iterator[Hit]:
    if not u.cases:
        return
    unknown = [c.name for c in u.cases if c.order is None]
    if unknown:
        yield Hit("无法确定推荐顺序：" + "、".join(unknown))


RULE = Rule[UnitFacts](
    code="ORDER_MISSING",
    severity=Severity.WARNING,
    audience=Audience.ADVICE,
    level=Level.UNIT,
    reason="无法确定推荐顺序",
    fix="请在推荐名单中注明每个类别内的推荐顺序",
    check=_check,
)
