"""Unpack zip, rar and 7z attachments into plain files, in memory and within safety limits.

What `expand` decides, and why:

- **Format by magic, never by name.** Units rename freely (a zip called `.rar`, a `.dat` that is
  a zip). Zip-based documents (docx/xlsx/pptx, ODF, OFD) are documents, not archives: the form
  reader wants the file whole.
- **Every problem is a line for staff, not an exception.** Nothing in here raises for a bad
  attachment; what could not be read becomes an `ArchiveProblem` named after the archive's path
  ("outer.zip/inner.7z"), with the member named in the reason. Problems of one kind in one
  archive (encrypted, corrupt, …) are merged into one line, so a 40-photo encrypted zip gives one
  line, not 40.
- **A corrupt archive keeps what was read intact.** A member is kept only if it was read to its
  end and passed its own CRC (zipfile, rarfile and py7zr all check per member). Those bytes are
  exactly what the unit packed, so dropping them would only add false "photo missing" findings on
  top of the ARCHIVE_UNREADABLE one. A zip whose central directory is gone (a truncated
  download) yields nothing: its member list is unknown.
- **Limits reject the member, not the message**, except the total size (once over, nothing more
  is unpacked for that message), the member count (an archive with more entries than the budget
  left is refused whole, before anything is decompressed) and a 7z whose overall ratio is a bomb
  (solid 7z blocks do not say which member is the bomb). Sizes in headers are checked first, and
  reads stop at the cap + 1 byte because headers can lie.
- **Links are skipped with a problem.** Nothing touches the filesystem, so a link is harmless,
  but its "content" is a path, not the file the unit meant to send. RAR5 hard links and file
  copies are read as the data they refer to (that is what they are; the size caps still apply).
- **RAR needs an external tool** (unrar, unar, 7z or bsdtar, first found wins). Stored
  (uncompressed) members are read without one. A missing tool is our fault, not the unit's:
  that problem's reason starts with `STAFF_TAG` (see `is_staff_problem`). The tool runs on
  temporary files in a private directory, removed afterwards, and is killed after
  `ArchiveLimits.tool_timeout_s`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import shutil
import stat
import struct
import subprocess
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Protocol

import py7zr
import py7zr.exceptions
import rarfile
from py7zr.io import Py7zIO, WriterFactory

from parsers.model import ArchiveProblem, Attachment, Expanded, ExtractedFile

KiB = 1024
MiB = 1024**2
GiB = 1024**3

# The ratio test only applies above this size: small files (an XML sidecar, a blank page scan)
# legitimately compress 500:1, and cannot hurt anyone.
RATIO_FLOOR = MiB

# Reasons starting with this are the service's own fault (e.g. a missing tool) and go to staff,
# not into the deficiency notice sent to the unit.
STAFF_TAG = "【需工作人员处理】"

_CHUNK = MiB


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 2 * GiB  # uncompressed, per message, nested archives included
    max_member_bytes: int = GiB
    max_ratio: float = 200.0  # uncompressed / compressed, for members over RATIO_FLOOR
    max_members: int = 5000  # files per message, nested archives included
    max_depth: int = 3  # archives inside archives: 3 means zip > zip > zip is still opened
    tool_timeout_s: float = 120.0  # per RAR member handed to an external tool


def is_staff_problem(problem: ArchiveProblem) -> bool:
    """True when the problem is the service's (e.g. no RAR tool), not the submitting unit's."""
    return problem.reason.startswith(STAFF_TAG)


# --------------------------------------------------------------------------------------------
# Detection

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


_OFFICE_SUFFIXES = (
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


def archive_format(data: bytes) -> str | None:
    """The archive format by magic bytes: "zip", "rar", "7z", or None (zip-based documents too)."""
    head = bytes(data[:8])
    if head.startswith(_ZIP_MAGICS):
        return None if _is_document_zip(data) else "zip"
    if head.startswith(_RAR_MAGICS):
        return "rar"
    if head.startswith(_7Z_MAGIC):
        return "7z"
    return None


def _unsupported_format(data: bytes) -> str | None:
    for offset, magic, label in _UNSUPPORTED:
        if data[offset : offset + len(magic)] == magic:
            return label
    if data[:3] == b"BZh" and data[4:10] == b"1AY&SY":
        return "bzip2"
    return None


def _is_document_zip(data: bytes) -> bool:
    # Word and LibreOffice write the marker member first, which still works on a truncated file.
    if data[:4] == b"PK\x03\x04" and len(data) >= 30:
        name_len = int.from_bytes(data[26:28], "little")
        if data[30 : 30 + name_len] in (b"[Content_Types].xml", b"mimetype"):
            return True
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(name in _DOCUMENT_MEMBERS for name in zf.namelist())
    except Exception:  # a zip too broken to list is left to `expand` to report
        return False


# --------------------------------------------------------------------------------------------
# Names


_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store"})


def _split(name: str) -> tuple[str, ...] | None:
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


def _is_junk(parts: tuple[str, ...]) -> bool:
    last = parts[-1]
    return "__MACOSX" in parts or last.startswith("._") or last.lower() in _JUNK_NAMES


def _is_dir_name(name: str) -> bool:
    return name.endswith(("/", "\\"))


def _decode_legacy(raw: bytes) -> str:
    """A name stored without any encoding flag: UTF-8 if it is valid UTF-8, else GB18030."""
    raw = raw.split(b"\x00", 1)[0]
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("gb18030", errors="replace")


def _zip_name(info: zipfile.ZipInfo) -> str:
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
    return _decode_legacy(raw)


def _rar_name(info: rarfile.RarInfo) -> str:
    raw = info.orig_filename
    legacy = isinstance(info, rarfile.Rar3Info) and not info.flags & rarfile.RAR_FILE_UNICODE
    if legacy and isinstance(raw, bytes):
        # rarfile tries UTF-16LE before the charset it is given, which turns any even-length
        # GBK name into CJK-looking nonsense.
        return _decode_legacy(raw)
    return str(info.filename)


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


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    # Unix mode bits are only meaningful when the creator says Unix; DOS zips leave junk there.
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _is_zip_dir(info: zipfile.ZipInfo, name: str) -> bool:
    return _is_dir_name(name) or (info.external_attr & 0x10 != 0 and info.file_size == 0)


# --------------------------------------------------------------------------------------------
# Bookkeeping


def _human(n: float) -> str:
    for unit, size in (("GB", GiB), ("MB", MiB), ("KB", KiB)):
        if n >= size:
            value = n / size
            return f"{value:g} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{int(n)} 字节"


def _some(names: list[str]) -> str:
    shown = "、".join(names[:3])
    return f"{shown} 等 {len(names)} 个文件" if len(names) > 3 else shown


def _first_and_count(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} 等 {len(names)} 个文件"


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def _read_capped(stream: _Readable, cap: int) -> bytes:
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


class _ToolMissing(Exception):
    pass


class _ToolTimeout(Exception):
    pass


@dataclass
class _Entry:
    """One regular file member, ready to be read."""

    name: str  # as shown to people: decoded, "/"-separated
    parts: tuple[str, ...]
    declared: int | None  # uncompressed size claimed by the header
    packed: int | None  # compressed size, when the format gives one per member
    read: Callable[[int], bytes]  # up to cap + 1 bytes; raises if the member is damaged


@dataclass
class _Tally:
    """Member problems of one archive, merged into one line per kind when the archive is done."""

    files: int = 0  # regular file members seen (to tell "all encrypted" from "some")
    encrypted: list[str] = field(default_factory=list)
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (what, member)
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (method, member)
    split: list[str] = field(default_factory=list)
    no_tool: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)


class _Run:
    """State of one `expand` call: the output and what is left of the per-message budgets."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.out = Expanded()
        self.bytes_left = limits.max_total_bytes
        self.members_left = limits.max_members
        self.total_hit = False

    def problem(self, where: tuple[str, ...], reason: str, encrypted: bool = False) -> None:
        self.out.problems.append(ArchiveProblem("/".join(where), reason, encrypted))

    def total_problem(self, where: tuple[str, ...]) -> None:
        self.total_hit = True
        limit = _human(self.limits.max_total_bytes)
        self.problem(where, f"压缩包超出安全限制：解压后总大小超过 {limit}")

    def count_problem(self, where: tuple[str, ...]) -> None:
        limit = self.limits.max_members
        self.problem(where, f"压缩包超出安全限制：文件数量超过 {limit} 个")

    def take(self, path: tuple[str, ...], data: bytes, depth: int) -> None:
        """A file at `path`: kept as is, or expanded if it is an archive."""
        kind = archive_format(data)
        if kind == "zip" and path[-1].lower().endswith(_OFFICE_SUFFIXES):
            # A damaged .docx/.xlsx is still the unit's form or list: grouping and the form
            # reader report it as unreadable, which tells the unit what to fix.
            kind = None
        if kind is None:
            label = _unsupported_format(data)
            if label is not None:
                self.problem(path, f"不支持的压缩格式（{label}）")
            else:
                self.out.files.append(ExtractedFile(path, data))
            return
        if depth >= self.limits.max_depth:
            self.problem(path, f"压缩包超出安全限制：嵌套层数超过 {self.limits.max_depth} 层")
            return
        if self.total_hit:
            self.total_problem(path)
            return
        readers: dict[str, Callable[[_Run, tuple[str, ...], bytes, int], None]] = {
            "zip": _expand_zip,
            "rar": _expand_rar,
            "7z": _expand_7z,
        }
        readers[kind](self, path, data, depth)

    def cap(self, entry: _Entry) -> tuple[int, str]:
        """The tightest limit on this member's size, and which one it is."""
        limits = self.limits
        caps = [(limits.max_member_bytes, "member"), (self.bytes_left, "total")]
        if entry.packed is not None:
            caps.append((max(RATIO_FLOOR, int(limits.max_ratio * entry.packed)), "ratio"))
        return min(caps)

    def over(self, where: tuple[str, ...], name: str, which: str) -> None:
        limits = self.limits
        if which == "total":
            self.total_problem(where)
        elif which == "member":
            limit = _human(limits.max_member_bytes)
            self.problem(where, f"压缩包超出安全限制：单个文件超过 {limit}（{name}）")
        else:
            self.problem(
                where,
                f"压缩包超出安全限制：压缩比异常（{name} 超过 {limits.max_ratio:g} 倍），"
                "疑似压缩炸弹",
            )

    def read_entries(
        self, where: tuple[str, ...], entries: list[_Entry], tally: _Tally, depth: int
    ) -> None:
        for entry in entries:
            if self.total_hit:
                return
            cap, which = self.cap(entry)
            if entry.declared is not None and entry.declared > cap:
                self.over(where, entry.name, which)
                continue
            try:
                data = entry.read(cap)
            except _ToolMissing:
                tally.no_tool.append(entry.name)
                continue
            except _ToolTimeout:
                tally.timed_out.append(entry.name)
                continue
            except Exception as exc:  # whatever the library raises, it is this member's damage
                _note_failure(exc, [entry.name], tally)
                continue
            if len(data) > cap:
                self.over(where, entry.name, which)
                continue
            self.bytes_left -= len(data)
            self.members_left -= 1
            self.take(where + entry.parts, data, depth + 1)

    def flush(self, where: tuple[str, ...], tally: _Tally) -> None:
        if tally.encrypted:
            if len(tally.encrypted) >= tally.files:
                self.problem(where, "压缩包已加密，无法读取", encrypted=True)
            else:
                names = _some(tally.encrypted)
                self.problem(where, f"压缩包中有文件已加密，无法读取：{names}", encrypted=True)
        if tally.corrupt:
            what = tally.corrupt[0][0]
            names = _first_and_count([name for _, name in tally.corrupt])
            self.problem(where, f"压缩包已损坏（{what}：{names}）")
        if tally.unsupported:
            method = tally.unsupported[0][0]
            names = _first_and_count([name for _, name in tally.unsupported])
            self.problem(where, f"不支持的压缩方式（{method}：{names}）")
        if tally.split:
            names = _first_and_count(tally.split)
            self.problem(where, f"分卷压缩包不完整，缺少其他分卷（{names}）")
        if tally.timed_out:
            seconds = f"{self.limits.tool_timeout_s:g}"
            names = _first_and_count(tally.timed_out)
            self.problem(where, f"压缩包解压超时（超过 {seconds} 秒：{names}）")
        if tally.no_tool:
            names = _first_and_count(tally.no_tool)
            self.problem(
                where,
                f"{STAFF_TAG}服务器缺少 RAR 解压工具（unrar、unar、7z 或 bsdtar），"
                f"未能解压：{names}",
            )


