"""RAR members decompressed by an external tool: unrar, unar, 7z or bsdtar, first found wins.

Parsers read RAR headers themselves and hand over one compressed member at a time: a small RAR
holding only that member, or (solid archives, where a member needs those before it) the whole
archive and the member's name, written by the caller into a temporary file in a private
directory: unar also opens numbered siblings (a4.rar next to a5.rar) as volumes, so the archive
must not share a directory with other files. The tool runs through `programs.run` (own process
group, killed with its children on timeout) and writes the member from its standard output
straight into a file beside it, never through this process's memory: a 100 MB video in a
WinRAR archive was held three times over (issue 13). The directory is removed on return; the
output file stays open for the caller and disappears when it is closed.

Debian 12 has `unar` and `libarchive-tools` (bsdtar), not `unrar`.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

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
    """The member as the tool wrote it (an open file, read from its start), or why there is
    none: `output` is None only for "tool_missing" and "timed_out"."""

    output: BinaryIO | None = None
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
    archive: Callable[[BinaryIO], object],
    *,
    member: str | None,
    timeout: float,
    max_bytes: int,
    tool: RarTool | None = None,
) -> RarRead:
    """Decompress `member` (None: the only member) of the archive that `archive` writes into the
    file it is given, with `tool` or the one found.

    RAR decoders stop at the member's declared size, which the parsers checked against
    `max_bytes`; the kernel stops a tool that writes more than one byte past it anyway.
    The caller closes `output`.
    """
    tool = tool or find_tool()
    if tool is None:
        return RarRead(failure="tool_missing")
    with tempfile.TemporaryDirectory(prefix="intake-rar-") as tmp:
        path = Path(tmp) / "archive.rar"
        with path.open("wb") as fh:
            archive(fh)
        output = (Path(tmp) / "member").open("w+b")
        try:
            done = run(
                tool.argv(path, member),
                timeout=timeout,
                cwd=Path(tmp),
                stdout=output,
                max_file_size=max_bytes + 1,
            )
        except ProgramMissing as exc:
            output.close()
            return RarRead(failure="tool_missing", message=str(exc))
        except BaseException:
            output.close()
            raise
    if done.timed_out:
        output.close()
        return RarRead(failure="timed_out")
    output.seek(0)
    return RarRead(output, None if done.ok else "failed", "" if done.ok else done.tail())
