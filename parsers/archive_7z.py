"""7z archives, read in-process with py7zr, members spooled into the run's sink when large.

Solid 7z blocks do not say which member is the bomb, so a 7z whose overall ratio is a bomb is
refused whole. py7zr stops at the first damaged member: what completed (written whole, CRC
checked) before it is kept, everything after it is reported lost with it.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import PurePosixPath
from typing import BinaryIO

import py7zr
import py7zr.exceptions
from py7zr.io import Py7zIO, WriterFactory

from parsers.archive_names import is_junk, split_name
from parsers.archive_run import RATIO_FLOOR, Run, Tally, note_failure
from parsers.model import ArchiveDamage, ArchiveProblemKind
from parsers.payload import Payload, Sink, SinkFailed, Spool


class _Overflow(Exception):
    pass


class _SpoolWriter(Py7zIO):
    """One member as py7zr decompresses it, into a `Spool` (the run's sink once it is large)."""

    def __init__(self, name: str, cap: int, sink: Sink | None) -> None:
        self.name = name
        self.cap = cap
        self.spool = Spool(sink)
        self.complete = False

    def write(self, s: bytes | bytearray) -> int:
        # py7zr stops at the declared size, which was checked; this is the backstop.
        if self.spool.size + len(s) > self.cap:
            raise _Overflow(self.name)
        self.spool.write(bytes(s))
        return len(s)

    def seekable(self) -> bool:
        # Not rewound on close (py7zr asks): what was written is never read back through here.
        return False

    def read(self, size: int | None = None) -> bytes:
        raise io.UnsupportedOperation("members are written, not read back")

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("members are written, not read back")

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.spool.size

    def close(self) -> None:
        # py7zr calls this only after the member was written whole and its CRC matched.
        self.complete = True


class _SpoolFactory(WriterFactory):
    def __init__(self, cap: int, sink: Sink | None) -> None:
        self.cap = cap
        self.sink = sink
        self.products: list[_SpoolWriter] = []

    def create(self, filename: str) -> Py7zIO:
        writer = _SpoolWriter(filename, self.cap, self.sink)
        self.products.append(writer)
        return writer


def expand_7z(run: Run, where: tuple[str, ...], payload: Payload, depth: int) -> None:
    # A stored archive is read from its file; its members (caps checked) still come out whole.
    with payload.open() as fh:
        _expand(run, where, fh, payload.size, depth)


def _expand(run: Run, where: tuple[str, ...], fh: BinaryIO, size: int, depth: int) -> None:
    limits = run.limits
    try:
        sz = py7zr.SevenZipFile(fh, mode="r", max_extract_size=run.bytes_left)
    except py7zr.exceptions.PasswordRequired:  # encrypted headers
        run.problem(where, ArchiveProblemKind.ENCRYPTED)
        return
    except Exception as exc:
        run.corrupt(where, ArchiveDamage.UNREADABLE, str(exc))
        return
    with sz:
        if sz.needs_password():
            run.problem(where, ArchiveProblemKind.ENCRYPTED)
            return
        try:
            infos = sz.list()
        except Exception as exc:
            run.corrupt(where, ArchiveDamage.UNREADABLE, str(exc))
            return
        tally = Tally()
        candidates: list[tuple[py7zr.FileInfo, tuple[str, ...]]] = []
        for info in infos:
            if info.is_directory:
                continue
            parts = split_name(info.filename)
            if parts is None:
                run.problem(where, ArchiveProblemKind.UNSAFE_PATH, (info.filename,))
                continue
            if not parts or is_junk(parts):
                continue
            if info.is_symlink:
                run.problem(where, ArchiveProblemKind.LINK, ("/".join(parts),))
                continue
            if info.is_file:
                candidates.append((info, parts))
        tally.files = len(candidates)
        if tally.files > run.members_left:
            run.count_problem(where)
            return
        # Solid blocks have no per-member compressed size, so the ratio is judged on the whole.
        declared = sum(info.uncompressed for info, _ in candidates)
        if declared > RATIO_FLOOR and declared > limits.max_ratio * size:
            run.problem(where, ArchiveProblemKind.RATIO, limit=limits.max_ratio)
            return
        targets: list[str] = []
        order: dict[str, int] = {}
        budget = run.bytes_left
        over_total = False
        for info, parts in candidates:
            if info.uncompressed > limits.max_member_bytes:
                run.over(where, "/".join(parts), "member")
                continue
            if info.uncompressed > budget:
                over_total = True  # reported after the members that fit are taken
                break
            budget -= info.uncompressed
            targets.append(info.filename)
            order.setdefault("/".join(parts), len(order))
        if targets:
            _extract(run, where, sz, targets, order, tally, depth)
        if over_total and not run.total_hit:
            run.total_problem(where)
        run.flush(where, tally)


def _extract(
    run: Run,
    where: tuple[str, ...],
    sz: py7zr.SevenZipFile,
    targets: list[str],
    order: dict[str, int],
    tally: Tally,
    depth: int,
) -> None:
    factory = _SpoolFactory(run.limits.max_member_bytes, run.sink)
    failure: Exception | None = None
    # py7zr checks each name against a real directory, resolving symlinks: an empty private one
    # keeps that check from depending on whatever sits in the working directory. Nothing is
    # written there, the factory spools the data (into the run's sink once large).
    with tempfile.TemporaryDirectory(prefix="intake-7z-") as root:
        try:
            sz.extract(path=root, targets=targets, factory=factory)
        except SinkFailed:  # the disk's failure, not the archive's: the service retries
            for writer in factory.products:
                writer.spool.abort()
            raise
        except Exception as exc:  # member damage ends a 7z read; what completed is kept
            failure = exc
        done: list[tuple[tuple[str, ...], Payload]] = []
        for writer in factory.products:
            relative = PurePosixPath(writer.name).relative_to(root).as_posix()
            parts = split_name(relative)
            if writer.complete and parts:
                done.append((parts, writer.spool.finish()))
            else:
                writer.spool.abort()
            if isinstance(failure, _Overflow) and writer.name == failure.args[0]:
                run.over(where, relative, "member")
    # Empty members come out first in multi-block archives: restore the archive's order.
    done.sort(key=lambda item: order.get("/".join(item[0]), len(order)))
    if isinstance(failure, py7zr.exceptions.DecompressionBombError):
        run.total_problem(where)
    elif failure is not None and not isinstance(failure, _Overflow):
        # py7zr stops at the first damaged member: everything not completed is lost with it.
        read = {"/".join(parts) for parts, _ in done}
        unread = [name for name in order if name not in read]
        culprit = getattr(failure, "filename", None)
        if isinstance(culprit, str) and culprit in unread:
            unread.remove(culprit)
            unread.insert(0, culprit)
        note_failure(failure, unread or [type(failure).__name__], tally)
    for parts, payload in done:
        if run.total_hit:
            return
        if payload.size > run.bytes_left:
            run.total_problem(where)
            return
        run.bytes_left -= payload.size
        run.members_left -= 1
        run.take(where + parts, payload, depth + 1)
