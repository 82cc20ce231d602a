"""One `expand` call: the per-message budgets, reading members within them, and the problems.

Limits reject the member, not the message, except the total size (once over, nothing more is
unpacked for that message) and the member count (an archive with more entries than the budget
left is refused whole, before anything is decompressed). Sizes in headers are checked first, and
reads stop at the cap + 1 byte because headers can lie.

Problems of one kind in one archive (encrypted, corrupt, …) are gathered in a `Tally` and merged
into one `ArchiveProblem` when the archive is done, so a 40-photo encrypted zip gives one line,
not 40.

Files are `Payload`s: with a sink, a large member is streamed into it as it is decompressed
(`read_capped_payload`), and a stored archive is opened on its file, not read into memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import py7zr.exceptions
import rarfile

from parsers.archive_detect import (
    OFFICE_SUFFIXES,
    ArchiveFormat,
    archive_format,
    unsupported_format,
)
from parsers.model import (
    ArchiveDamage,
    ArchiveProblem,
    ArchiveProblemKind,
    Expanded,
    ExtractedFile,
)
from parsers.payload import Payload, Sink, SinkFailed, Spool

KiB = 1024
MiB = 1024**2
GiB = 1024**3

# The ratio test only applies above this size: small files (an XML sidecar, a blank page scan)
# legitimately compress 500:1, and cannot hurt anyone.
RATIO_FLOOR = MiB

_CHUNK = MiB


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 2 * GiB  # uncompressed, per message, nested archives included
    max_member_bytes: int = GiB
    max_ratio: float = 200.0  # uncompressed / compressed, for members over RATIO_FLOOR
    max_members: int = 5000  # files per message, nested archives included
    max_depth: int = 3  # archives inside archives: 3 means zip > zip > zip is still opened
    tool_timeout_s: float = 120.0  # per RAR member handed to the RAR tool


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def read_capped(stream: Readable, cap: int) -> bytes:
    """At most cap + 1 bytes: one byte over is enough to know the member is over its limit."""
    chunks: list[bytes] = []
    got = 0
    while got <= cap:
        chunk = stream.read(min(_CHUNK, cap + 1 - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class OverCap(Exception):
    """A member read past its cap (its header understated its size); nothing of it was kept."""


def read_capped_payload(stream: Readable, cap: int, sink: Sink | None) -> Payload:
    """The member, streamed into `sink` when large (see `Spool`); OverCap past `cap` bytes."""
    spool = Spool(sink)
    try:
        while spool.size <= cap:
            chunk = stream.read(min(_CHUNK, cap + 1 - spool.size))
            if not chunk:
                break
            spool.write(chunk)
        if spool.size > cap:
            raise OverCap
        return spool.finish()
    except BaseException:
        spool.abort()
        raise


class ToolMissing(Exception):
    """No RAR tool here to decompress this member."""


class ToolTimeout(Exception):
    """The RAR tool ran out of time on this member."""


@dataclass
class Entry:
    """One regular file member, ready to be read."""

    name: str  # as shown to people: decoded, "/"-separated
    parts: tuple[str, ...]
    declared: int | None  # uncompressed size claimed by the header
    packed: int | None  # compressed size, when the format gives one per member
    # Up to cap + 1 bytes (or a Payload, raising OverCap); raises if the member is damaged.
    read: Callable[[int], bytes | Payload]


@dataclass
class Tally:
    """Member problems of one archive, merged into one problem per kind when the archive is done."""

    files: int = 0  # regular file members seen (to tell "all encrypted" from "some")
    encrypted: list[str] = field(default_factory=list)
    corrupt: list[tuple[ArchiveDamage, str | None, str]] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (method, member)
    split: list[str] = field(default_factory=list)
    no_tool: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)


def note_failure(exc: Exception, names: list[str], tally: Tally) -> None:
    """File a library's complaint about these members under the right kind."""
    text = str(exc)
    if isinstance(exc, py7zr.exceptions.UnsupportedCompressionMethodError):
        tally.unsupported.extend((str(exc.message), name) for name in names)
    elif isinstance(exc, NotImplementedError):
        tally.unsupported.extend((text or type(exc).__name__, name) for name in names)
    elif isinstance(exc, rarfile.NeedFirstVolume):
        tally.split.extend(names)
    elif isinstance(exc, rarfile.PasswordRequired | rarfile.RarWrongPassword):
        tally.encrypted.extend(names)
    else:
        damage, label = _damage(exc)
        tally.corrupt.extend((damage, label, name) for name in names)


def _damage(exc: Exception) -> tuple[ArchiveDamage, str | None]:
    text = str(exc)
    if isinstance(exc, py7zr.exceptions.CrcError | rarfile.RarCRCError) or "CRC" in text:
        return ArchiveDamage.CRC, None
    if isinstance(exc, EOFError) or any(m in text for m in ("enough data", "EOF", "read failed")):
        return ArchiveDamage.TRUNCATED, None
    if "Bad magic number" in text:
        return ArchiveDamage.BAD_HEADER, None
    if "Overlapped entries" in text:
        return ArchiveDamage.OVERLAPPING, None
    return ArchiveDamage.UNDECODABLE, type(exc).__name__


# Reads one archive found at `where` (its path) at nesting `depth` into the run.
ArchiveReader = Callable[["Run", tuple[str, ...], Payload, int], None]
Which = Literal["member", "total", "ratio"]