def _failure(exc: Exception) -> tuple[str, str]:
    """(kind, detail) of a library's complaint about one member; kind names a `_Tally` list."""
    text = str(exc)
    if isinstance(exc, py7zr.exceptions.UnsupportedCompressionMethodError):
        return "unsupported", str(exc.message)
    if isinstance(exc, NotImplementedError):
        return "unsupported", text or type(exc).__name__
    if isinstance(exc, rarfile.NeedFirstVolume):
        return "split", ""
    if isinstance(exc, rarfile.PasswordRequired | rarfile.RarWrongPassword):
        return "encrypted", ""
    if isinstance(exc, py7zr.exceptions.CrcError | rarfile.RarCRCError) or "CRC" in text:
        return "corrupt", "CRC 校验失败"
    if isinstance(exc, EOFError) or any(m in text for m in ("enough data", "EOF", "read failed")):
        return "corrupt", "数据不完整，文件可能被截断"
    if "Bad magic number" in text:
        return "corrupt", "文件头损坏"
    if "Overlapped entries" in text:
        return "corrupt", "文件条目重叠，疑似压缩炸弹"
    return "corrupt", f"数据无法解压：{type(exc).__name__}"


def _note_failure(exc: Exception, names: list[str], tally: _Tally) -> None:
    kind, detail = _failure(exc)
    for name in names:
        if kind == "unsupported":
            tally.unsupported.append((detail, name))
        elif kind == "split":
            tally.split.append(name)
        elif kind == "encrypted":
            tally.encrypted.append(name)
        else:
            tally.corrupt.append((detail, name))


