"""Content type by magic bytes, with the file name as a tie-breaker.

Mail clients label most attachments `application/octet-stream` (QQ and 163 webmail do it for
every zip and rar), and units rename files freely (a `.doc` that is really a `.docx`, a zip
called `.rar`).  What the bytes say wins; the name only decides between formats that share a
container (OOXML and plain zip, the OLE family).
"""

from __future__ import annotations

import mimetypes
import posixpath
from enum import StrEnum

OCTET_STREAM = "application/octet-stream"

# Declared types that say nothing precise about the content (webmail, Outlook plug-ins,
# Windows' own label for every zip); these are re-checked against the bytes.
GENERIC_TYPES = frozenset(
    {
        "",
        OCTET_STREAM,
        "application/x-octet-stream",
        "binary/octet-stream",
        "application/binary",
        "application/unknown",
        "application/x-unknown",
        "application/force-download",
        "application/x-download",
        "application/download",
        "application/x-zip-compressed",
        "application/x-compressed",
        "unknown/unknown",
    }
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

# Zip-based formats tell themselves apart only by their members; the name is the cheap hint.
_ZIP_BY_EXT = {
    ".docx": DOCX,
    ".docm": DOCX,
    ".dotx": DOCX,
    ".xlsx": XLSX,
    ".xlsm": XLSX,
    ".pptx": PPTX,
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".epub": "application/epub+zip",
    ".jar": "application/java-archive",
    ".apk": "application/vnd.android.package-archive",
}
_ZIP_BY_MEMBER = (
    (b"word/", DOCX),
    (b"xl/", XLSX),
    (b"ppt/", PPTX),
)

# Kingsoft WPS writes Word-format files under its own extensions (.wps, .et, .dps).
_OLE_BY_EXT = {
    ".doc": "application/msword",
    ".dot": "application/msword",
    ".wps": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".et": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".dps": "application/vnd.ms-powerpoint",
    ".msg": "application/vnd.ms-outlook",
}
OLE = "application/x-ole-storage"

PSD = "image/vnd.adobe.photoshop"
MATROSKA = "video/x-matroska"
MP4 = "video/mp4"

_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_MAGIC = (_ZIP_LOCAL, b"PK\x05\x06", b"PK\x07\x08")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_RTF_MAGIC = b"{\\rtf"

# The one magic table: a file's first bytes → its type.  Order does not matter (no prefix is
# another's prefix); containers that need a closer look (zip, OLE, ftyp, RIFF) come after.
_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"%PDF", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1a\x45\xdf\xa3", MATROSKA),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "video/x-ms-wmv"),
    (b"\x1f\x8b", "application/gzip"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"8BPS", PSD),
    (b"\x78\x9f\x3e\x22", "application/ms-tnef"),
    (_RTF_MAGIC, "application/rtf"),
    # Two letters are a weak sign (a text file may start "BM"): sniff_type wants the name too.
    (b"BM", "image/bmp"),
)

# ISO base media files (mp4, mov, HEIC, AVIF) name their kind in the `ftyp` box's brand; an
# unknown brand is some MP4 video.  iPhone HEIC above all is what units send instead of JPG.
_FTYP_BRANDS = {
    b"qt  ": "video/quicktime",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"hevc": "image/heic",
    b"hevx": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"M4A ": "audio/mp4",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3g2a": "video/3gpp2",
}
_RIFF_KINDS = {b"AVI ": "video/x-msvideo", b"WEBP": "image/webp", b"WAVE": "audio/wav"}

# What a photo's format is called (PhotoInfo.format) for the picture types we recognise.
_IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/heic": "HEIC",
    "image/heif": "HEIC",
    "image/avif": "AVIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
    "application/pdf": "PDF",
    PSD: "PSD",
}
# Any other ftyp file sent as a photo is a video (a Live Photo's .mov, a clip).
VIDEO_AS_PHOTO = "MP4/MOV"


