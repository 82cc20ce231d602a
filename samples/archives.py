"""Archives made by code, written the way the tools units use write them.

- `make_zip`: Python's zip writer, bent to write GBK names without the UTF-8 flag (Chinese
  Windows), UTF-8 names without the flag (old macOS/Java tools), the Info-ZIP Unicode Path field
  (WinRAR, Windows 10), backslash separators, the encryption flag and Unix symlink entries.
- `make_7z`: py7zr.
- `make_rar5` / `make_rar4`: stored (uncompressed) RARs written byte by byte from the RAR
  technotes; nothing here can compress RAR, and stored members are what rarfile reads without
  a tool. `RAR4_IMAGES` / `RAR5_SOLID_IMAGES` are real compressed RARs for the tool path.
"""

from __future__ import annotations

import base64
import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterable

import py7zr

_DATE = (2023, 5, 8, 9, 30, 0)


class _RawNameInfo(zipfile.ZipInfo):
    """A ZipInfo that writes exactly the name bytes and flag bits it is told to."""

    raw_name: bytes | None = None
    utf8_flag: bool | None = None
    extra_flags: int = 0

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        # zipfile resets flag_bits before writing, so added bits are ORed back in here.
        flags = self.flag_bits | self.extra_flags
        if self.raw_name is not None:
            return self.raw_name, flags & ~0x800
        if self.utf8_flag is None:
            name, flags = super()._encodeFilenameFlags()  # type: ignore[misc]
            return name, flags | self.extra_flags
        if self.utf8_flag:
            return self.filename.encode("utf-8"), flags | 0x800
        return self.filename.encode("utf-8"), flags & ~0x800


def _oem_name(name: str) -> bytes:
    """The name in code page 936 as WinRAR writes it: characters it lacks become "?".

    Explicit because `parsers` makes "gbk" an alias of GB18030, which can encode everything.
    """
    out = bytearray()
    for char in name:
        encoded = char.encode("gb18030")
        out += encoded if len(encoded) <= 2 else b"?"
    return bytes(out)


def unicode_path_extra(name: str, raw_name: bytes, crc: int | None = None) -> bytes:
    """The Info-ZIP Unicode Path extra field (0x7075) for `name`, tied to `raw_name` by CRC."""
    body = struct.pack("<BI", 1, zlib.crc32(raw_name) if crc is None else crc)
    body += name.encode("utf-8")
    return struct.pack("<HH", 0x7075, len(body)) + body


def make_zip(
    entries: dict[str, bytes],
    *,
    gbk_names: bool = False,
    utf8_flag: bool | None = None,
    unicode_path_field: bool = False,
    stale_unicode_path: bool = False,
    backslashes: bool = False,
    compression: int = zipfile.ZIP_DEFLATED,
    encrypted: Iterable[str] = (),
    symlinks: dict[str, str] | None = None,
    directories: Iterable[str] = (),
) -> bytes:
    """A zip holding `entries` (name → bytes), names written as the options say.

    gbk_names: GBK bytes, UTF-8 flag clear (Chinese Windows "Send to compressed folder").
    utf8_flag: None lets Python decide; True forces the flag; False writes UTF-8 bytes without it.
    unicode_path_field: raw name in GBK with characters outside it as "?" plus a 0x7075 field
        holding the real name (WinRAR); stale_unicode_path gives that field a wrong CRC, as after
        a rename by a tool that ignores the field.
    backslashes: "\\" as the folder separator (some Windows tools).
    encrypted: names whose entries carry the encryption flag (the data itself stays plain).
    symlinks: name → target, written as Unix symlink entries (macOS Archive Utility).
    directories: explicit directory entries ("照片/").
    """
    flagged = set(encrypted)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for dirname in directories:
            info = _RawNameInfo(dirname, date_time=_DATE)
            info.external_attr = 0x10 | (stat.S_IFDIR | 0o755) << 16
            zf.writestr(info, b"")
        for name, data in entries.items():
            stored_name = name.replace("/", "\\") if backslashes else name
            info = _RawNameInfo(stored_name, date_time=_DATE)
            info.compress_type = compression
            info.utf8_flag = utf8_flag
            if gbk_names:
                info.raw_name = stored_name.encode("gbk")
            if unicode_path_field or stale_unicode_path:
                raw = _oem_name(stored_name)
                info.raw_name = raw
                crc = (zlib.crc32(raw) ^ 0xFFFFFFFF) if stale_unicode_path else None
                info.extra = unicode_path_extra(stored_name, raw, crc)
            if name in flagged:
                info.extra_flags = 0x1
            zf.writestr(info, data)
        for name, target in (symlinks or {}).items():
            info = _RawNameInfo(name, date_time=_DATE)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target.encode("utf-8"))
    return buf.getvalue()