# --------------------------------------------------------------------------------------------
# Zip

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


def _expand_zip(run: _Run, where: tuple[str, ...], data: bytes, depth: int) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        if "span multiple disks" in str(exc):
            run.problem(where, "分卷压缩包不完整，缺少其他分卷")
        else:
            run.problem(where, f"压缩包已损坏（无法读取文件目录：{exc}）")
        return
    with zf:
        tally = _Tally()
        entries: list[_Entry] = []
        for info in zf.infolist():
            name = _zip_name(info)
            if _is_zip_dir(info, name):
                continue
            parts = _split(name)
            if parts is None:
                run.problem(where, f"路径越界：{name}")
                continue
            if not parts or _is_junk(parts):
                continue
            shown = "/".join(parts)
            if _zip_is_link(info):
                run.problem(where, f"已跳过链接文件（不是普通文件）：{shown}")
                continue
            tally.files += 1
            if info.flag_bits & 0x1:
                tally.encrypted.append(shown)
            elif info.compress_type not in _ZIP_METHODS:
                method = _ZIP_METHOD_NAMES.get(info.compress_type, f"方法 {info.compress_type}")
                tally.unsupported.append((method, shown))
            else:
                read = functools.partial(_read_zip_member, zf, info)
                entries.append(_Entry(shown, parts, info.file_size, info.compress_size, read))
        if tally.files > run.members_left:
            run.count_problem(where)
            return
        run.read_entries(where, entries, tally, depth)
        run.flush(where, tally)


