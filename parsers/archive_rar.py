"""RAR archives: headers, names and stored members read in-process; compressed members through
an injected `RarReader` (parsers run no program; `programs.unar` is the one the service uses).

rarfile parses RAR4 and RAR5 headers itself and reads stored (uncompressed) members without any
tool; this module never asks it for a compressed member, which would make it start one. Each
compressed member goes to the reader as a small RAR holding only that member, or, for solid
archives (where a member needs those before it), as the whole archive and the member's name.
No reader (or no tool behind it) is our fault, not the unit's: `ArchiveProblemKind.TOOL_MISSING`.
RAR5 hard links and file copies are read as the data they refer to (that is what they are; the
size caps still apply). Nothing is held whole: rarfile reads the archive as a file, stored
members stream into the run's sink, the tool is handed its archive in chunks, and what it wrote
is read back in chunks, checked (size, CRC) as it ends.
"""

from __future__ import annotations

import functools
import shutil
import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO, Literal, Protocol

import rarfile

from parsers.archive_names import decode_legacy, is_junk, split_name
from parsers.archive_run import (
    Entry,
    Run,
    Tally,
    ToolMissing,
    ToolTimeout,
    read_capped_payload,
)
from parsers.model import ArchiveDamage, ArchiveProblemKind
from parsers.payload import Payload, Sink

RarFailure = Literal["tool_missing", "timed_out", "failed"]


class RarOutput(Protocol):
    """What the tool wrote for one member (a file read from its start, which the parser closes),
    and whether it failed; no output when it is missing or timed out."""

    @property
    def output(self) -> BinaryIO | None: ...

    @property
    def failure(self) -> RarFailure | None: ...


class RarReader(Protocol):
    """Decompress one member of the archive that `archive` writes into the file it is given:
    holding only that member (member None), or the whole archive."""

    def __call__(
        self,
        archive: Callable[[BinaryIO], object],
        *,
        member: str | None,
        timeout: float,
        max_bytes: int,
    ) -> RarOutput: ...


def expand_rar(
    run: Run, where: tuple[str, ...], payload: Payload, depth: int, *, reader: RarReader | None
) -> None:
    with payload.open() as fh:
        _expand(run, where, payload, fh, depth, reader)


def _expand(
    run: Run,
    where: tuple[str, ...],
    payload: Payload,
    fh: BinaryIO,
    depth: int,
    reader: RarReader | None,
) -> None:
    try:
        # Names without RAR's Unicode flag are in the packer's ANSI code page: GBK here.
        rf = rarfile.RarFile(fh, charset="gb18030")
        infos = rf.infolist()
    except rarfile.NeedFirstVolume:
        run.problem(where, ArchiveProblemKind.SPLIT)
        return
    except Exception as exc:
        run.corrupt(where, ArchiveDamage.UNREADABLE, str(exc))
        return
    if not infos and rf.needs_password():  # encrypted headers: not even the names are readable
        run.problem(where, ArchiveProblemKind.ENCRYPTED)
        return
    tally = Tally()
    entries: list[Entry] = []
    for info in infos:
        if info.is_dir():
            continue
        name = _rar_name(info)
        parts = split_name(name)
        if parts is None:
            run.problem(where, ArchiveProblemKind.UNSAFE_PATH, (name,))
            continue
        if not parts or is_junk(parts):
            continue
        shown = "/".join(parts)
        if info.is_symlink():
            run.problem(where, ArchiveProblemKind.LINK, (shown,))
            continue
        if not info.is_file():
            continue
        tally.files += 1
        source = _source(rf, info)
        if info.needs_password() or source.needs_password():
            tally.encrypted.append(shown)
        elif info.flags & (rarfile.RAR_FILE_SPLIT_BEFORE | rarfile.RAR_FILE_SPLIT_AFTER):
            tally.split.append(shown)
        elif not _stored(source) and reader is None:
            tally.no_tool.append(shown)
        else:
            timeout = run.limits.tool_timeout_s
            read = functools.partial(_read_member, rf, source, payload, reader, timeout, run.sink)
            entries.append(Entry(shown, parts, info.file_size, info.compress_size, read))
    if tally.files > run.members_left:
        run.count_problem(where)
        return
    run.read_entries(where, entries, tally, depth)
    error = rf.strerror()
    # rarfile stops at a broken header and lists what came before it; a member already reported
    # damaged says the same thing more usefully.
    if error and not tally.corrupt:
        run.corrupt(where, ArchiveDamage.UNREADABLE, error)
    run.flush(where, tally)


