"""Member names of archives: decoding them the way the packer meant, and refusing unsafe ones.

Chinese Windows packers store names in GBK without saying so; some tools add a UTF-8 copy in
an extra field. Names are decoded per member (one odd name must not spoil the others), and only
decoded text is ever split into folders.
"""

from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib

_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store"})


def split_name(name: str) -> tuple[str, ...] | None:
    """Folder parts of a decoded member name; None if it points outside the archive.

    Only ever called on decoded text: splitting GBK bytes on 0x5C would cut 誠 and 淺 in half.
    """
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return None
    parts = tuple(p for p in norm.split("/") if p not in ("", "."))
    # Windows drops trailing dots and spaces, so ".. " or "..." can act as ".." there.
    if any(p.strip(" .") == "" and p.count(".") >= 2 for p in parts):
        return None
    return parts


def is_junk(parts: tuple[str, ...]) -> bool:
    """macOS resource forks and Windows folder files: nobody packed them on purpose."""
    last = parts[-1]
    return "__MACOSX" in parts or last.startswith("._") or last.lower() in _JUNK_NAMES


def is_dir_name(name: str) -> bool:
    return name.endswith(("/", "\\"))


def decode_legacy(raw: bytes) -> str:
    """A name stored without any encoding flag: UTF-8 if it is valid UTF-8, else GB18030."""
    raw = raw.split(b"\x00", 1)[0]
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("gb18030", errors="replace")


def zip_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name as the packer meant it."""
    if info.flag_bits & 0x800:
        return info.orig_filename.split("\x00", 1)[0]
    try:
        # zipfile decoded the raw bytes as cp437, which maps all 256 bytes: this gets them back.
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        # A newer zipfile already took the name from the Unicode Path field: keep it as is.
        return info.orig_filename
    from_field = _unicode_path_field(info.extra, raw)
    if from_field is not None:
        return from_field
    return decode_legacy(raw)


def _unicode_path_field(extra: bytes, raw_name: bytes) -> str | None:
    """The Info-ZIP Unicode Path (0x7075) name, if present and written for this very raw name."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if tag != 0x7075 or len(body) < 5 or body[0] != 1:
            continue
        # A tool that renamed the member without updating the field leaves a stale CRC.
        if struct.unpack_from("<I", body, 1)[0] != zlib.crc32(raw_name):
            return None
        try:
            return body[5:].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def zip_is_link(info: zipfile.ZipInfo) -> bool:
    # Unix mode bits are only meaningful when the creator says Unix; DOS zips leave junk there.
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def is_zip_dir(info: zipfile.ZipInfo, name: str) -> bool:
    return is_dir_name(name) or (info.external_attr & 0x10 != 0 and info.file_size == 0)
