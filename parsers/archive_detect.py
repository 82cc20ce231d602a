"""Which archive format a file is, by its magic bytes and never by its name.

Units rename freely (a zip called `.rar`, a `.dat` that is a zip). Zip-based documents (docx/xlsx/
pptx, ODF, OFD) are documents, not archives: the form reader wants the file whole.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import BinaryIO, Literal

ArchiveFormat = Literal["zip", "rar", "7z"]

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # file, empty zip, spanned marker
_RAR_MAGICS = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")
_7Z_MAGIC = b"7z\xbc\xaf\x27\x1c"

# Archives we cannot open: reported as such rather than passed on as a file nobody can read.
_UNSUPPORTED: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x1f\x8b\x08", "gzip"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"MSCF\x00\x00\x00\x00", "cab"),
    (0, b"RE~^", "RAR 1.4"),
    (257, b"ustar", "tar"),
)

# Root members that make a zip a document: OOXML, ODF/EPUB, OFD (Chinese e-documents).
_DOCUMENT_MEMBERS = frozenset({"[Content_Types].xml", "mimetype", "OFD.xml"})


OFFICE_SUFFIXES = (
    ".docx",
    ".docm",
    ".dotx",
    ".xlsx",
    ".xlsm",
    ".pptx",
    ".odt",
    ".ods",
    ".wps",
    ".et",
)


def archive_format(
    data: bytes, whole: Callable[[], BinaryIO] | None = None
) -> ArchiveFormat | None:
    """The archive format by magic bytes: "zip", "rar", "7z", or None (zip-based documents too).

    `data` may be just the file's ends (`Payload.sample`); `whole` then opens the file itself,
    for the zip directory that tells a document from an archive."""
    head = bytes(data[:8])
    if head.startswith(_ZIP_MAGICS):
        return None if _is_document_zip(data, whole) else "zip"
    if head.startswith(_RAR_MAGICS):
        return "rar"
    if head.startswith(_7Z_MAGIC):
        return "7z"
    return None


def unsupported_format(data: bytes) -> str | None:
    """The name of an archive format we cannot open (gzip, tar, …), or None."""
    for offset, magic, label in _UNSUPPORTED:
        if data[offset : offset + len(magic)] == magic:
            return label
    if data[:3] == b"BZh" and data[4:10] == b"1AY&SY":
        return "bzip2"
    return None


def _is_document_zip(data: bytes, whole: Callable[[], BinaryIO] | None = None) -> bool:
    # Word and LibreOffice write the marker member first, which still works on a truncated file.
    if data[:4] == b"PK\x03\x04" and len(data) >= 30:
        name_len = int.from_bytes(data[26:28], "little")
        if data[30 : 30 + name_len] in (b"[Content_Types].xml", b"mimetype"):
            return True
    try:
        with whole() if whole is not None else io.BytesIO(data) as fh, zipfile.ZipFile(fh) as zf:
            return any(name in _DOCUMENT_MEMBERS for name in zf.namelist())
    except Exception:  # a zip too broken to list is left to `expand` to report
        return False