def _rar_name(info: rarfile.RarInfo) -> str:
    raw = info.orig_filename
    legacy = isinstance(info, rarfile.Rar3Info) and not info.flags & rarfile.RAR_FILE_UNICODE
    if legacy and isinstance(raw, bytes):
        # rarfile tries UTF-16LE before the charset it is given, which turns any even-length
        # GBK name into CJK-looking nonsense.
        return decode_legacy(raw)
    return str(info.filename)


def _source(rf: rarfile.RarFile, info: rarfile.RarInfo) -> rarfile.RarInfo:
    """The member whose data this one is: itself, or what a hard link or file copy points at."""
    redir = info.file_redir
    if redir and redir[0] in (rarfile.RAR5_XREDIR_FILE_COPY, rarfile.RAR5_XREDIR_HARD_LINK):
        try:
            return rf.getinfo(redir[2])
        except rarfile.NoRarEntry:
            return info  # reading it reports the broken reference
    return info


def _stored(info: rarfile.RarInfo) -> bool:
    return info.compress_type == rarfile.RAR_M0 and not info.file_redir


def _solid(rf: rarfile.RarFile, info: rarfile.RarInfo) -> bool:
    if rf.is_solid():
        return True
    if isinstance(info, rarfile.Rar3Info):
        return bool(info.flags & rarfile.RAR_FILE_SOLID)
    return bool(getattr(info, "file_compress_flags", 0) & rarfile.RAR5_COMPR_SOLID)


def _read_member(
    rf: rarfile.RarFile,
    info: rarfile.RarInfo,
    payload: Payload,
    reader: RarReader | None,
    timeout: float,
    sink: Sink | None,
    cap: int,
) -> Payload:
    if _stored(info):
        with rf.open(info) as fh:  # stored data: read in-process, rarfile checks the CRC
            return read_capped_payload(fh, cap, sink)
    if reader is None:
        raise ToolMissing
    if _solid(rf, info):
        archive = functools.partial(_write_whole, payload)
        out = reader(archive, member=info.filename, timeout=timeout, max_bytes=cap)
    else:
        archive = functools.partial(_write_lone_member, payload, info)
        out = reader(archive, member=None, timeout=timeout, max_bytes=cap)
    if out.failure == "tool_missing":
        raise ToolMissing
    if out.failure == "timed_out":
        raise ToolTimeout
    if out.output is None:
        raise rarfile.RarExecError("the RAR tool wrote nothing")
    with out.output as fh:
        return read_capped_payload(_Checked(fh, info, out.failure is not None), cap, sink)


class _Checked:
    """The tool's output, read through: at its end the size, the CRC and the tool's exit are
    checked, as zipfile checks its members, so a bad member raises before it is kept."""

    def __init__(self, fh: BinaryIO, info: rarfile.RarInfo, failed: bool) -> None:
        self._fh = fh
        self._info = info
        self._failed = failed
        self._size = 0
        self._crc = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._fh.read(size)
        if chunk:
            self._size += len(chunk)
            self._crc = zlib.crc32(chunk, self._crc)
            return chunk
        if self._size < self._info.file_size:
            raise rarfile.BadRarFile("Failed the read enough data")
        if self._info.CRC is not None and self._crc != self._info.CRC:
            raise rarfile.RarCRCError("CRC check failed")
        if self._failed:
            raise rarfile.RarExecError("the RAR tool failed")
        return b""


def _write_whole(payload: Payload, out: BinaryIO) -> None:
    with payload.open() as fh:
        shutil.copyfileobj(fh, out)


# The smallest archive headers around one member's own header and data, so that the tool reads
# only that member (what rarfile does for the same reason).
_RAR4_HEAD = b"Rar!\x1a\x07\x00" + struct.pack("<HBHH", 0x90CF, 0x73, 0, 13) + bytes(6)
_RAR5_MAIN = b"\x03\x01\x00\x00"  # size 3, type 1 (main), no header flags, no archive flags
_RAR5_END = b"\x03\x05\x00\x00"  # size 3, type 5 (end of archive)
_PIECE = 1024 * 1024


def _rar5_block(body: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(body)) + body


def _write_lone_member(payload: Payload, info: rarfile.RarInfo, out: BinaryIO) -> None:
    if isinstance(info, rarfile.Rar3Info):
        out.write(_RAR4_HEAD)
    else:
        out.write(b"Rar!\x1a\x07\x01\x00" + _rar5_block(_RAR5_MAIN))
    left = info.header_size + info.compress_size
    with payload.open() as fh:
        fh.seek(info.header_offset)
        while left > 0:
            chunk = fh.read(min(left, _PIECE))
            if not chunk:
                break  # a truncated archive: the tool reports the member damaged
            out.write(chunk)
            left -= len(chunk)
    if not isinstance(info, rarfile.Rar3Info):
        out.write(_rar5_block(_RAR5_END))
