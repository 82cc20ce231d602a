"""Large base64 bodies cut out of the raw message before the stdlib parses the rest.

Owns the byte-level shortcut that keeps a 100 MB attachment from being held three times over
(see `Blobs`); the parts walk reads payloads back through it.  Given a sink, a large body is
decoded chunk by chunk into it, so its decoded bytes are never one Python object either.
"""

from __future__ import annotations

import binascii
import re
import secrets

from parsers.payload import Payload, Sink, Spool

_BASE64_BODY = re.compile(rb"[A-Za-z0-9+/=\r\n]*")
_CTE_BASE64 = re.compile(rb"content-transfer-encoding[ \t]*:[ \t]*base64[ \t]*\r?", re.IGNORECASE)
# Encoded bytes per step of a chunked decode: 4 MiB of text, 3 MiB out.
_DECODE_STEP = 4 * 1024 * 1024


class Blobs:
    """Large base64 bodies cut out of the raw bytes before the stdlib parses the rest.

    The stdlib parser keeps every body line as its own str before joining them, then
    `get_payload(decode=True)` copies the text to bytes once more: a 136 MB mail with one 100 MB
    zip peaked at 510 MB over the input and took 3.6 s.  Each base64 body of at least
    `min_size` bytes (`parsers.mail.BLOB_MIN`) is replaced by a one-line token and decoded later straight from the input
    (a memoryview, no copy).  Anything that reads a token back gets the exact original bytes,
    so a wrong guess about what is a body costs time, never correctness.
    """

    def __init__(self, raw: bytes, min_size: int) -> None:
        self.raw = raw
        self.min_size = min_size
        self.spans: list[tuple[int, int]] = []
        self.nonce = secrets.token_hex(8)
        self._token_re = re.compile(f"INTAKE-BLOB-{self.nonce}-([0-9]+)")
        self._token_bytes_re = re.compile(f"INTAKE-BLOB-{self.nonce}-([0-9]+)".encode("ascii"))

    def token(self, index: int) -> bytes:
        return f"INTAKE-BLOB-{self.nonce}-{index}".encode("ascii")

    def skeleton(self) -> bytes:
        """The input with large base64 bodies replaced by tokens (the input itself if none)."""
        raw = self.raw
        if len(raw) < self.min_size:
            return raw
        # Plain scans (`bytes.find`) for base64, Base64 and BASE64, in order, each resumed after
        # the body it found: a 100 MB body is scanned for its end only, not for "ase64" twice
        # over (0.3 s of a 144 MB message's 3.4 s ingest).
        upcoming = {needle: raw.find(needle, 1) for needle in (b"ase64", b"ASE64")}
        pos = 1
        while True:
            for needle, at in upcoming.items():
                if 0 <= at < pos:
                    upcoming[needle] = raw.find(needle, pos)
            found = min((at for at in upcoming.values() if at >= 0), default=-1)
            if found == -1:
                break
            pos = found + 1
            if raw[found - 1] not in b"bB":
                continue
            span = self._body_after(found - 1)
            if span and span[1] - span[0] >= self.min_size:
                self.spans.append(span)
                pos = max(pos, span[1] + 1)
        if not self.spans:
            return raw
        pieces: list[bytes] = []
        previous = 0
        for index, (start, end) in enumerate(self.spans):
            pieces.append(raw[previous:start])
            pieces.append(self.token(index))
            previous = end
        pieces.append(raw[previous:])
        return b"".join(pieces)

    def _body_after(self, hit: int) -> tuple[int, int] | None:
        raw = self.raw
        line_start = raw.rfind(b"\n", 0, hit) + 1
        line_end = raw.find(b"\n", hit)
        if line_end == -1 or not _CTE_BASE64.fullmatch(raw, line_start, line_end):
            return None
        # The blank line closing the part's header block is near; never scan the body for it.
        window = line_end + 16384
        blanks = [
            i
            for i in (raw.find(b"\n\r\n", line_end, window), raw.find(b"\n\n", line_end, window))
            if i >= 0
        ]
        if not blanks:
            return None
        blank = min(blanks)
        start = blank + (3 if raw.startswith(b"\n\r\n", blank) else 2)
        end = raw.find(b"\n--", start)
        if end == -1:
            end = len(raw)
        elif end > start and raw[end - 1] == 0x0D:
            end -= 1
        return (start, end) if end > start else None

    def has(self, text: str) -> bool:
        return bool(self.spans) and self.nonce in text

    def decode_base64(self, text: str) -> bytes | None:
        """The decoded body if `text` is exactly one token of clean base64, else None."""
        payload = self.payload(text, None)
        return payload.read() if payload is not None else None

    def payload(self, text: str, sink: Sink | None) -> Payload | None:
        """The decoded body if `text` is exactly one token of clean base64, else None; into
        `sink` in chunks when it is large (see `parsers.payload.Spool`), else in memory."""
        match = self._token_re.fullmatch(text.strip())
        if not match or int(match.group(1)) >= len(self.spans):
            return None
        start, end = self.spans[int(match.group(1))]
        # Only clean base64 takes the fast path; anything odd (flanker's enclosed-broken-body
        # has Cyrillic inside a base64 body) goes back through the stdlib's own lenient decoder.
        if not _BASE64_BODY.fullmatch(self.raw, start, end):
            return None
        try:
            if sink is None or self._inner_padding(start, end):
                return Payload.of(binascii.a2b_base64(memoryview(self.raw)[start:end]))
            return self._decode_chunked(start, end, sink)
        except (binascii.Error, ValueError):
            return None

    def _inner_padding(self, start: int, end: int) -> bool:
        """Whether `=` shows up before the body's end (two bodies run together): one call
        decodes that the lenient stdlib way, which chunks cut at quartets might not match."""
        found = self.raw.find(b"=", start, end)
        return found != -1 and bool(self.raw[found:end].strip(b"=\r\n"))

    def _decode_chunked(self, start: int, end: int, sink: Sink) -> Payload:
        """The same bytes as one `a2b_base64` over the span, decoded a step at a time: line
        breaks dropped, whole quartets decoded, the rest carried into the next step.  The
        `Spool` keeps what stays small in memory."""
        view = memoryview(self.raw)
        spool = Spool(sink)
        carry = b""
        try:
            for pos in range(start, end, _DECODE_STEP):
                stop = min(pos + _DECODE_STEP, end)
                text = carry + bytes(view[pos:stop]).translate(None, b"\r\n")
                usable = len(text) if stop == end else len(text) - len(text) % 4
                spool.write(binascii.a2b_base64(text[:usable]))
                carry = text[usable:]
            return spool.finish()
        except BaseException:
            spool.abort()
            raise

    def _span_text(self, match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(self.spans):
            return match.group(0)
        start, end = self.spans[index]
        return self.raw[start:end].decode("ascii", errors="surrogateescape")

    def restore(self, text: str) -> str:
        """`text` with every token replaced by the original bytes (as compat32 keeps them)."""
        return self._token_re.sub(self._span_text, text) if self.has(text) else text

    def restore_bytes(self, data: bytes) -> bytes:
        if not self.spans or self.nonce.encode("ascii") not in data:
            return data

        def original(match: re.Match[bytes]) -> bytes:
            index = int(match.group(1))
            if index >= len(self.spans):
                return match.group(0)
            start, end = self.spans[index]
            return self.raw[start:end]

        return self._token_bytes_re.sub(original, data)
