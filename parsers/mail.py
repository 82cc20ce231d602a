"""Raw RFC 5322 bytes into a `ParsedMail`, tolerant of what Chinese mail systems really send.

The bytes are parsed once with the stdlib (compat32 policy, which keeps raw header values and
8-bit bytes as surrogates), after large base64 bodies have been set aside to be decoded
straight from the input (`_Blobs`); mail-parser supplies its hardened address and date
readers.  The whole `MailParser` object is not used: it decodes every text part and re-encodes
every attachment to base64, which doubles the cost FIELD-NOTES measures as the largest one.

Nothing in here may raise on hostile or broken input: every header and part access is guarded
and what went wrong is written to `ParsedMail.defects`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email
import email.utils
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from html.parser import HTMLParser
from typing import Any

from mailparser.dates import parse_mail_date
from mailparser.utils import get_addresses

from parsers.charset import decode_bytes, normalize_charset
from parsers.model import Attachment, ParsedMail
from parsers.sniff import GENERIC_TYPES, OCTET_STREAM, extension_for, sniff_type

# A forward of a forward of … is real (units re-send earlier mail); the bound stops a crafted
# message from recursing for ever.
MAX_FORWARD_DEPTH = 5
# Multipart nesting inside one message: real mail stays under 10; crafted mail goes to thousands
# (the stdlib parser itself gives up with RecursionError near 1000, see _parse_bytes).
MAX_NESTING = 60
MAX_DEFECTS = 200
# Base64 bodies from this size on bypass the stdlib's line-by-line parse (see _Blobs).
BLOB_MIN = 64 * 1024

TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
FORWARD_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
# Machine-readable halves of bounces and receipts, and external-body pointers with no data:
# neither a body nor a file a person attached.
SKIPPED_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
        "message/global-headers",
        "message/external-body",
    }
)
BODY_TYPES = frozenset({"text/plain", "text/html"})

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ADDR_SPEC = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*", re.ASCII)
_MSGID = re.compile(r"<([^<>\s]+)>")
_BASE64_BODY = re.compile(rb"[A-Za-z0-9+/=\r\n]*")
_CTE_BASE64 = re.compile(rb"content-transfer-encoding[ \t]*:[ \t]*base64[ \t]*\r?", re.IGNORECASE)


# --------------------------------------------------------------------------- text helpers


def _clean(text: str) -> str:
    """Make text safe to store: no NULs (PostgreSQL rejects them), no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def decode_text(data: bytes, label: str | None) -> str:
    """Decode body or header bytes under a charset label that may be wrong or unknown."""
    try:
        return _clean(decode_bytes(data, label))
    except Exception:
        # `charset=undefined` names a real codec that raises a bare UnicodeError, which
        # decode_bytes does not expect; read the bytes as if no charset had been declared.
        pass
    try:
        return _clean(decode_bytes(data, None))
    except Exception:
        return _clean(data.decode("utf-8", errors="replace"))


def _recover_8bit(value: str, hint: str | None = None) -> str:
    """Raw 8-bit header bytes (kept as surrogates by compat32): utf-8, the hint, else gb18030.

    Chinese webmail and old Outlook put GBK straight into Subject and filename= without
    RFC 2047; both stdlib policies turn it into garbage.  `hint` is the charset the message
    declares for its body: a Western mailer that writes raw latin-1 headers declares latin-1.
    """
    if value.isascii() or not _SURROGATE.search(value):
        return value
    raw = value.encode("utf-8", errors="surrogateescape")
    for codec in dict.fromkeys(c for c in ("utf-8", hint, "gb18030") if c):
        try:
            return raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("utf-8", errors="replace")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ").strip()


def _decode_b(text: str) -> bytes | None:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


