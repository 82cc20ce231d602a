from collections.abc import Iterator

from parsers.archives import is_staff_problem
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts


def _check(m: MessageFacts) -> Iterator[Hit]:
    for problem in m.archive_problems:
        if not is_staff_problem(problem):
            yield Hit(problem.reason, problem.name)


RULE = Rule[MessageFacts](
    code="ARCHIVE_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.MESSAGE,
    reason="压缩包无法打开（损坏、加密、格式不支持或超出安全限制）",
    fix="请使用不加密的 zip 格式重新压缩后发送",
    check=_check,
)
