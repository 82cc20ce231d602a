"""The reply as bytes: header hygiene, our sender identity, the thread, and the MIME message.

Everything that goes into a header of our reply passes through here: text that came from a
submission (names, subjects, Message-IDs) is made one clean line; an address that is not a plain
ASCII addr-spec is refused rather than risked in a header or an SMTP envelope.  The result is
what strict relays want: ASCII headers (RFC 2047), base64 UTF-8 bodies, RFC 3834 markers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, compat32
from email.utils import format_datetime, getaddresses, make_msgid

from campaign import Campaign
from intake.config import Settings
from store import models as m
from store.blobs import BlobStore

HEADER_READ_LIMIT = 256 * 1024


# --------------------------------------------------------------------------- header hygiene

_SPACES = re.compile(r"\s+")


def header_text(value: str | None, limit: int = 200) -> str:
    """Text from a submission made safe for a header: one line, no control characters.

    CR and LF would start a new header (header injection); other control and format characters
    (NUL, bidi overrides) break strict relays or disguise the text.
    """
    if not value:
        return ""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") else ch for ch in value
    )
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned[:limit].rstrip()


# A plain ASCII addr-spec.  A sender outside it (quoted local parts, comments, raw 8-bit) is
# left to staff rather than risked in a header or an SMTP envelope.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_MSGID = re.compile(r"<[^<>\s@]{1,200}@[^<>\s@]{1,200}>")
# A reply whose subject says "automatic" is taken for an auto-reply by other systems (and by our
# own classifier when a person answers it); such an original subject is not echoed.
_AUTOMATIC_WORDS = re.compile(r"自动回复|自动答复|退信|auto[- ]?(reply|response)", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|回复|答复)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)


def valid_address(address: str) -> bool:
    return len(address) <= 254 and bool(_ADDRESS.match(address))


def reply_subject(original: str | None, fallback: str) -> str:
    """`Re: <original>`, one `Re:` however many reply prefixes the original carried."""
    text = header_text(original, 180)
    rest = _REPLY_PREFIX.sub("", text).strip()
    if not rest or _AUTOMATIC_WORDS.search(rest):
        rest = header_text(fallback, 180)
    return f"Re: {rest}"


def addresses(value: str) -> list[str]:
    """The addresses of a comma-separated setting (`staff_copy`), lower-cased and valid."""
    found = [addr.strip().lower() for _, addr in getaddresses([value or ""])]
    return [a for a in found if valid_address(a)]


def sender_identity(settings: Settings, campaign: Campaign) -> tuple[str, str]:
    """(display name, address) our replies come from: `smtp_from`, else the office's address."""
    name, addr = "", ""
    if settings.smtp_from:
        parsed = getaddresses([settings.smtp_from])
        if parsed:
            name, addr = parsed[0]
    addr = (addr or campaign.office.email).strip()
    return header_text(campaign.office.name or name, 80), addr


# --------------------------------------------------------------------------- the message


def original_references(blobs: BlobStore, message: m.Message) -> list[str]:
    """The thread so far: the original's References (or In-Reply-To), as clean msg-ids."""
    if not message.raw_sha256 or not blobs.exists(message.raw_sha256):
        return []
    try:
        # Only the head: a submission can be 100 MB of attachments after its headers.
        with blobs.path_for(message.raw_sha256).open("rb") as fh:
            head = fh.read(HEADER_READ_LIMIT)
        headers = BytesHeaderParser(policy=compat32).parsebytes(head)
        value = str(headers.get("References") or headers.get("In-Reply-To") or "")
    except Exception:  # a header we cannot read only costs the thread its history
        return []
    # The last few are what threading needs; a 50-deep chain would only bloat the header.
    return _MSGID.findall(value)[-10:]


def build_reply_mime(
    *,
    text: str,
    html: str,
    from_name: str,
    from_addr: str,
    to_name: str,
    to_addr: str,
    subject: str,
    in_reply_to: str | None,
    references: Sequence[str],
    when: datetime,
) -> EmailMessage:
    """The reply as strict relays want it: ASCII headers (RFC 2047), base64 UTF-8 bodies.

    `EmailMessage.set_content` would pick 8bit for short UTF-8 bodies, which relays without
    8BITMIME reject or mangle (FIELD-NOTES "Servers for tests"), hence the explicit cte.
    Every header value that came from a submission passes `header_text`.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=header_text(from_name, 80), addr_spec=from_addr)
    msg["To"] = Address(display_name=header_text(to_name, 80), addr_spec=to_addr)
    msg["Subject"] = header_text(subject, 200)
    msg["Date"] = format_datetime(when)
    domain = from_addr.rsplit("@", 1)[-1]
    msg["Message-ID"] = make_msgid("reply", domain=domain)
    original = f"<{in_reply_to}>" if in_reply_to else ""
    if original and not _MSGID.fullmatch(original):
        original = ""
    if original:
        msg["In-Reply-To"] = original
    thread = [r for r in references if r != original] + ([original] if original else [])
    if thread:
        msg["References"] = " ".join(thread)
    # RFC 3834: marks this as an automatic answer, so that well-behaved auto-responders
    # (and our own classifier, should it come back) never answer it.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    # After the bodies: set_content drops every Content-* header already present.
    msg["Content-Language"] = "zh-CN"
    return msg
