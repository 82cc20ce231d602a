"""An archive we could not open because a tool is missing here: our problem, not the unit's."""

from __future__ import annotations

from collections.abc import Iterator

from parsers.model import ArchiveProblem
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts
from validators.rules.archive_unreadable import first_and_count


def detail_for(problem: ArchiveProblem) -> str:
    """The staff line for a RAR that no tool here could decompress."""
    names = first_and_count(problem.members)
    return f"服务器缺少 RAR 解压工具（unrar、unar、7z 或 bsdtar），未能解压：{names}"


def _check(m: MessageFacts) -> Iterator[Hit]:
    for problem in m.archive_problems:
        if problem.ours:
            data = {"kind": problem.kind.value, "members": list(problem.members)}
            yield Hit(detail_for(problem), problem.name, data)


RULE = Rule[MessageFacts](
    code="ARCHIVE_TOOL_UNAVAILABLE",
    severity=Severity.WARNING,
    level=Level.MESSAGE,
    reason="服务器缺少解压工具，压缩包未能打开",
    fix="工作人员请安装 unar 或 libarchive-tools 后对该邮件执行 intake retriage，或手工解压",
    check=_check,
    audience=Audience.STAFF,
)
