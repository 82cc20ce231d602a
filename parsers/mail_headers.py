"""The message's own headers: addresses, date, Message-ID, and all values decoded.

Owns reading header values as compat32 keeps them raw; mail-parser supplies its hardened
address and date readers, with stdlib and plain-pattern fallbacks for what it refuses.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from email.message import Message

from mailparser.dates import parse_mail_date
from mailparser.utils import get_addresses

from parsers.charset import normalize_charset
from parsers.mail_parts import charset_label, raw_items
from parsers.mail_text import clean_text, decode_header_value, decode_words, recover_8bit, unfold

_ADDR_SPEC = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*", re.ASCII)
_MSGID = re.compile(r"<([^<>\s]+)>")


def header_map(msg: Message, hint: str | None) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in raw_items(msg):
        key = clean_text(recover_8bit(str(name))).strip().lower()
        if key:
            headers.setdefault(key, []).append(decode_header_value(value, hint))
    return headers


def charset_hint(msg: Message, limit: int = 50) -> str | None:
    """The first specific charset the message declares, for reading its raw 8-bit headers."""
    try:
        for index, part in enumerate(msg.walk()):
            if index >= limit:
                break
            label = charset_label(part)
            if not label:
                continue
            name = normalize_charset(label)
            if name not in {"ascii", "utf-8"}:
                return name
    except Exception:
        pass
    return None


def raw_values(msg: Message, name: str) -> list[str]:
    return [str(v) for k, v in raw_items(msg) if str(k).strip().lower() == name]


def parse_addresses(raw: str, hint: str | None = None) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs from one raw address header value."""
    text = unfold(recover_8bit(raw, hint))
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
        (
            clean_text(decode_words(n, hint)).strip().strip('"').strip(),
            clean_text(a).strip("<> ").lower(),
        )
        for n, a in pairs
    ]


def parse_date(raw: str | None, defects: list[str]) -> datetime | None:
    if not raw:
        return None
    text = unfold(recover_8bit(raw))
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


def message_id_of(raw: str | None) -> str | None:
    if not raw:
        return None
    text = clean_text(unfold(recover_8bit(raw)))
    match = _MSGID.search(text)
    value = match.group(1) if match else "".join(text.split()).strip("<>")
    return value or None