def make_7z(
    entries: dict[str, bytes], *, password: str | None = None, header_encryption: bool = False
) -> bytes:
    """A 7z made by py7zr. Names are written unchecked, so "../x" makes a hostile archive."""
    buf = io.BytesIO()
    with py7zr.SevenZipFile(
        buf, "w", password=password, header_encryption=header_encryption
    ) as archive:
        for name, data in entries.items():
            archive._writestr(data, name)  # the public writestr refuses "../" names
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# RAR 5 (https://www.rarlab.com/technote.htm), stored members only


def _vint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _rar5_block(
    htype: int, body: bytes, *, extra: bytes = b"", data: bytes | None = None, flags: int = 0
) -> bytes:
    if extra:
        flags |= 0x0001
    if data is not None:
        flags |= 0x0002
    inner = _vint(htype) + _vint(flags)
    if extra:
        inner += _vint(len(extra))
    if data is not None:
        inner += _vint(len(data))
    inner += body + extra
    header = _vint(len(inner)) + inner
    return struct.pack("<I", zlib.crc32(header)) + header + (data or b"")


def _rar5_record(rtype: int, body: bytes) -> bytes:
    record = _vint(rtype) + body
    return _vint(len(record)) + record


RAR5_SIGNATURE = b"Rar!\x1a\x07\x01\x00"