def _read_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    with zf.open(info) as fh:
        return _read_capped(fh, cap)


# --------------------------------------------------------------------------------------------
# RAR

# rarfile's own order of preference; (executable, rarfile's path setting, rarfile's config).
_RAR_BACKENDS = (
    ("unrar", "UNRAR_TOOL", "UNRAR_CONFIG"),
    ("unar", "UNAR_TOOL", "UNAR_CONFIG"),
    ("7z", "SEVENZIP_TOOL", "SEVENZIP_CONFIG"),
    ("bsdtar", "BSDTAR_TOOL", "BSDTAR_CONFIG"),
)
# rarfile keeps its temp directory in a module global. A private directory per archive also keeps
# unar away from other temp files: it takes numbered siblings (a4.rar next to a5.rar) for volumes.
_RAR_LOCK = threading.RLock()


@functools.cache
def _rar_backend() -> str | None:
    """Point rarfile at the first installed tool, by absolute path; None if there is none."""
    for exe, tool_attr, config_attr in _RAR_BACKENDS:
        found = shutil.which(exe)
        config = getattr(rarfile, config_attr, None)
        if found and config is not None:
            setattr(rarfile, tool_attr, found)
            # Set directly: rarfile.tool_setup() probes each tool with a subprocess that has
            # no timeout.
            rarfile.CURRENT_SETUP = rarfile.ToolSetup(config)
            return exe
    return None


