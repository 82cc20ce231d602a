"""Word files to `.docx`: sort by container, pass a `.docx` through, refuse what is not Word,
and hand the rest (`.doc`, `.wps`, RTF) to LibreOffice: the warm one when the caller has one
(`programs.warm_converter`), else, or when it cannot start, one cold batch
(`programs.libreoffice`).

Anything that is not an OLE, zip or RTF container fails without reaching LibreOffice, because
LibreOffice would import it as plain text and "succeed".
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Sequence

from parsers.sniff import WordContainer, word_container
from programs.libreoffice import (
    DEFAULT_TIMEOUT,
    ConversionResult,
    ConverterUnavailable,
    Document,
    convert,
)
from programs.warm_converter import DocumentConverter, WarmUnavailable

log = logging.getLogger(__name__)

__all__ = ["ConversionResult", "ConverterUnavailable", "convert_to_docx"]


def convert_to_docx(
    items: Sequence[tuple[str, bytes]],
    timeout: float = DEFAULT_TIMEOUT,
    binary: str | None = None,
    warm: DocumentConverter | None = None,
) -> list[ConversionResult]:
    """Convert `(name, data)` pairs to `.docx` bytes; one result per item, in order.

    `name` is only echoed back and used in messages. Word 97–2003 and WPS files (OLE containers)
    and RTF are converted; a file that already is a zip (a `.docx` renamed `.doc`) is returned as
    it is; anything else fails (`file_fault=True`). See `programs.libreoffice.convert` for
    batches, timeouts and when `ConverterUnavailable` is raised (only when there is something to
    convert). With `warm`, the files go to that converter; should it be unavailable, to a
    cold batch as without it.
    """
    results: list[ConversionResult | None] = [None] * len(items)
    pending: list[int] = []
    documents: list[Document] = []
    for i, (name, data) in enumerate(items):
        kind = word_container(data)
        if kind is WordContainer.ZIP:
            results[i] = _passthrough(name, data)
        elif kind is None:
            results[i] = ConversionResult(name, error=_not_word_reason(data))
        else:
            pending.append(i)
            documents.append(Document(name, data, "rtf" if kind is WordContainer.RTF else "doc"))
    for i, result in zip(pending, _convert(documents, timeout, binary, warm), strict=True):
        results[i] = result
    return [
        r if r is not None else ConversionResult(items[i][0], error="not converted")
        for i, r in enumerate(results)
    ]


def _convert(
    documents: list[Document], timeout: float, binary: str | None, warm: DocumentConverter | None
) -> list[ConversionResult]:
    if warm is not None and documents:
        try:
            return warm.convert(documents)
        except WarmUnavailable as exc:
            log.warning("no warm converter (%s): converting with a cold LibreOffice", exc)
    return convert(documents, timeout, binary)


def _passthrough(name: str, data: bytes) -> ConversionResult:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            is_word = "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ConversionResult(name, error="damaged zip container (not a readable Word file)")
    if not is_word:
        return ConversionResult(name, error="a zip file that is not a Word document")
    return ConversionResult(name, docx=data)


def _not_word_reason(data: bytes) -> str:
    if not data:
        return "empty file"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        return "a PDF file, not a Word document"
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<meta")) or b"<html" in head:
        return "a web page (HTML/XML) saved under a Word name, not a Word document"
    if data.startswith((b"\xff\xd8\xff", b"\x89PNG")):
        return "an image, not a Word document"
    if data.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c")):
        return "an archive, not a Word document"
    return "not a Word document (unknown file type)"