def _decode_q(text: str, header: bool = True) -> bytes | None:
    try:
        return binascii.a2b_qp(text.encode("utf-8", errors="surrogateescape"), header=header)
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str, hint: str | None = None) -> str:
    """Decode RFC 2047 encoded-words anywhere in `value`, merging adjacent words.

    Adjacent words in one charset are joined as bytes before decoding, because Chinese mail
    systems split a multi-byte character across two words (forbidden, but common): decoding
    word by word turns it into two replacement characters.  Words inside quoted strings are
    decoded too: QQ and Foxmail write `filename="=?gb18030?B?…?="`.  Raw 8-bit bytes inside
    a word are decoded with the word's charset; outside words, as `_recover_8bit` says.
    """
    if "=?" not in value:
        return _recover_8bit(value, hint)
    pieces: list[str | tuple[str, bytes]] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        payload = match.group(3)
        data = _decode_b(payload) if match.group(2) in "bB" else _decode_q(payload)
        if data is None:
            pieces.append(_recover_8bit(gap + match.group(0), hint))
            pos = match.end()
            continue
        previous = pieces[-1] if pieces else None
        if isinstance(previous, tuple) and not gap.strip():
            if previous[0] == charset:
                pieces[-1] = (charset, previous[1] + data)
            else:
                pieces.append((charset, data))
        else:
            if gap:
                pieces.append(_recover_8bit(gap, hint))
            pieces.append((charset, data))
        pos = match.end()
    pieces.append(_recover_8bit(value[pos:], hint))
    return "".join(p if isinstance(p, str) else decode_text(p[1], p[0]) for p in pieces)


def decode_header_value(value: Any, hint: str | None = None) -> str:
    """One raw header value (as compat32 keeps it) into readable text."""
    try:
        text = value if isinstance(value, str) else str(value)
        return _clean(decode_words(_unfold(text), hint))
    except Exception:
        return ""


