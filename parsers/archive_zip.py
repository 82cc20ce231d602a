"""Zip archives, read in-process with zipfile, one member at a time.

A member is kept only if it was read to its end and passed its CRC: those bytes are exactly what
the unit packed. A zip whose central directory is gone (a truncated download) yields nothing:
its member list is unknown.  A stored zip is read from its file, and large members go to the
run's sink as they are decompressed (a 100 MB video is never held whole: issue 13).
"""

from __future__ import annotations

import functools
import zipfile

from parsers.archive_names import is_junk, is_zip_dir, split_name, zip_is_link, zip_name
from parsers.archive_run import Entry, Run, Tally, read_capped_payload
from parsers.model import ArchiveDamage, ArchiveProblemKind
from parsers.payload import Payload, Sink

_ZIP_METHODS = {
    zipfile.ZIP_STORED,
    zipfile.ZIP_DEFLATED,
    zipfile.ZIP_BZIP2,
    zipfile.ZIP_LZMA,
}
_ZIP_METHOD_NAMES = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    93: "Zstandard",
    95: "XZ",
    98: "PPMd",
}


def expand_zip(run: Run, where: tuple[str, ...], payload: Payload, depth: int) -> None:
    with payload.open() as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except Exception as exc:
            if "span multiple disks" in str(exc):
                run.problem(where, ArchiveProblemKind.SPLIT)
            else:
                run.corrupt(where, ArchiveDamage.NO_DIRECTORY, str(exc))
            return
        with zf:
            _expand(run, where, zf, depth)


def _expand(run: Run, where: tuple[str, ...], zf: zipfile.ZipFile, depth: int) -> None:
    tally = Tally()
    entries: list[Entry] = []
    for info in zf.infolist():
        name = zip_name(info)
        if is_zip_dir(info, name):
            continue
        parts = split_name(name)
        if parts is None:
            run.problem(where, ArchiveProblemKind.UNSAFE_PATH, (name,))
            continue
        if not parts or is_junk(parts):
            continue
        shown = "/".join(parts)
        if zip_is_link(info):
            run.problem(where, ArchiveProblemKind.LINK, (shown,))
            continue
        tally.files += 1
        if info.flag_bits & 0x1:
            tally.encrypted.append(shown)
        elif info.compress_type not in _ZIP_METHODS:
            # An unnamed method goes by its number; the rule words it.
            method = _ZIP_METHOD_NAMES.get(info.compress_type, str(info.compress_type))
            tally.unsupported.append((method, shown))
        else:
            read = functools.partial(_read_member, zf, info, run.sink)
            entries.append(Entry(shown, parts, info.file_size, info.compress_size, read))
    if tally.files > run.members_left:
        run.count_problem(where)
        return
    run.read_entries(where, entries, tally, depth)
    run.flush(where, tally)


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, sink: Sink | None, cap: int
) -> Payload:
    with zf.open(info) as fh:
        return read_capped_payload(fh, cap, sink)
