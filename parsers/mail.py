"""Raw RFC 5322 bytes into a `ParsedMail`, tolerant of what Chinese mail systems really send.

The bytes are parsed once with the stdlib (compat32 policy, which keeps raw header values and
8-bit bytes as surrogates), after large base64 bodies have been set aside to be decoded
straight from the input (`parsers.mail_blobs`); mail-parser supplies its hardened address and date
readers.  The whole `MailParser` object is not used: it decodes every text part and re-encodes
every attachment to base64, which doubles the cost FIELD-NOTES measures as the largest one.

Nothing in here may raise on hostile or broken input: every header and part access is guarded
and what went wrong is written to `ParsedMail.defects`.  This module owns the entry point; the
work is split along the message's structure: `mail_text` (encoded words, charsets),
`mail_blobs` (large base64 bodies), `mail_parts` (one part), `mail_headers` (addresses, date),
`mail_walk` (the parts tree) and `mail_tnef` (winmail.dat and forwarded messages).
"""

from __future__ import annotations

from parsers.mail_blobs import Blobs
from parsers.mail_headers import (
    charset_hint,
    header_map,
    message_id_of,
    parse_addresses,
    parse_date,
    raw_values,
)
from parsers.mail_parts import content_type_of, parse_bytes
from parsers.mail_text import clean_text
from parsers.mail_walk import Collector
from parsers.model import Attachment, ParsedMail
from parsers.payload import Sink

# Base64 bodies from this size on bypass the stdlib's line-by-line parse (see mail_blobs).
BLOB_MIN = 64 * 1024


def parse_mail(raw: bytes, sink: Sink | None = None) -> ParsedMail:
    """Everything the intake needs from one raw message; never raises on bad input.

    With a `sink` (the service's blob store), large attachments are decoded into it in chunks
    and refer to their stored copy; without one they are held in memory."""
    defects: list[str] = []
    attachments: list[Attachment] = []
    try:
        data = bytes(raw) if not isinstance(raw, bytes) else raw
    except Exception:
        data = b""
        defects.append("input is not bytes")
    blobs = Blobs(data, BLOB_MIN)
    try:
        skeleton = blobs.skeleton()
    except Exception:
        blobs.spans.clear()
        skeleton = data
    msg = parse_bytes(skeleton, defects)
    del skeleton
    if msg is None:
        return ParsedMail(None, "", "", [], "", None, {}, "text/plain", "", "", [], defects)

    hint = charset_hint(msg)
    headers = header_map(msg, hint)

    senders: list[tuple[str, str]] = []
    for field_name in ("from", "sender"):
        for value in raw_values(msg, field_name):
            senders.extend(parse_addresses(value, hint))
        if senders:
            break
    from_name, from_addr = senders[0] if senders else ("", "")
    if not senders:
        defects.append("no sender address")

    to: list[str] = []
    for value in raw_values(msg, "to"):
        to.extend(a for _, a in parse_addresses(value, hint) if a not in to)

    subject_values = headers.get("subject", [])
    subject = " ".join(subject_values[0].split()) if subject_values else ""
    date_values = raw_values(msg, "date")
    date = parse_date(date_values[0] if date_values else None, defects)
    id_values = raw_values(msg, "message-id")
    message_id = message_id_of(id_values[0] if id_values else None)

    collector = Collector(attachments, defects, blobs, hint, sink=sink)
    collector.walk(msg, "1")
    text = clean_text(collector.body_text())
    html = clean_text("\n".join(collector.htmls))

    return ParsedMail(
        message_id=message_id,
        from_addr=from_addr,
        from_name=from_name,
        to=to,
        subject=subject,
        date=date,
        headers=headers,
        content_type=content_type_of(msg),
        text=text,
        html=html,
        attachments=attachments,
        defects=defects,
    )