class _TextFromHtml(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, for mail that has no text/plain part (QQ, 163 webmail)."""
    try:
        parser = _TextFromHtml()
        parser.feed(html)
        parser.close()
        text = "".join(parser.parts)
    except Exception:
        text = re.sub(r"<[^>]*>", " ", html)
    text = text.replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------- part helpers


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _param_text(value: Any) -> str:
    """A parameter value, RFC 2231 (charset, language, text) triples decoded."""
    if isinstance(value, tuple):
        charset, _language, text = (list(value) + ["", "", ""])[:3]
        text = str(text or "")
        try:
            raw = text.encode("latin-1", errors="surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", errors="surrogateescape")
        # Some senders put 8-bit UTF-8 behind filename*= with no charset at all.
        return decode_text(raw, str(charset) if charset else "utf-8")
    return str(value or "")


def _params(part: Message, header: str, hint: str | None) -> list[tuple[str, Any]]:
    """Parameters of a raw Content-Type/Disposition value with its 8-bit bytes recovered.

    `Message.get_params` reads a header holding raw 8-bit bytes through a Header object and
    turns every such byte into U+FFFD, losing GBK or UTF-8 file names (Yahoo, Outlook Express,
    Chinese webmail all send them unencoded).
    """
    raw = next((v for k, v in _raw_items(part) if str(k).strip().lower() == header), None)
    if raw is None:
        return []
    view = Message()
    try:
        view[header] = _recover_8bit(_unfold(str(raw)), hint)
        return [(str(k), v) for k, v in (view.get_params(header=header) or [])]
    except Exception:
        return []


def _param(params: list[tuple[str, Any]], name: str) -> str:
    """A decoded parameter, preferring the RFC 2231 `name*` form over the plain one."""
    plain = ""
    for key, value in params:
        if key.strip().lower() != name:
            continue
        if isinstance(value, tuple):
            decoded = _param_text(value)
            if decoded:
                return decoded
        elif not plain:
            plain = _param_text(email.utils.unquote(str(value)))
    return plain


def attachment_filename(part: Message, hint: str | None = None) -> str:
    """The part's file name: disposition filename (RFC 2231 first), then Content-Type name."""
    raw = _param(_params(part, "content-disposition", hint), "filename") or _param(
        _params(part, "content-type", hint), "name"
    )
    if not raw:
        return ""
    name = decode_header_value(raw, hint)
    # Old Outlook and IE upload forms send the whole client path (C:\Users\…\x.doc).  The name
    # is decoded text here, so a GBK trail byte 0x5C can no longer look like a separator.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip()
    return "" if name in {".", ".."} else name


def _cte(part: Message) -> str:
    try:
        return str(part.get("content-transfer-encoding", "") or "").strip().lower()
    except Exception:
        return ""


class _Blobs:
    """Large base64 bodies cut out of the raw bytes before the stdlib parses the rest.

    The stdlib parser keeps every body line as its own str before joining them, then
    `get_payload(decode=True)` copies the text to bytes once more: a 136 MB mail with one 100 MB
    zip peaked at 510 MB over the input and took 3.6 s.  Each base64 body of at least
    `BLOB_MIN` bytes is replaced by a one-line token and decoded later straight from the input
    (a memoryview, no copy).  Anything that reads a token back gets the exact original bytes,
    so a wrong guess about what is a body costs time, never correctness.
    """

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.spans: list[tuple[int, int]] = []
        self.nonce = secrets.token_hex(8)
        self._token_re = re.compile(f"INTAKE-BLOB-{self.nonce}-([0-9]+)")
        self._token_bytes_re = re.compile(f"INTAKE-BLOB-{self.nonce}-([0-9]+)".encode("ascii"))

    def token(self, index: int) -> bytes:
        return f"INTAKE-BLOB-{self.nonce}-{index}".encode("ascii")

    def skeleton(self) -> bytes:
        """The input with large base64 bodies replaced by tokens (the input itself if none)."""
        raw = self.raw
        if len(raw) < BLOB_MIN:
            return raw
        hits: set[int] = set()
        # Two plain scans (`bytes.find` runs at memory speed) cover base64, Base64 and BASE64.
        for needle in (b"ase64", b"ASE64"):
            start = 1
            while (found := raw.find(needle, start)) != -1:
                if raw[found - 1] in b"bB":
                    hits.add(found - 1)
                start = found + 1
        last_end = 0
        for hit in sorted(hits):
            if hit < last_end:
                continue
            span = self._body_after(hit)
            if span and span[1] - span[0] >= BLOB_MIN:
                self.spans.append(span)
                last_end = span[1]
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
        match = self._token_re.fullmatch(text.strip())
        if not match or int(match.group(1)) >= len(self.spans):
            return None
        start, end = self.spans[int(match.group(1))]
        # Only clean base64 takes the fast path; anything odd (flanker's enclosed-broken-body
        # has Cyrillic inside a base64 body) goes back through the stdlib's own lenient decoder.
        if not _BASE64_BODY.fullmatch(self.raw, start, end):
            return None
        try:
            return binascii.a2b_base64(memoryview(self.raw)[start:end])
        except (binascii.Error, ValueError):
            return None

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


def _payload_bytes(part: Message, blobs: _Blobs | None = None) -> bytes:
    encoded = getattr(part, "_payload", None)
    if blobs is not None and isinstance(encoded, str) and blobs.has(encoded):
        if _cte(part) == "base64":
            decoded = blobs.decode_base64(encoded)
            if decoded is not None:
                return decoded
        part.set_payload(blobs.restore(encoded))
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        payload = part.get_payload()
    except Exception:
        return b""
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return b""


def _release(part: Message) -> None:
    """Drop a leaf's encoded payload once decoded, so a 100 MB mail is not held twice."""
    with contextlib.suppress(Exception):
        part.set_payload("")


def _charset_label(part: Message) -> str | None:
    try:
        label = part.get_param("charset")
    except Exception:
        return None
    if isinstance(label, tuple):
        label = label[2]
    return str(label) if label else None


def _parse_bytes(raw: bytes, defects: list[str]) -> Message | None:
    try:
        return email.message_from_bytes(raw, policy=compat32)
    except RecursionError:
        defects.append("message nesting too deep to parse; headers only")
    except Exception as exc:
        defects.append(f"message could not be parsed ({type(exc).__name__}); headers only")
    try:
        return BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    except Exception as exc:
        defects.append(f"headers could not be parsed ({type(exc).__name__})")
        return None


# --------------------------------------------------------------------------- headers


def _raw_items(msg: Message) -> list[tuple[str, Any]]:
    try:
        return list(msg.raw_items())
    except Exception:
        return []


def _header_map(msg: Message, hint: str | None) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in _raw_items(msg):
        key = _clean(_recover_8bit(str(name))).strip().lower()
        if key:
            headers.setdefault(key, []).append(decode_header_value(value, hint))
    return headers


def charset_hint(msg: Message, limit: int = 50) -> str | None:
    """The first specific charset the message declares, for reading its raw 8-bit headers."""
    try:
        for index, part in enumerate(msg.walk()):
            if index >= limit:
                break
            label = _charset_label(part)
            if not label:
                continue
            name = normalize_charset(label)
            if name not in {"ascii", "utf-8"}:
                return name
    except Exception:
        pass
    return None


def _raw_values(msg: Message, name: str) -> list[str]:
    return [str(v) for k, v in _raw_items(msg) if str(k).strip().lower() == name]


def parse_addresses(raw: str, hint: str | None = None) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs from one raw address header value."""
    text = _unfold(_recover_8bit(raw, hint))
    if not text:
        return []
    pairs: list[tuple[str, str]] = []
    try:
        pairs = [(n, a) for n, a in get_addresses(text) if a]
    except Exception:
        pairs = []
    if not pairs:
        # mail-parser refuses bare local parts such as `MAILER-DAEMON` and unclosed brackets,
        # which bounces use; the stdlib reader is laxer.
        try:
            pairs = [(n, a) for n, a in email.utils.getaddresses([text]) if a]
        except Exception:
            pairs = []
    if not pairs:
        pairs = [("", m.group(0)) for m in _ADDR_SPEC.finditer(text)]
    return [
        (_clean(decode_words(n, hint)).strip().strip('"').strip(), _clean(a).strip("<> ").lower())
        for n, a in pairs
    ]


def _parse_date(raw: str | None, defects: list[str]) -> datetime | None:
    if not raw:
        return None
    text = _unfold(_recover_8bit(raw))
    try:
        value = parse_mail_date(text).value
    except Exception:
        value = None
    if value is None:
        try:
            value = email.utils.parsedate_to_datetime(text)
        except Exception:
            value = None
    if value is None:
        defects.append(f"unreadable Date header: {text[:80]!r}")
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _message_id(raw: str | None) -> str | None:
    if not raw:
        return None
    text = _clean(_unfold(_recover_8bit(raw)))
    match = _MSGID.search(text)
    value = match.group(1) if match else "".join(text.split()).strip("<>")
    return value or None


# --------------------------------------------------------------------------- the walk


class _Collector:
    """Bodies and files of one message level; attachments are shared with the outer levels."""

    def __init__(
        self,
        attachments: list[Attachment],
        defects: list[str],
        blobs: _Blobs,
        hint: str | None = None,
        forwards: int = 0,
    ) -> None:
        self.blobs = blobs
        self.attachments = attachments
        self.defects = defects
        self.hint = hint
        self.forwards = forwards
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.forwarded_texts: list[str] = []

    # -- bookkeeping

    def defect(self, text: str) -> None:
        if len(self.defects) < MAX_DEFECTS:
            self.defects.append(text)

    def add_file(self, name: str, declared: str, data: bytes, inline: bool = False) -> None:
        ctype = declared
        if declared in GENERIC_TYPES or "/" not in declared:
            sniffed = sniff_type(data, name)
            ctype = sniffed if sniffed != OCTET_STREAM else (declared or OCTET_STREAM)
        if not name:
            name = f"attachment-{len(self.attachments) + 1}{extension_for(ctype)}"
        self.attachments.append(
            Attachment(name=_clean(name), content_type=ctype, data=data, inline=inline)
        )

    def body_text(self) -> str:
        own = "\n".join(t for t in self.texts if t.strip())
        if not own.strip() and self.htmls:
            own = html_to_text("\n".join(self.htmls))
        return "\n\n".join(t for t in [own, *self.forwarded_texts] if t.strip())

    # -- walking

    def walk(self, part: Message, path: str, level: int = 0) -> None:
        try:
            for defect in part.defects:
                self.defect(f"part {path}: {type(defect).__name__}")
        except Exception:
            pass
        if level > MAX_NESTING:
            self.defect(f"part {path}: nesting deeper than {MAX_NESTING}, rest skipped")
            return
        ctype = _content_type(part)
        try:
            if ctype in FORWARD_TYPES:
                self.forwarded(part, path)
            elif ctype in SKIPPED_TYPES:
                return
            elif part.is_multipart():
                payload = part.get_payload()
                for index, sub in enumerate(payload if isinstance(payload, list) else [], 1):
                    if isinstance(sub, Message):
                        self.walk(sub, f"{path}.{index}", level + 1)
            else:
                self.leaf(part, ctype, path)
        except RecursionError:
            self.defect(f"part {path}: nesting too deep, rest skipped")
        except Exception as exc:
            self.defect(f"part {path}: {type(exc).__name__} while reading {ctype}")

    def leaf(self, part: Message, ctype: str, path: str) -> None:
        disposition = _disposition(part)
        name = attachment_filename(part, self.hint)
        if ctype.startswith("multipart/") and not name:
            # A multipart without a usable boundary stays one opaque leaf; its text is still
            # what the person wrote, so read it as the body rather than as a file.
            self.defect(f"part {path}: {ctype} without parts, read as text")
            ctype = "text/plain"
        if ctype in BODY_TYPES and not name and disposition != "attachment":
            text = decode_text(_payload_bytes(part, self.blobs), _charset_label(part))
            _release(part)
            (self.htmls if ctype == "text/html" else self.texts).append(text)
            return
        data = _payload_bytes(part, self.blobs)
        _release(part)
        if ctype in TNEF_TYPES or name.lower() == "winmail.dat":
            if self.tnef(data, path):
                return
            if not data.startswith(TNEF_SIGNATURE):
                # Labelled TNEF but something else (MimeKit's m4006 carries a PNG): say what
                # the bytes are.
                ctype = OCTET_STREAM
        embedded = (
            disposition != "attachment"
            and bool(part.get("Content-ID"))
            and ctype.startswith("image/")
        )
        self.add_file(name, ctype, data, inline=embedded)

    def forwarded(self, part: Message, path: str) -> None:
        """A message/rfc822 part: its files join ours and its text follows our body.

        Units forward the submission they got from a colleague (SPEC: "forwarded mails with
        the submission as an attached message"); contact details then sit in the inner body.
        """
        name = attachment_filename(part, self.hint)
        inner = _inner_message(part, self.blobs)
        if inner is None or self.forwards >= MAX_FORWARD_DEPTH:
            if self.forwards >= MAX_FORWARD_DEPTH:
                self.defect(
                    f"part {path}: forwarded messages nested deeper than {MAX_FORWARD_DEPTH}"
                )
            data = _flatten(inner if inner is not None else part, self.blobs)
            self.add_file(name or "", "message/rfc822", data)
            return
        hint = charset_hint(inner) or self.hint
        sub = _Collector(self.attachments, self.defects, self.blobs, hint, self.forwards + 1)
        sub.walk(inner, f"{path}.1")
        text = sub.body_text()
        self.htmls.extend(sub.htmls)
        header = _forward_banner(inner, hint)
        if text.strip() or header:
            self.forwarded_texts.append(f"{header}\n\n{text}".strip())

    def tnef(self, data: bytes, path: str) -> bool:
        """Replace Outlook's winmail.dat by what it wraps; False leaves it as a plain file."""
        if not data.startswith(TNEF_SIGNATURE):
            self.defect(f"part {path}: winmail.dat is not TNEF")
            return False
        try:
            from tnefparse import TNEF

            tnef = TNEF(data, do_checksum=False)
        except Exception as exc:
            self.defect(f"part {path}: TNEF unreadable ({type(exc).__name__})")
            return False
        found = False
        try:
            for name, payload in _tnef_files(tnef, 0):
                self.add_file(name, OCTET_STREAM, payload)
                found = True
            for text, html in _tnef_bodies(tnef, 0):
                if text.strip():
                    self.texts.append(text)
                    found = True
                if html.strip():
                    self.htmls.append(html)
                    found = True
        except Exception as exc:
            self.defect(f"part {path}: TNEF partly unreadable ({type(exc).__name__})")
        if not found:
            self.defect(f"part {path}: TNEF held no files or readable body")
        return found


def _tnef_text(value: Any, codepage: str | None) -> str:
    if isinstance(value, bytes):
        return decode_text(value.rstrip(b"\x00"), codepage)
    return _clean(str(value or "")).rstrip("\x00")


def _tnef_name(att: Any, codepage: str | None) -> str:
    try:
        name = att.long_filename()
    except Exception:
        # TNEFAttachment.name decodes the 8.3 title as UTF-8; a GBK title raises there.
        name = getattr(att, "_name", b"")
    name = _tnef_text(name, codepage).strip()
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _tnef_files(tnef: Any, depth: int) -> Iterator[tuple[str, bytes]]:
    codepage = getattr(tnef, "codepage", None)
    for att in getattr(tnef, "attachments", []):
        embedded = getattr(att, "embed", None)
        if embedded is not None:
            # An Outlook item attached inside the TNEF (a forwarded message or invitation).
            if depth < MAX_FORWARD_DEPTH:
                yield from _tnef_files(embedded, depth + 1)
            continue
        data = getattr(att, "data", b"")
        if isinstance(data, bytes) and data:
            yield _tnef_name(att, codepage), data


def _tnef_bodies(tnef: Any, depth: int) -> Iterator[tuple[str, str]]:
    codepage = getattr(tnef, "codepage", None)
    yield (
        _tnef_text(getattr(tnef, "body", None), codepage),
        _tnef_text(getattr(tnef, "htmlbody", None), codepage),
    )
    if depth < MAX_FORWARD_DEPTH:
        for att in getattr(tnef, "attachments", []):
            embedded = getattr(att, "embed", None)
            if embedded is not None:
                yield from _tnef_bodies(embedded, depth + 1)


def _flatten(part: Message, blobs: _Blobs) -> bytes:
    try:
        return blobs.restore_bytes(part.as_bytes())
    except Exception:
        return _payload_bytes(part, blobs)


def _inner_message(part: Message, blobs: _Blobs) -> Message | None:
    """The message inside a message/rfc822 part, also when it was (wrongly) base64-encoded."""
    try:
        payload = part.get_payload()
    except Exception:
        return None
    cte = _cte(part)
    if cte in {"base64", "quoted-printable"}:
        # The stdlib parses the encoded text itself as the inner message (Apple Mail and some
        # webmail base64 the attached .eml); decode it and parse the real one.
        encoded = ""
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            inner = payload[0]
            body = inner.get_payload()
            # Quoted-printable lines such as `From: x` were taken for headers; put them back.
            head = "".join(f"{k}: {v}\n" for k, v in inner.raw_items())
            encoded = (head + "\n" if head else "") + (body if isinstance(body, str) else "")
        elif isinstance(payload, str):
            encoded = payload
        data = blobs.decode_base64(encoded) if cte == "base64" else None
        if data is None:
            encoded = blobs.restore(encoded)
            data = _decode_b(encoded) if cte == "base64" else _decode_q(encoded, header=False)
        if not data:
            return None
        try:
            return email.message_from_bytes(data, policy=compat32)
        except Exception:
            return None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str) and payload.strip():
        try:
            return email.message_from_bytes(
                payload.encode("utf-8", errors="surrogateescape"), policy=compat32
            )
        except Exception:
            return None
    return None


def _forward_banner(inner: Message, hint: str | None) -> str:
    lines = []
    for label, name in (("From", "from"), ("Date", "date"), ("Subject", "subject"), ("To", "to")):
        values = _raw_values(inner, name)
        if values:
            lines.append(f"{label}: {decode_header_value(values[0], hint)}")
    if not lines:
        return ""
    return "---------- Forwarded message ----------\n" + "\n".join(lines)


# --------------------------------------------------------------------------- entry point


def parse_mail(raw: bytes) -> ParsedMail:
    """Everything the intake needs from one raw message; never raises on bad input."""
    defects: list[str] = []
    attachments: list[Attachment] = []
    try:
        data = bytes(raw) if not isinstance(raw, bytes) else raw
    except Exception:
        data = b""
        defects.append("input is not bytes")
    blobs = _Blobs(data)
    try:
        skeleton = blobs.skeleton()
    except Exception:
        blobs.spans.clear()
        skeleton = data
    msg = _parse_bytes(skeleton, defects)
    del skeleton
    if msg is None:
        return ParsedMail(None, "", "", [], "", None, {}, "text/plain", "", "", [], defects)

    hint = charset_hint(msg)
    headers = _header_map(msg, hint)

    senders: list[tuple[str, str]] = []
    for field_name in ("from", "sender"):
        for value in _raw_values(msg, field_name):
            senders.extend(parse_addresses(value, hint))
        if senders:
            break
    from_name, from_addr = senders[0] if senders else ("", "")
    if not senders:
        defects.append("no sender address")

    to: list[str] = []
    for value in _raw_values(msg, "to"):
        to.extend(a for _, a in parse_addresses(value, hint) if a not in to)

    subject_values = headers.get("subject", [])
    subject = " ".join(subject_values[0].split()) if subject_values else ""
    date_values = _raw_values(msg, "date")
    date = _parse_date(date_values[0] if date_values else None, defects)
    id_values = _raw_values(msg, "message-id")
    message_id = _message_id(id_values[0] if id_values else None)

    collector = _Collector(attachments, defects, blobs, hint)
    collector.walk(msg, "1")
    text = _clean(collector.body_text())
    html = _clean("\n".join(collector.htmls))

    return ParsedMail(
        message_id=message_id,
        from_addr=from_addr,
        from_name=from_name,
        to=to,
        subject=subject,
        date=date,
        headers=headers,
        content_type=_content_type(msg),
        text=text,
        html=html,
        attachments=attachments,
        defects=defects,
    )