@contextlib.contextmanager
def _rar_tempdir() -> Iterator[None]:
    with _RAR_LOCK, tempfile.TemporaryDirectory(prefix="intake-rar-") as tmp:
        previous = rarfile.HACK_TMP_DIR
        rarfile.HACK_TMP_DIR = tmp
        try:
            yield
        finally:
            rarfile.HACK_TMP_DIR = previous


def _expand_rar(run: _Run, where: tuple[str, ...], data: bytes, depth: int) -> None:
    try:
        # Names without RAR's Unicode flag are in the packer's ANSI code page: GBK here.
        rf = rarfile.RarFile(io.BytesIO(data), charset="gb18030")
        infos = rf.infolist()
    except rarfile.NeedFirstVolume:
        run.problem(where, "分卷压缩包不完整，缺少其他分卷")
        return
    except Exception as exc:
        run.problem(where, f"压缩包已损坏（{exc}）")
        return
    if not infos and rf.needs_password():  # encrypted headers: not even the names are readable
        run.problem(where, "压缩包已加密，无法读取", encrypted=True)
        return
    tool = _rar_backend()
    timeout = run.limits.tool_timeout_s
    tally = _Tally()
    entries: list[_Entry] = []
    for info in infos:
        if info.is_dir():
            continue
        name = _rar_name(info)
        parts = _split(name)
        if parts is None:
            run.problem(where, f"路径越界：{name}")
            continue
        if not parts or _is_junk(parts):
            continue
        shown = "/".join(parts)
        if info.is_symlink():
            run.problem(where, f"已跳过链接文件（不是普通文件）：{shown}")
            continue
        if not info.is_file():
            continue
        tally.files += 1
        if info.needs_password():
            tally.encrypted.append(shown)
        elif info.flags & (rarfile.RAR_FILE_SPLIT_BEFORE | rarfile.RAR_FILE_SPLIT_AFTER):
            tally.split.append(shown)
        elif info.compress_type != rarfile.RAR_M0 and tool is None:
            tally.no_tool.append(shown)
        else:
            read = functools.partial(_read_rar_member, rf, info, timeout)
            entries.append(_Entry(shown, parts, info.file_size, info.compress_size, read))
    if tally.files > run.members_left:
        run.count_problem(where)
        return
    with _rar_tempdir():
        run.read_entries(where, entries, tally, depth)
    error = rf.strerror()
    # rarfile stops at a broken header and lists what came before it; a member already reported
    # damaged says the same thing more usefully.
    if error and not tally.corrupt:
        run.problem(where, f"压缩包已损坏（{error}）")
    run.flush(where, tally)


def _kill(proc: subprocess.Popen[bytes], expired: threading.Event) -> None:
    expired.set()
    with contextlib.suppress(OSError):
        proc.kill()


def _read_rar_member(rf: rarfile.RarFile, info: rarfile.RarInfo, timeout: float, cap: int) -> bytes:
    expired = threading.Event()
    timer: threading.Timer | None = None
    try:
        with rf.open(info) as fh:
            # rarfile pipes from the tool with no timeout of its own: kill it from outside, and
            # the short read that follows ends the member.
            proc = getattr(fh, "_proc", None)
            if proc is not None:
                timer = threading.Timer(timeout, _kill, (proc, expired))
                timer.daemon = True
                timer.start()
            return _read_capped(fh, cap)
    except rarfile.RarCannotExec as exc:
        raise _ToolMissing from exc
    except Exception as exc:
        if expired.is_set():
            raise _ToolTimeout from exc
        raise
    finally:
        if timer is not None:
            timer.cancel()


# --------------------------------------------------------------------------------------------
# 7z


class _Overflow(Exception):
    pass


class _MemWriter(Py7zIO):
    def __init__(self, name: str, cap: int) -> None:
        self.name = name
        self.cap = cap
        self.buffer = io.BytesIO()
        self.complete = False

    def write(self, s: bytes | bytearray) -> int:
        # py7zr stops at the declared size, which was checked; this is the backstop.
        if self.buffer.tell() + len(s) > self.cap:
            raise _Overflow(self.name)
        return self.buffer.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        pass

    def size(self) -> int:
        with self.buffer.getbuffer() as view:
            return view.nbytes

    def close(self) -> None:
        # py7zr calls this only after the member was written whole and its CRC matched.
        self.complete = True


