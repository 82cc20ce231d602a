"""An archive we could not open because a tool is missing here: our problem, not the unit's."""

from collections.abc import Iterator

from parsers.archives import STAFF_TAG, is_staff_problem
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    for problem in m.archive_problems:
        if is_staff_problem(problem):
            yield Hit(problem.reason.removeprefix(STAFF_TAG), problem.name)


RULE = Rule[MessageFacts](
    code="ARCHIVE_TOOL_UNAVAILABLE",
    severity=Severity.WARNING,
    level=Level.MESSAGE,
    reason="服务器缺少解压工具，压缩包未能打开",
    fix="工作人员请安装 unar 或 libarchive-tools 后对该邮件执行 intake retriage，或手工解压",
    check=_check,
    audience=Audience.STAFF,
)
