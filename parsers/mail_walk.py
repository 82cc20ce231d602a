"""The walk over one message's parts: bodies into text, everything else into attachments.

Owns which part is a body, a file, a forwarded message or TNEF, and the defects noted on the
way; nothing here raises on hostile nesting or broken parts.  Files' large bodies go into the
sink, when there is one, as they are decoded (`parsers.payload`).
"""

from __future__ import annotations

from email.message import Message

from parsers.html_text import html_to_text
from parsers.mail_blobs import Blobs
from parsers.mail_headers import charset_hint
from parsers.mail_parts import (
    attachment_filename,
    charset_label,
    content_type_of,
    disposition_of,
    part_payload,
    payload_bytes,
    release_payload,
)
from parsers.mail_text import clean_text, decode_text
from parsers.mail_tnef import (
    MAX_FORWARD_DEPTH,
    TNEF_SIGNATURE,
    TNEF_TYPES,
    flatten,
    forward_banner,
    inner_message,
    tnef_bodies,
    tnef_files,
)
from parsers.model import Attachment
from parsers.payload import Payload, Sink, SinkFailed
from parsers.sniff import GENERIC_TYPES, OCTET_STREAM, extension_for, sniff_type

# Multipart nesting inside one message: real mail stays under 10; crafted mail goes to thousands
# (the stdlib parser itself gives up with RecursionError near 1000, see parse_bytes).
MAX_NESTING = 60
MAX_DEFECTS = 200
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


class Collector:
    """Bodies and files of one message level; attachments are shared with the outer levels."""

    def __init__(
        self,
        attachments: list[Attachment],
        defects: list[str],
        blobs: Blobs,
        hint: str | None = None,
        forwards: int = 0,
        sink: Sink | None = None,
    ) -> None:
        self.blobs = blobs
        self.sink = sink
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

    def add_file(self, name: str, declared: str, payload: Payload, inline: bool = False) -> None:
        ctype = declared
        if declared in GENERIC_TYPES or "/" not in declared:
            sniffed = sniff_type(payload.sample(), name)
            ctype = sniffed if sniffed != OCTET_STREAM else (declared or OCTET_STREAM)
        if not name:
            name = f"attachment-{len(self.attachments) + 1}{extension_for(ctype)}"
        self.attachments.append(
            Attachment(name=clean_text(name), content_type=ctype, payload=payload, inline=inline)
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
        ctype = content_type_of(part)
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
        except SinkFailed:  # the disk's failure, not the message's: the service retries
            raise
        except RecursionError:
            self.defect(f"part {path}: nesting too deep, rest skipped")
        except Exception as exc:
            self.defect(f"part {path}: {type(exc).__name__} while reading {ctype}")

    def leaf(self, part: Message, ctype: str, path: str) -> None:
        disposition = disposition_of(part)
        name = attachment_filename(part, self.hint)
        if ctype.startswith("multipart/") and not name:
            # A multipart without a usable boundary stays one opaque leaf; its text is still
            # what the person wrote, so read it as the body rather than as a file.
            self.defect(f"part {path}: {ctype} without parts, read as text")
            ctype = "text/plain"
        if ctype in BODY_TYPES and not name and disposition != "attachment":
            text = decode_text(payload_bytes(part, self.blobs), charset_label(part))
            release_payload(part)
            (self.htmls if ctype == "text/html" else self.texts).append(text)
            return
        payload = part_payload(part, self.blobs, self.sink)
        release_payload(part)
        if ctype in TNEF_TYPES or name.lower() == "winmail.dat":
            if self.tnef(payload.read(), path):
                return
            if not payload.head.startswith(TNEF_SIGNATURE):
                # Labelled TNEF but something else (MimeKit's m4006 carries a PNG): say what
                # the bytes are.
                ctype = OCTET_STREAM
        embedded = (
            disposition != "attachment"
            and bool(part.get("Content-ID"))
            and ctype.startswith("image/")
        )
        self.add_file(name, ctype, payload, inline=embedded)

    def forwarded(self, part: Message, path: str) -> None:
        """A message/rfc822 part: its files join ours and its text follows our body.

        Units forward the submission they got from a colleague (SPEC: "forwarded mails with
        the submission as an attached message"); contact details then sit in the inner body.
        """
        name = attachment_filename(part, self.hint)
        inner = inner_message(part, self.blobs)
        if inner is None or self.forwards >= MAX_FORWARD_DEPTH:
            if self.forwards >= MAX_FORWARD_DEPTH:
                self.defect(
                    f"part {path}: forwarded messages nested deeper than {MAX_FORWARD_DEPTH}"
                )
            data = flatten(inner if inner is not None else part, self.blobs)
            self.add_file(name or "", "message/rfc822", Payload.of(data))
            return
        hint = charset_hint(inner) or self.hint
        sub = Collector(
            self.attachments, self.defects, self.blobs, hint, self.forwards + 1, self.sink
        )
        sub.walk(inner, f"{path}.1")
        text = sub.body_text()
        self.htmls.extend(sub.htmls)
        header = forward_banner(inner, hint)
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
            for name, payload in tnef_files(tnef, 0):
                self.add_file(name, OCTET_STREAM, Payload.of(payload))
                found = True
            for text, html in tnef_bodies(tnef, 0):
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
