"""Unpack zip, rar and 7z attachments into plain files, within safety limits.

What `expand` decides, and why:

- **Format by magic, never by name** (`parsers.archive_detect`).
- **Every problem is a typed `ArchiveProblem`, not an exception.** Nothing in here raises for a
  bad attachment; what could not be read becomes a problem named after the archive's path
  ("outer.zip/inner.7z"), with the members it concerns. Problems of one kind in one archive
  (encrypted, corrupt, …) are merged into one, so a 40-photo encrypted zip gives one line, not
  40. The rules `ARCHIVE_UNREADABLE` and `ARCHIVE_TOOL_UNAVAILABLE` word them for people.
- **A corrupt archive keeps what was read intact.** A member is kept only if it was read to its
  end and passed its own CRC (zipfile, rarfile, py7zr and the RAR reader all check per member).
  Those bytes are exactly what the unit packed, so dropping them would only add false "photo
  missing" findings on top of the ARCHIVE_UNREADABLE one.
- **Limits reject the member, not the message**, with the exceptions `parsers.archive_run` lists.
- **Links are skipped with a problem.** Nothing touches the filesystem, so a link is harmless,
  but its "content" is a path, not the file the unit meant to send.
- **Large files go to the sink as they are read.** Given one (the service's blob store), a
  stored zip or 7z is opened on its file and large zip members are streamed into the sink
  (`parsers.payload`); without one, everything stays in memory. RAR archives and 7z members
  are still read whole.
- **RAR needs an external tool** for compressed members: parsers run no program, so `expand`
  takes a `RarReader` (the service passes `programs.unar.read_member`). Without one, compressed
  RAR members give a TOOL_MISSING problem, which is staff's, not the unit's.

The work is split by seam: names (`archive_names`), detection (`archive_detect`), budgets and
the tally (`archive_run`), one module per format (`archive_zip`, `archive_7z`, `archive_rar`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from parsers.archive_7z import expand_7z
from parsers.archive_detect import ArchiveFormat, archive_format
from parsers.archive_rar import RarFailure, RarOutput, RarReader, expand_rar
from parsers.archive_run import ArchiveLimits, ArchiveReader, Run
from parsers.archive_zip import expand_zip
from parsers.model import Attachment, Expanded
from parsers.payload import Sink

__all__ = [
    "ArchiveLimits",
    "RarFailure",
    "RarOutput",
    "RarReader",
    "archive_format",
    "expand",
]

DEFAULT_LIMITS = ArchiveLimits()


def expand(
    attachments: Iterable[Attachment],
    limits: ArchiveLimits = DEFAULT_LIMITS,
    *,
    rar: RarReader | None = None,
    sink: Sink | None = None,
) -> Expanded:
    """Every file of the message, archives unpacked (recursively); problems instead of errors.

    `rar` decompresses RAR members (see `RarReader`); without it only stored members are read.
    `sink` takes large members as they are read (see `parsers.payload`).
    """
    readers: dict[ArchiveFormat, ArchiveReader] = {
        "zip": expand_zip,
        "rar": functools.partial(expand_rar, reader=rar),
        "7z": expand_7z,
    }
    run = Run(limits, readers, sink)
    for attachment in attachments:
        run.take((attachment.name or "未命名附件",), attachment.payload, 0)
    return run.out
