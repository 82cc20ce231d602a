"""Opening a recommendation form's `.docx` package safely, or saying why it cannot be opened.

Owns `FormUnreadable` and `open_body`: size limits against a hostile package (python-docx loads
every part into memory), the macro-enabled and template variants Word writes that python-docx
refuses only for their content type, and the document's body and styles parts.
"""

from __future__ import annotations

import io
import zipfile

from docx import Document
from lxml import etree

# Limits for a hostile package: python-docx loads every part into memory.
_MAX_PART_BYTES = 64 * 1024 * 1024
_MAX_TOTAL_BYTES = 256 * 1024 * 1024

_DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
# Word variants python-docx refuses only because of their content type; the body is the same.
_WORD_MAIN_VARIANTS = (
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
)


class FormUnreadable(Exception):
    """The bytes are not a Word document python-docx can open."""


def open_body(data: bytes) -> tuple[etree._Element, etree._Element | None]:
    """The document's `w:body` and its `w:styles` (None if it has none)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if any(i.file_size > _MAX_PART_BYTES for i in infos) or (
                sum(i.file_size for i in infos) > _MAX_TOTAL_BYTES
            ):
                raise FormUnreadable("the Word file is too large to read safely")
            types = z.read("[Content_Types].xml") if "[Content_Types].xml" in z.namelist() else b""
    except zipfile.BadZipFile as exc:
        raise FormUnreadable("not a .docx file (no zip container)") from exc
    except (OSError, ValueError, zipfile.LargeZipFile) as exc:
        raise FormUnreadable(f"damaged .docx container: {exc}") from exc
    if any(t.encode() in types for t in _WORD_MAIN_VARIANTS):
        data = _as_plain_docx(data)
    try:
        document = Document(io.BytesIO(data))
        body = document.element.body
    except Exception as exc:  # python-docx raises many kinds on a malformed package
        raise FormUnreadable(f"not a readable Word document: {exc}") from exc
    if body is None:
        raise FormUnreadable("the Word document has no body")
    try:
        styles = document.part._styles_part.element if document.part._styles_part else None
    except Exception:  # a damaged styles part only costs us style-defined symbol fonts
        styles = None
    return body, styles


def _as_plain_docx(data: bytes) -> bytes:
    """The same package with a .docm/.dotx/.dotm main part declared as a plain document."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "[Content_Types].xml":
                for t in _WORD_MAIN_VARIANTS:
                    content = content.replace(t.encode(), _DOCX_MAIN.encode())
            dst.writestr(info, content)
    return out.getvalue()