class _MemFactory(WriterFactory):
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.products: list[_MemWriter] = []

    def create(self, filename: str) -> Py7zIO:
        writer = _MemWriter(filename, self.cap)
        self.products.append(writer)
        return writer


def _expand_7z(run: _Run, where: tuple[str, ...], data: bytes, depth: int) -> None:
    limits = run.limits
    try:
        sz = py7zr.SevenZipFile(io.BytesIO(data), mode="r", max_extract_size=run.bytes_left)
    except py7zr.exceptions.PasswordRequired:  # encrypted headers
        run.problem(where, "压缩包已加密，无法读取", encrypted=True)
        return
    except Exception as exc:
        run.problem(where, f"压缩包已损坏（{exc}）")
        return
    with sz:
        if sz.needs_password():
            run.problem(where, "压缩包已加密，无法读取", encrypted=True)
            return
        try:
            infos = sz.list()
        except Exception as exc:
            run.problem(where, f"压缩包已损坏（{exc}）")
            return
        tally = _Tally()
        candidates: list[tuple[py7zr.FileInfo, tuple[str, ...]]] = []
        for info in infos:
            if info.is_directory:
                continue
            parts = _split(info.filename)
            if parts is None:
                run.problem(where, f"路径越界：{info.filename}")
                continue
            if not parts or _is_junk(parts):
                continue
            if info.is_symlink:
                run.problem(where, f"已跳过链接文件（不是普通文件）：{'/'.join(parts)}")
                continue
            if info.is_file:
                candidates.append((info, parts))
        tally.files = len(candidates)
        if tally.files > run.members_left:
            run.count_problem(where)
            return
        # Solid blocks have no per-member compressed size, so the ratio is judged on the whole.
        declared = sum(info.uncompressed for info, _ in candidates)
        if declared > RATIO_FLOOR and declared > limits.max_ratio * len(data):
            run.problem(
                where, f"压缩包超出安全限制：压缩比超过 {limits.max_ratio:g} 倍，疑似压缩炸弹"
            )
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
            _extract_7z(run, where, sz, targets, order, tally, depth)
        if over_total and not run.total_hit:
            run.total_problem(where)
        run.flush(where, tally)


def _extract_7z(
    run: _Run,
    where: tuple[str, ...],
    sz: py7zr.SevenZipFile,
    targets: list[str],
    order: dict[str, int],
    tally: _Tally,
    depth: int,
) -> None:
    factory = _MemFactory(run.limits.max_member_bytes)
    failure: Exception | None = None
    # py7zr checks each name against a real directory, resolving symlinks: an empty private one
    # keeps that check from depending on whatever sits in the working directory. Nothing is
    # written there, the factory keeps the data in memory.
    with tempfile.TemporaryDirectory(prefix="intake-7z-") as root:
        try:
            sz.extract(path=root, targets=targets, factory=factory)
        except Exception as exc:  # member damage ends a 7z read; what completed is kept
            failure = exc
        done: list[tuple[tuple[str, ...], bytes]] = []
        for writer in factory.products:
            relative = PurePosixPath(writer.name).relative_to(root).as_posix()
            parts = _split(relative)
            if writer.complete and parts:
                done.append((parts, writer.buffer.getvalue()))
            if isinstance(failure, _Overflow) and writer.name == failure.args[0]:
                run.over(where, relative, "member")
            writer.buffer.close()  # halves the peak: the bytes now live in `done`
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
        _note_failure(failure, unread or [type(failure).__name__], tally)
    for parts, blob in done:
        if run.total_hit:
            return
        if len(blob) > run.bytes_left:
            run.total_problem(where)
            return
        run.bytes_left -= len(blob)
        run.members_left -= 1
        run.take(where + parts, blob, depth + 1)


# --------------------------------------------------------------------------------------------


def expand(attachments: Iterable[Attachment], limits: ArchiveLimits = ArchiveLimits()) -> Expanded:
    """Every file of the message, archives unpacked (recursively); problems instead of errors."""
    run = _Run(limits)
    for attachment in attachments:
        run.take((attachment.name or "未命名附件",), attachment.data, 0)
    return run.out
