"""One MIME part at a time: its type, disposition, file name and decoded payload.

Owns the guarded accessors over stdlib `Message` objects (every one may meet broken input and
must not raise) and the compat32 parse itself.
"""

from __future__ import annotations

import contextlib
import email
import email.utils
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from typing import Any

from parsers.mail_blobs import Blobs
from parsers.mail_text import decode_header_value, decode_text, recover_8bit, unfold
from parsers.payload import Payload, Sink


def content_type_of(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def disposition_of(part: Message) -> str:
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
    raw = next((v for k, v in raw_items(part) if str(k).strip().lower() == header), None)
    if raw is None:
        return []
    view = Message()
    try:
        view[header] = recover_8bit(unfold(str(raw)), hint)
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


def transfer_encoding(part: Message) -> str:
    try:
        return str(part.get("content-transfer-encoding", "") or "").strip().lower()
    except Exception:
        return ""


def payload_bytes(part: Message, blobs: Blobs | None = None) -> bytes:
    return part_payload(part, blobs).read()


def part_payload(part: Message, blobs: Blobs | None = None, sink: Sink | None = None) -> Payload:
    """The part's decoded bytes; a large base64 body goes into `sink` as it is decoded."""
    encoded = getattr(part, "_payload", None)
    if blobs is not None and isinstance(encoded, str) and blobs.has(encoded):
        if transfer_encoding(part) == "base64":
            decoded = blobs.payload(encoded, sink)
            if decoded is not None:
                return decoded
        part.set_payload(blobs.restore(encoded))
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return Payload.of(data)
    try:
        payload = part.get_payload()
    except Exception:
        return Payload.of(b"")
    if isinstance(payload, str):
        return Payload.of(payload.encode("utf-8", errors="surrogateescape"))
    return Payload.of(b"")


def release_payload(part: Message) -> None:
    """Drop a leaf's encoded payload once decoded, so a 100 MB mail is not held twice."""
    with contextlib.suppress(Exception):
        part.set_payload("")


def charset_label(part: Message) -> str | None:
    try:
        label = part.get_param("charset")
    except Exception:
        return None
    if isinstance(label, tuple):
        label = label[2]
    return str(label) if label else None


def parse_bytes(raw: bytes, defects: list[str]) -> Message | None:
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


def raw_items(msg: Message) -> list[tuple[str, Any]]:
    try:
        return list(msg.raw_items())
    except Exception:
        return []
