"""RAR archives: headers, names and stored members read in-process; compressed members through
an injected `RarReader` (parsers run no program; `programs.unar` is the one the service uses).

rarfile parses RAR4 and RAR5 headers itself and reads stored (uncompressed) members without any
tool; this module never asks it for a compressed member, which would make it start one. Each
compressed member goes to the reader as a small RAR holding only that member, or, for solid
archives (where a member needs those before it), as the whole archive and the member's name.
No reader (or no tool behind it) is our fault, not the unit's: `ArchiveProblemKind.TOOL_MISSING`.
RAR5 hard links and file copies are read as the data they refer to (that is what they are; the
size caps still apply). Stored members stream into the run's sink; the archive itself is read
whole, and a compressed member comes back whole from the tool (`programs.unar` captures it).
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from typing import Literal, Protocol

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
    """What the tool wrote for one member, or why it wrote nothing usable."""

    @property
    def data(self) -> bytes: ...  # at most max_bytes + 1 bytes

    @property
    def failure(self) -> RarFailure | None: ...


class RarReader(Protocol):
    """Decompress one member: `archive` holds only it (member None), or is the whole archive."""

    def __call__(
        self, archive: bytes, *, member: str | None, timeout: float, max_bytes: int
    ) -> RarOutput: ...


def expand_rar(
    run: Run, where: tuple[str, ...], payload: Payload, depth: int, *, reader: RarReader | None
) -> None:
    # Read whole: the RAR tool is handed the archive's (or one member's) bytes.
    data = payload.read()
    try:
        # Names without RAR's Unicode flag are in the packer's ANSI code page: GBK here.
        rf = rarfile.RarFile(io.BytesIO(data), charset="gb18030")
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
            read = functools.partial(_read_member, rf, source, data, reader, timeout, run.sink)
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
    data: bytes,
    reader: RarReader | None,
    timeout: float,
    sink: Sink | None,
    cap: int,
) -> bytes | Payload:
    if _stored(info):
        with rf.open(info) as fh:  # stored data: read in-process, rarfile checks the CRC
            return read_capped_payload(fh, cap, sink)
    if reader is None:
        raise ToolMissing
    if _solid(rf, info):
        out = reader(data, member=info.filename, timeout=timeout, max_bytes=cap)
    else:
        out = reader(_lone_member(data, info), member=None, timeout=timeout, max_bytes=cap)
    if out.failure == "tool_missing":
        raise ToolMissing
    if out.failure == "timed_out":
        raise ToolTimeout
    got = out.data
    if len(got) > cap:
        return got  # the caller reports the limit
    if len(got) < info.file_size:
        raise rarfile.BadRarFile("Failed the read enough data")
    if info.CRC is not None and zlib.crc32(got) != info.CRC:
        raise rarfile.RarCRCError("CRC check failed")
    if out.failure is not None:
        raise rarfile.RarExecError("the RAR tool failed")
    return got


# The smallest archive headers around one member's own header and data, so that the tool reads
# only that member (what rarfile does for the same reason).
_RAR4_HEAD = b"Rar!\x1a\x07\x00" + struct.pack("<HBHH", 0x90CF, 0x73, 0, 13) + bytes(6)
_RAR5_MAIN = b"\x03\x01\x00\x00"  # size 3, type 1 (main), no header flags, no archive flags
_RAR5_END = b"\x03\x05\x00\x00"  # size 3, type 5 (end of archive)


def _rar5_block(body: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(body)) + body


def _lone_member(data: bytes, info: rarfile.RarInfo) -> bytes:
    start = info.header_offset
    piece = data[start : start + info.header_size + info.compress_size]
    if isinstance(info, rarfile.Rar3Info):
        return _RAR4_HEAD + piece
    return b"Rar!\x1a\x07\x01\x00" + _rar5_block(_RAR5_MAIN) + piece + _rar5_block(_RAR5_END)
