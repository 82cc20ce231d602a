"""Archives the unit must send again: damaged, encrypted, unsupported, or over a safety limit.

`detail_for` words each typed `ArchiveProblem` the way the notice has always read.
"""

from __future__ import annotations

from collections.abc import Iterator

from parsers.model import ArchiveDamage, ArchiveProblem, ArchiveProblemKind
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import MessageFacts

_KIB = 1024
_MIB = 1024**2
_GIB = 1024**3
_LIMIT = "压缩包超出安全限制："

_DAMAGE = {
    ArchiveDamage.CRC: "CRC 校验失败",
    ArchiveDamage.TRUNCATED: "数据不完整，文件可能被截断",
    ArchiveDamage.BAD_HEADER: "文件头损坏",
    ArchiveDamage.OVERLAPPING: "文件条目重叠，疑似压缩炸弹",
}


def human_size(n: float) -> str:
    for unit, size in (("GB", _GIB), ("MB", _MIB), ("KB", _KIB)):
        if n >= size:
            value = n / size
            return f"{value:g} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{int(n)} 字节"


def some_names(names: tuple[str, ...]) -> str:
    """Up to three names, then how many in all."""
    shown = "、".join(names[:3])
    return f"{shown} 等 {len(names)} 个文件" if len(names) > 3 else shown


def first_and_count(names: tuple[str, ...]) -> str:
    """The first name, then how many in all."""
    return names[0] if len(names) == 1 else f"{names[0]} 等 {len(names)} 个文件"


def _limit(problem: ArchiveProblem) -> float:
    assert problem.limit is not None, problem
    return problem.limit


def _corrupt(problem: ArchiveProblem) -> str:
    damage, label = problem.damage, problem.label
    if damage is ArchiveDamage.NO_DIRECTORY:
        return f"压缩包已损坏（无法读取文件目录：{label}）"
    if damage is ArchiveDamage.UNREADABLE or not problem.members:
        return f"压缩包已损坏（{label}）"
    what = (_DAMAGE.get(damage) if damage else None) or f"数据无法解压：{label}"
    return f"压缩包已损坏（{what}：{first_and_count(problem.members)}）"


def detail_for(problem: ArchiveProblem) -> str:
    """The notice's sentence for one archive problem (of the unit's kinds)."""
    kind, members = problem.kind, problem.members
    if kind is ArchiveProblemKind.UNSUPPORTED_FORMAT:
        return f"不支持的压缩格式（{problem.label}）"
    if kind is ArchiveProblemKind.UNSUPPORTED_METHOD:
        method = problem.label or ""
        method = f"方法 {method}" if method.isdigit() else method
        return f"不支持的压缩方式（{method}：{first_and_count(members)}）"
    if kind is ArchiveProblemKind.ENCRYPTED:
        if not members:
            return "压缩包已加密，无法读取"
        return f"压缩包中有文件已加密，无法读取：{some_names(members)}"
    if kind is ArchiveProblemKind.CORRUPT:
        return _corrupt(problem)
    if kind is ArchiveProblemKind.SPLIT:
        if not members:
            return "分卷压缩包不完整，缺少其他分卷"
        return f"分卷压缩包不完整，缺少其他分卷（{first_and_count(members)}）"
    if kind is ArchiveProblemKind.TOO_DEEP:
        return f"{_LIMIT}嵌套层数超过 {_limit(problem):g} 层"
    if kind is ArchiveProblemKind.TOO_LARGE:
        return f"{_LIMIT}解压后总大小超过 {human_size(_limit(problem))}"
    if kind is ArchiveProblemKind.MEMBER_TOO_LARGE:
        return f"{_LIMIT}单个文件超过 {human_size(_limit(problem))}（{members[0]}）"
    if kind is ArchiveProblemKind.TOO_MANY_MEMBERS:
        return f"{_LIMIT}文件数量超过 {_limit(problem):g} 个"
    if kind is ArchiveProblemKind.RATIO:
        if not members:  # a solid 7z: judged on the whole
            return f"{_LIMIT}压缩比超过 {_limit(problem):g} 倍，疑似压缩炸弹"
        return f"{_LIMIT}压缩比异常（{members[0]} 超过 {_limit(problem):g} 倍），疑似压缩炸弹"
    if kind is ArchiveProblemKind.UNSAFE_PATH:
        return f"路径越界：{members[0]}"
    if kind is ArchiveProblemKind.LINK:
        return f"已跳过链接文件（不是普通文件）：{members[0]}"
    if kind is ArchiveProblemKind.TOOL_TIMEOUT:
        return f"压缩包解压超时（超过 {_limit(problem):g} 秒：{first_and_count(members)}）"
    raise ValueError(f"not the unit's archive problem: {problem.kind}")


def _check(m: MessageFacts) -> Iterator[Hit]:
    for problem in m.archive_problems:
        if not problem.ours:
            data = {"kind": problem.kind.value, "members": list(problem.members)}
            yield Hit(detail_for(problem), problem.name, data)


RULE = Rule[MessageFacts](
    code="ARCHIVE_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.MESSAGE,
    reason="压缩包无法打开（损坏、加密、格式不支持或超出安全限制）",
    fix="请使用不加密的 zip 格式重新压缩后发送",
    check=_check,
)
