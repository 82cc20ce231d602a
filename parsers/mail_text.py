"""Header and body text decoding for mail as Chinese mail systems really write it.

Owns RFC 2047 encoded-words (merged across words, because Chinese systems split characters
between them), raw 8-bit header bytes (GBK without any encoding), and decoding bytes under a
charset label that may be wrong.  Everything returns text safe to store (`clean_text`).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from parsers.charset import decode_bytes

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Make text safe to store: no NULs (PostgreSQL rejects them), no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def decode_text(data: bytes, label: str | None) -> str:
    """Decode body or header bytes under a charset label that may be wrong or unknown."""
    try:
        return clean_text(decode_bytes(data, label))
    except Exception:
        # `charset=undefined` names a real codec that raises a bare UnicodeError, which
        # decode_bytes does not expect; read the bytes as if no charset had been declared.
        pass
    try:
        return clean_text(decode_bytes(data, None))
    except Exception:
        return clean_text(data.decode("utf-8", errors="replace"))


def recover_8bit(value: str, hint: str | None = None) -> str:
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


def unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ").strip()


def decode_b(text: str) -> bytes | None:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_q(text: str, header: bool = True) -> bytes | None:
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
    a word are decoded with the word's charset; outside words, as `recover_8bit` says.
    """
    if "=?" not in value:
        return recover_8bit(value, hint)
    pieces: list[str | tuple[str, bytes]] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        payload = match.group(3)
        data = decode_b(payload) if match.group(2) in "bB" else decode_q(payload)
        if data is None:
            pieces.append(recover_8bit(gap + match.group(0), hint))
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
                pieces.append(recover_8bit(gap, hint))
            pieces.append((charset, data))
        pos = match.end()
    pieces.append(recover_8bit(value[pos:], hint))
    return "".join(p if isinstance(p, str) else decode_text(p[1], p[0]) for p in pieces)


def decode_header_value(value: Any, hint: str | None = None) -> str:
    """One raw header value (as compat32 keeps it) into readable text."""
    try:
        text = value if isinstance(value, str) else str(value)
        return clean_text(decode_words(unfold(text), hint))
    except Exception:
        return ""