class WordContainer(StrEnum):
    """The container of a would-be Word file."""

    OLE = "ole"  # Word 97–2003, WPS
    ZIP = "zip"  # .docx (also under a .doc name)
    RTF = "rtf"


# Preferred extension per type, for naming parts that arrived without a name.
_EXTENSIONS = {
    "application/zip": ".zip",
    "application/vnd.rar": ".rar",
    "application/x-7z-compressed": ".7z",
    "application/gzip": ".gz",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    DOCX: ".docx",
    XLSX: ".xlsx",
    PPTX: ".pptx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/ms-tnef": ".dat",
    "application/rtf": ".rtf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/x-msvideo": ".avi",
    "video/x-matroska": ".mkv",
    "video/x-ms-wmv": ".wmv",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
}


def _ext(name: str) -> str:
    return posixpath.splitext(name.replace("\\", "/"))[1].lower()


def _zip_type(data: bytes, ext: str) -> str:
    if ext in _ZIP_BY_EXT:
        return _ZIP_BY_EXT[ext]
    # Member names sit in the central directory at the end (and Word writes them early in the
    # local headers too); looking at both ends spares scanning a 100 MB archive.
    ends = bytes(data[:4096]) + bytes(data[-65536:])
    if b"[Content_Types].xml" in ends:
        for marker, mime in _ZIP_BY_MEMBER:
            if marker in ends:
                return mime
    return "application/zip"


def sniff_magic(data: bytes) -> str | None:
    """The content type the first bytes alone show, None when they show none we know.

    Zip and OLE files come back as their container (`application/zip`, OLE); `sniff_type`
    tells the formats inside apart by name and members.
    """
    head = bytes(data[:64])
    if head.startswith(_ZIP_MAGIC):
        return "application/zip"
    if head.startswith(_OLE_MAGIC):
        return OLE
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], MP4)
    if head.startswith(b"RIFF") and len(head) >= 12:
        return _RIFF_KINDS.get(head[8:12])
    return next((mime for magic, mime in _PREFIXES if head.startswith(magic)), None)


def sniff_type(data: bytes, name: str = "") -> str:
    """The content type the bytes show, else one guessed from `name`, else octet-stream."""
    ext = _ext(name)
    mime = sniff_magic(data)
    if mime == "application/zip":
        return _zip_type(data, ext)
    if mime == OLE:
        return _OLE_BY_EXT.get(ext, OLE)
    if mime == MATROSKA and ext == ".webm":
        return "video/webm"
    if mime is not None and (mime != "image/bmp" or ext == ".bmp"):
        return mime
    guessed, _ = mimetypes.guess_type("x" + ext) if ext else (None, None)
    return guessed or OCTET_STREAM


def image_format(data: bytes) -> str | None:
    """A photo's format name ("JPEG", "HEIC", `VIDEO_AS_PHOTO`, …) by magic; None if unknown."""
    mime = sniff_magic(data)
    if mime is None:
        return None
    if mime in _IMAGE_FORMATS:
        return _IMAGE_FORMATS[mime]
    if data[4:8] == b"ftyp":
        return VIDEO_AS_PHOTO
    return None


def word_container(data: bytes) -> WordContainer | None:
    """The container of a would-be Word file: OLE, ZIP, RTF, or None for anything else."""
    if data.startswith(_OLE_MAGIC):
        return WordContainer.OLE
    if data.startswith(_ZIP_LOCAL):
        return WordContainer.ZIP
    # Word writes RTF plain; some tools put a BOM or blank lines first.
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_RTF_MAGIC):
        return WordContainer.RTF
    return None


def extension_for(content_type: str) -> str:
    """A file extension (with dot) for a content type, `.bin` when unknown."""
    ctype = content_type.lower()
    if ctype in _EXTENSIONS:
        return _EXTENSIONS[ctype]
    guessed = mimetypes.guess_extension(ctype, strict=False)
    return guessed or ".bin"