class Run:
    """State of one `expand` call: the output and what is left of the per-message budgets."""

    def __init__(
        self,
        limits: ArchiveLimits,
        readers: Mapping[ArchiveFormat, ArchiveReader],
        sink: Sink | None = None,
    ):
        self.limits = limits
        self.readers = readers
        self.sink = sink
        self.out = Expanded()
        self.bytes_left = limits.max_total_bytes
        self.members_left = limits.max_members
        self.total_hit = False

    def problem(
        self,
        where: tuple[str, ...],
        kind: ArchiveProblemKind,
        members: tuple[str, ...] = (),
        *,
        limit: float | None = None,
        label: str | None = None,
        damage: ArchiveDamage | None = None,
    ) -> None:
        self.out.problems.append(
            ArchiveProblem("/".join(where), kind, members, limit, label, damage)
        )

    def corrupt(self, where: tuple[str, ...], damage: ArchiveDamage, label: str) -> None:
        """The archive as a whole could not be read: nothing in it is known."""
        self.problem(where, ArchiveProblemKind.CORRUPT, damage=damage, label=label)

    def total_problem(self, where: tuple[str, ...]) -> None:
        self.total_hit = True
        self.problem(where, ArchiveProblemKind.TOO_LARGE, limit=self.limits.max_total_bytes)

    def count_problem(self, where: tuple[str, ...]) -> None:
        self.problem(where, ArchiveProblemKind.TOO_MANY_MEMBERS, limit=self.limits.max_members)

    def take(self, path: tuple[str, ...], payload: Payload, depth: int) -> None:
        """A file at `path`: kept as is, or expanded if it is an archive."""
        data = payload.sample()
        kind = archive_format(data, payload.open if payload.stored else None)
        if kind == "zip" and path[-1].lower().endswith(OFFICE_SUFFIXES):
            # A damaged .docx/.xlsx is still the unit's form or list: grouping and the form
            # reader report it as unreadable, which tells the unit what to fix.
            kind = None
        if kind is None:
            label = unsupported_format(data)
            if label is not None:
                self.problem(path, ArchiveProblemKind.UNSUPPORTED_FORMAT, label=label)
            else:
                self.out.files.append(ExtractedFile(path, payload))
            return
        if depth >= self.limits.max_depth:
            self.problem(path, ArchiveProblemKind.TOO_DEEP, limit=self.limits.max_depth)
            return
        if self.total_hit:
            self.total_problem(path)
            return
        self.readers[kind](self, path, payload, depth)

    def cap(self, entry: Entry) -> tuple[int, Which]:
        """The tightest limit on this member's size, and which one it is."""
        limits = self.limits
        caps: list[tuple[int, Which]] = [
            (limits.max_member_bytes, "member"),
            (self.bytes_left, "total"),
        ]
        if entry.packed is not None:
            caps.append((max(RATIO_FLOOR, int(limits.max_ratio * entry.packed)), "ratio"))
        return min(caps)

    def over(self, where: tuple[str, ...], name: str, which: Which) -> None:
        limits = self.limits
        if which == "total":
            self.total_problem(where)
        elif which == "member":
            self.problem(
                where, ArchiveProblemKind.MEMBER_TOO_LARGE, (name,), limit=limits.max_member_bytes
            )
        else:
            self.problem(where, ArchiveProblemKind.RATIO, (name,), limit=limits.max_ratio)

    def read_entries(
        self, where: tuple[str, ...], entries: list[Entry], tally: Tally, depth: int
    ) -> None:
        for entry in entries:
            if self.total_hit:
                return
            cap, which = self.cap(entry)
            if entry.declared is not None and entry.declared > cap:
                self.over(where, entry.name, which)
                continue
            try:
                got = entry.read(cap)
            except OverCap:
                self.over(where, entry.name, which)
                continue
            except SinkFailed:  # the disk's failure, not the member's: the service retries
                raise
            except ToolMissing:
                tally.no_tool.append(entry.name)
                continue
            except ToolTimeout:
                tally.timed_out.append(entry.name)
                continue
            except Exception as exc:  # whatever the library raises, it is this member's damage
                note_failure(exc, [entry.name], tally)
                continue
            if len(got) > cap:
                self.over(where, entry.name, which)
                continue
            self.bytes_left -= len(got)
            self.members_left -= 1
            payload = got if isinstance(got, Payload) else Payload.of(got)
            self.take(where + entry.parts, payload, depth + 1)

    def flush(self, where: tuple[str, ...], tally: Tally) -> None:
        if tally.encrypted:
            # No members named: the whole archive is encrypted.
            names = () if len(tally.encrypted) >= tally.files else tuple(tally.encrypted)
            self.problem(where, ArchiveProblemKind.ENCRYPTED, names)
        if tally.corrupt:
            damage, label, _ = tally.corrupt[0]
            names = tuple(name for _, _, name in tally.corrupt)
            self.problem(where, ArchiveProblemKind.CORRUPT, names, damage=damage, label=label)
        if tally.unsupported:
            method = tally.unsupported[0][0]
            names = tuple(name for _, name in tally.unsupported)
            self.problem(where, ArchiveProblemKind.UNSUPPORTED_METHOD, names, label=method)
        if tally.split:
            self.problem(where, ArchiveProblemKind.SPLIT, tuple(tally.split))
        if tally.timed_out:
            timeout = self.limits.tool_timeout_s
            self.problem(
                where, ArchiveProblemKind.TOOL_TIMEOUT, tuple(tally.timed_out), limit=timeout
            )
        if tally.no_tool:
            self.problem(where, ArchiveProblemKind.TOOL_MISSING, tuple(tally.no_tool))
