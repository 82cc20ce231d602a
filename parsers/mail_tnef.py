"""What comes wrapped inside a part: Outlook's TNEF (winmail.dat) and forwarded messages.

Owns unwrapping both: the files and bodies inside a TNEF blob, the message inside a
message/rfc822 part (also when it was wrongly base64-encoded), and the banner that introduces a
forwarded message's text.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import Message
from email.policy import compat32
from typing import Any

from parsers.mail_blobs import Blobs
from parsers.mail_headers import raw_values
from parsers.mail_parts import payload_bytes, transfer_encoding
from parsers.mail_text import clean_text, decode_b, decode_header_value, decode_q, decode_text

# A forward of a forward of … is real (units re-send earlier mail); the bound stops a crafted
# message from recursing for ever.
MAX_FORWARD_DEPTH = 5
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


def _tnef_text(value: Any, codepage: str | None) -> str:
    if isinstance(value, bytes):
        return decode_text(value.rstrip(b"\x00"), codepage)
    return clean_text(str(value or "")).rstrip("\x00")


def _tnef_name(att: Any, codepage: str | None) -> str:
    try:
        name = att.long_filename()
    except Exception:
        # TNEFAttachment.name decodes the 8.3 title as UTF-8; a GBK title raises there.
        name = getattr(att, "_name", b"")
    name = _tnef_text(name, codepage).strip()
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def tnef_files(tnef: Any, depth: int) -> Iterator[tuple[str, bytes]]:
    codepage = getattr(tnef, "codepage", None)
    for att in getattr(tnef, "attachments", []):
        embedded = getattr(att, "embed", None)
        if embedded is not None:
            # An Outlook item attached inside the TNEF (a forwarded message or invitation).
            if depth < MAX_FORWARD_DEPTH:
                yield from tnef_files(embedded, depth + 1)
            continue
        data = getattr(att, "data", b"")
        if isinstance(data, bytes) and data:
            yield _tnef_name(att, codepage), data


def tnef_bodies(tnef: Any, depth: int) -> Iterator[tuple[str, str]]:
    codepage = getattr(tnef, "codepage", None)
    yield (
        _tnef_text(getattr(tnef, "body", None), codepage),
        _tnef_text(getattr(tnef, "htmlbody", None), codepage),
    )
    if depth < MAX_FORWARD_DEPTH:
        for att in getattr(tnef, "attachments", []):
            embedded = getattr(att, "embed", None)
            if embedded is not None:
                yield from tnef_bodies(embedded, depth + 1)


def flatten(part: Message, blobs: Blobs) -> bytes:
    try:
        return blobs.restore_bytes(part.as_bytes())
    except Exception:
        return payload_bytes(part, blobs)


def inner_message(part: Message, blobs: Blobs) -> Message | None:
    """The message inside a message/rfc822 part, also when it was (wrongly) base64-encoded."""
    try:
        payload = part.get_payload()
    except Exception:
        return None
    cte = transfer_encoding(part)
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
            data = decode_b(encoded) if cte == "base64" else decode_q(encoded, header=False)
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


def forward_banner(inner: Message, hint: str | None) -> str:
    lines = []
    for label, name in (("From", "from"), ("Date", "date"), ("Subject", "subject"), ("To", "to")):
        values = raw_values(inner, name)
        if values:
            lines.append(f"{label}: {decode_header_value(values[0], hint)}")
    if not lines:
        return ""
    return "---------- Forwarded message ----------\n" + "\n".join(lines)