def make_rar5(
    entries: dict[str, bytes],
    *,
    encrypted: Iterable[str] = (),
    header_encrypted: bool = False,
    symlinks: dict[str, str] | None = None,
    method: int = 0,
) -> bytes:
    """A RAR 5 archive with stored members (RAR 5 names are always UTF-8).

    encrypted: members marked AES-encrypted (their data is random, as it would look).
    header_encrypted: an archive encryption header first, so not even names are readable.
    symlinks: name → target, as Unix symlink redirection records.
    method: the compression method the headers name (0: stored). The data is still written as
        given: only a stand-in for the RAR tool, which ignores it, can read such a member.
    """
    out = bytearray(RAR5_SIGNATURE)
    if header_encrypted:
        body = _vint(0) + _vint(0) + bytes([15]) + bytes(range(16))
        out += _rar5_block(4, body)
        out += bytes(range(32))  # encrypted headers follow; unreadable without the password
        return bytes(out)
    out += _rar5_block(1, _vint(0))
    flagged = set(encrypted)
    for name, data in entries.items():
        extra = b""
        if name in flagged:
            enc = _vint(0) + _vint(0) + bytes([15]) + bytes(16) + bytes(16)
            extra = _rar5_record(0x01, enc)
            data = bytes((i * 37 + 11) % 256 for i in range(max(16, -(-len(data) // 16) * 16)))
        raw = name.encode("utf-8")
        body = _vint(0x0004) + _vint(len(data)) + _vint(0x20)
        body += struct.pack("<I", zlib.crc32(data)) + _vint(method << 7) + _vint(0)
        body += _vint(len(raw)) + raw
        out += _rar5_block(2, body, extra=extra, data=data)
    for name, target in (symlinks or {}).items():
        raw = name.encode("utf-8")
        tgt = target.encode("utf-8")
        redir = _rar5_record(0x05, _vint(1) + _vint(0) + _vint(len(tgt)) + tgt)
        body = _vint(0) + _vint(0) + _vint(0o120777) + _vint(0) + _vint(1) + _vint(len(raw)) + raw
        out += _rar5_block(2, body, extra=redir, data=b"")
    out += _rar5_block(5, _vint(0))
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# RAR 4 (RAR 2.9 format, technote.txt of RAR 3.x), stored members only


def _rar4_block(htype: int, flags: int, fields: bytes, data: bytes = b"") -> bytes:
    size = 7 + len(fields)
    head = struct.pack("<BHH", htype, flags, size) + fields
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head + data


def make_rar4(entries: dict[str, bytes], *, gbk_names: bool = True) -> bytes:
    """A RAR 4 archive with stored members and "\\" separators, as WinRAR on Windows writes.

    gbk_names: names in GBK without RAR's Unicode flag (WinRAR on Chinese Windows, old
    versions); otherwise UTF-8 with the Unicode flag.
    """
    out = bytearray(b"Rar!\x1a\x07\x00")
    out += _rar4_block(0x73, 0, struct.pack("<HI", 0, 0))
    for name, data in entries.items():
        win_name = name.replace("/", "\\")
        raw = win_name.encode("gbk") if gbk_names else win_name.encode("utf-8")
        flags = 0x8000 | (0 if gbk_names else 0x0200)
        fields = struct.pack(
            "<IIBIIBBHI",
            len(data),  # packed size
            len(data),  # unpacked size
            2,  # host OS: Win32
            zlib.crc32(data),
            0x56A84AC0,  # DOS date/time
            29,  # version needed: 2.9
            0x30,  # method: store
            len(raw),
            0x20,  # attributes: archive
        )
        out += _rar4_block(0x74, flags, fields + raw, data)
    out += _rar4_block(0x7B, 0x4000, b"")
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Real compressed RARs: https://github.com/ssokolow/rar-test-files (CC0), both holding
# testfile.jpg (220 bytes) and testfile.png (87 bytes). RAR4 is non-solid, RAR5 is solid.

RAR4_IMAGES = base64.b64decode(
    "UmFyIRoHAM+QcwAADQAAAAAAAAAMJXQggCwAtgAAANwAAAAAbLFw2gAAISodNQwAIAAAAHRlc3RmaWxlLmpw"
    "Z+cYFf7V/ydkeNQh1MKmm6OAexVPlvVHrzqPE5mVHC08ghs85LfafCcldrlGYJPnjkgNzK9t4fZEpePKwmfe"
    "q9nqNRVssG8auWw3ppmChio3P4QobbIIu+aDvAnlNhtw7eU/yPyMBuPEssZjwTehsh4DZgC5HXWGFUVxgDrn"
    "+6KnVDXP/2B26ds102b/eZa5elob/BycnuXvN92AXobBxHJ4Ebq+7rCITbK7Lz6UAAC/iGf2qf/UUW50IIAs"
    "AFQAAABXAAAAAGKssK8AACEqHTUMACAAAAB0ZXN0ZmlsZS5wbmenGIjF+7VC0fPe1feyyXAlT4G/SVtSdAyd"
    "7pMHsE3FAkIqbrYBRgyQp7m1pxzv+HOHpfwCaeA8jA41QCxmUCvsyGsqR5gONgQCwAAAAL+IZ/ap/9TEPXsA"
    "QAcA"
)
RAR5_SOLID_IMAGES = base64.b64decode(
    "UmFyIRoHAQAgtvoRCgEFBgQFAQGAgABGxEvRIgIC7AEG3AG2gwLQDlA6bLFw2oAdAQx0ZXN0ZmlsZS5qcGfE"
    "d+knZURDL1cESsmZlt5eZkl3MRgQQeEoIogjHMi4iQxSamImCiDodCCCpNi6ngLqQdS7HgaCC8AQkBkf4GbX"
    "U7HUlgpKq9U4xd3X8X6vV6q5NXxRVUVRXjx99r/cXXeXgBOrXlrg00AD4nL9g0gboM4x7f/OGc/s5jOmeOhA"
    "s88iClAh+i+MsKoaNJKVJEKnFTTEU6V+APnCgPRW1Cp5BjsXcKchclIjOiTFpCWOPHE4w3y/USMoaAZVup59"
    "/47829uo/75xuLM6r21duXLv12+PPaNn+mzuZfHV4bW90jvgcDrkc2upUX2u+NMc19ciAgK+AAbXALaDAtAO"
    "UDpirLCvwB0BDHRlc3RmaWxlLnBuZ0UkO+iaxpwoqoJahl1I9hipjHbJ8m/+5BQNNrWZCita+y/1/BSwSx6N"
    "nla3Z53KxfQbzcHIy4CWSxH3Vp+YHXdWUQMFBAA="
)
# sha256 of the two members, as extracted by unar (each archive also carries their CRCs).
RAR_IMAGES_SHA256 = {
    "testfile.jpg": "e514232511df1a4f4221a75c27523518c3c62a2fe6470fa56e430364428eecd1",
    "testfile.png": "fdda20984cc1591419ec4583e24e72e4dba39d0b96608253f853a2dfb238ad1a",
}
