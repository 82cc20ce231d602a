"""RAR members decompressed by an external tool: unrar, unar, 7z or bsdtar, first found wins.

Parsers read RAR headers themselves and hand over one compressed member at a time: a small RAR
holding only that member, or (solid archives, where a member needs those before it) the whole
archive and the member's name. The tool writes the member to its standard output. It runs
through `programs.run` (own process group, killed with its children on timeout) on a temporary
file in a private directory, removed afterwards: unar also opens numbered siblings (a4.rar next
to a5.rar) as volumes, so the archive must not share a directory with other files.

Debian 12 has `unar` and `libarchive-tools` (bsdtar), not `unrar`.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from programs.run import ProgramMissing, run

ToolName = Literal["unrar", "unar", "7z", "bsdtar"]
RarFailure = Literal["tool_missing", "timed_out", "failed"]

# The order of preference, and each tool's way to write members to stdout without asking for a
# password (stdin is closed anyway, but an encrypted member must fail, not wait).
_ORDER: tuple[ToolName, ...] = ("unrar", "unar", "7z", "bsdtar")
_ARGS: dict[ToolName, tuple[str, ...]] = {
    "unrar": ("p", "-inul", "-p-", "--"),
    "unar": ("-q", "-o", "-", "-p", "", "--"),
    "7z": ("e", "-so", "-bb0", "-p", "--"),
    "bsdtar": ("-x", "--to-stdout", "-f"),
}


@dataclass(frozen=True)
class RarTool:
    """An installed RAR tool: which one, and where."""

    name: ToolName
    path: str

    def argv(self, archive: Path, member: str | None) -> list[str]:
        argv = [self.path, *_ARGS[self.name], str(archive)]
        return argv if member is None else [*argv, member]


@dataclass(frozen=True)
class RarRead:
    """One member's bytes (at most max_bytes + 1), or why there are none usable."""

    data: bytes = b""
    failure: RarFailure | None = None
    message: str = ""  # the tool's last words, for a staff log line


@functools.cache
def find_tool() -> RarTool | None:
    """The first RAR tool installed here, by absolute path; None if there is none."""
    for name in _ORDER:
        found = shutil.which(name)
        if found:
            return RarTool(name, found)
    return None


def read_member(
    archive: bytes,
    *,
    member: str | None,
    timeout: float,
    max_bytes: int,
    tool: RarTool | None = None,
) -> RarRead:
    """Decompress `member` of `archive` (None: its only member) with `tool` or the one found.

    The whole output is held in memory: parsers hand over only members whose declared size
    fits `max_bytes`, and RAR decoders stop at the declared size.
    """
    tool = tool or find_tool()
    if tool is None:
        return RarRead(failure="tool_missing")
    with tempfile.TemporaryDirectory(prefix="intake-rar-") as tmp:
        path = Path(tmp) / "archive.rar"
        path.write_bytes(archive)
        try:
            done = run(tool.argv(path, member), timeout=timeout, cwd=Path(tmp))
        except ProgramMissing as exc:
            return RarRead(failure="tool_missing", message=str(exc))
    if done.timed_out:
        return RarRead(failure="timed_out")
    failure: RarFailure | None = None if done.ok else "failed"
    return RarRead(done.stdout[: max_bytes + 1], failure, "" if done.ok else done.tail())
