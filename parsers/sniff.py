"""Content type by magic bytes, with the file name as a tie-breaker.

Mail clients label most attachments `application/octet-stream` (QQ and 163 webmail do it for
every zip and rar), and units rename files freely (a `.doc` that is really a `.docx`, a zip
called `.rar`).  What the bytes say wins; the name only decides between formats that share a
container (OOXML and plain zip, the OLE family).
"""

from __future__ import annotations

import mimetypes
import posixpath

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

_FTYP_BRANDS = {
    b"qt  ": "video/quicktime",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"M4A ": "audio/mp4",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3g2a": "video/3gpp2",
}

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


def sniff_type(data: bytes, name: str = "") -> str:
    """The content type the bytes show, else one guessed from `name`, else octet-stream."""
    head = bytes(data[:64])
    ext = _ext(name)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return _zip_type(data, ext)
    if head.startswith(b"Rar!\x1a\x07"):
        return "application/vnd.rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "application/x-7z-compressed"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _OLE_BY_EXT.get(ext, OLE)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if head.startswith(b"RIFF") and len(head) >= 12:
        kind = head[8:12]
        if kind == b"AVI ":
            return "video/x-msvideo"
        if kind == b"WEBP":
            return "image/webp"
        if kind == b"WAVE":
            return "audio/wav"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if ext == ".webm" else "video/x-matroska"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video/x-ms-wmv"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"BM") and ext == ".bmp":
        return "image/bmp"
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return "application/ms-tnef"
    if head.startswith(b"{\\rtf"):
        return "application/rtf"
    guessed, _ = mimetypes.guess_type("x" + ext) if ext else (None, None)
    return guessed or OCTET_STREAM


def extension_for(content_type: str) -> str:
    """A file extension (with dot) for a content type, `.bin` when unknown."""
    ctype = content_type.lower()
    if ctype in _EXTENSIONS:
        return _EXTENSIONS[ctype]
    guessed = mimetypes.guess_extension(ctype, strict=False)
    return guessed or ".bin"
