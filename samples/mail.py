"""Real RFC 5322 bytes, written by hand so that they can be as odd as real mail.

The stdlib's generator normalises exactly the things that break parsers (raw 8-bit headers,
encoded-words split inside a character, QQ-style encoded-words in quoted filenames), so these
builders write headers and MIME structure themselves.  Line endings are CRLF.
"""

from __future__ import annotations

import base64
import struct
import urllib.parse
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Literal

NameStyle = Literal["rfc2047-gb18030", "rfc2231", "plain-utf8", "raw-gbk", "none"]
HeaderStyle = Literal["rfc2047", "raw", "split"]

CRLF = b"\r\n"
BEIJING = timezone(timedelta(hours=8))
DEFAULT_DATE = datetime(2023, 12, 1, 9, 30, tzinfo=BEIJING)


# --------------------------------------------------------------------------- header encoding


def encoded_word(text: str, charset: str = "utf-8") -> str:
    """One RFC 2047 B-encoded word (no length limit, as QQ and Foxmail write them)."""
    data = base64.b64encode(text.encode(charset)).decode("ascii")
    return f"=?{charset}?B?{data}?="


def split_encoded_words(text: str, charset: str = "utf-8") -> str:
    """Two B-words with one multi-byte character cut between them (forbidden, but sent)."""
    raw = text.encode(charset)
    # Cut one byte into the first multi-byte character.
    cut = next((i + 1 for i, b in enumerate(raw) if b >= 0x80), len(raw) // 2)
    first, second = raw[:cut], raw[cut:]
    words = [f"=?{charset}?B?{base64.b64encode(p).decode('ascii')}?=" for p in (first, second)]
    return "\r\n ".join(words)


def header_value(text: str, style: HeaderStyle = "rfc2047", charset: str = "utf-8") -> bytes:
    """A header value in one of the encodings real Chinese mail uses."""
    if text.isascii():
        return text.encode("ascii")
    if style == "raw":
        return text.encode(charset)
    if style == "split":
        return split_encoded_words(text, charset).encode("ascii")
    return encoded_word(text, charset).encode("ascii")


def address(name: str, addr: str, style: HeaderStyle = "rfc2047", charset: str = "utf-8") -> bytes:
    if not name:
        return addr.encode("ascii")
    if name.isascii():
        return f'"{name}" <{addr}>'.encode("ascii")
    encoded = header_value(name, style, charset)
    if style == "raw":
        return b'"' + encoded + b'" <' + addr.encode("ascii") + b">"
    return encoded + b" <" + addr.encode("ascii") + b">"


def _b64_lines(data: bytes) -> bytes:
    encoded = base64.encodebytes(data)  # 76-column lines with LF
    return encoded.replace(b"\n", CRLF)


def _headers(pairs: Sequence[tuple[str, bytes | str]]) -> bytes:
    """Header lines; str values go out as raw UTF-8 (RFC 6532), bytes exactly as given."""
    out = b""
    for name, value in pairs:
        raw = value.encode("utf-8") if isinstance(value, str) else value
        out += name.encode("ascii") + b": " + raw + CRLF
    return out


# --------------------------------------------------------------------------- MIME parts


def _rfc2231_params(param: str, name: str, chunk: int = 30) -> bytes:
    quoted = urllib.parse.quote(name.encode("utf-8"), safe="")
    if len(quoted) <= chunk * 3:
        return f"{param}*=utf-8''{quoted}".encode("ascii")
    pieces = []
    rest = quoted
    index = 0
    while rest:
        # Never cut inside a %XX escape.
        cut = min(len(rest), chunk * 3)
        while 0 < cut < len(rest) and "%" in rest[cut - 2 : cut]:
            cut -= 1
        piece, rest = rest[:cut], rest[cut:]
        prefix = "utf-8''" if index == 0 else ""
        pieces.append(f"{param}*{index}*={prefix}{piece}")
        index += 1
    return ";\r\n\t".join(pieces).encode("ascii")


def _name_params(param: str, name: str, style: NameStyle) -> bytes:
    if style == "rfc2047-gb18030":
        return f'{param}="{encoded_word(name, "gb18030")}"'.encode("ascii")
    if style == "rfc2231":
        return _rfc2231_params(param, name)
    if style == "plain-utf8":
        return f'{param}="'.encode("ascii") + name.encode("utf-8") + b'"'
    if style == "raw-gbk":
        return f'{param}="'.encode("ascii") + name.encode("gbk") + b'"'
    raise ValueError(style)


def attachment_part(
    name: str,
    data: bytes,
    name_style: NameStyle = "rfc2047-gb18030",
    content_type: str = "application/octet-stream",
    disposition: str = "attachment",
) -> bytes:
    """One base64 attachment part, named as `name_style` says (`none`: no name at all)."""
    if name_style == "none":
        ctype = content_type.encode("ascii")
        disp = disposition.encode("ascii")
    else:
        ctype = content_type.encode("ascii") + b";\r\n\t" + _name_params("name", name, name_style)
        disp = disposition.encode("ascii") + b";\r\n\t" + _name_params("filename", name, name_style)
    return (
        _headers(
            [
                ("Content-Type", ctype),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", disp),
            ]
        )
        + CRLF
        + _b64_lines(data)
    )


def text_part(text: str, charset: str = "utf-8", subtype: str = "plain") -> bytes:
    return (
        _headers(
            [
                ("Content-Type", f'text/{subtype}; charset="{charset}"'),
                ("Content-Transfer-Encoding", "base64"),
            ]
        )
        + CRLF
        + _b64_lines(text.encode(charset if charset.lower() != "gb2312" else "gb18030"))
    )


def multipart(parts: Sequence[bytes], subtype: str = "mixed", boundary: str = "") -> bytes:
    """A multipart body (headers included) around already built parts."""
    boundary = boundary or f"----=_Part_{subtype}_{len(parts)}_{sum(len(p) for p in parts)}"
    out = _headers([("Content-Type", f'multipart/{subtype};\r\n\tboundary="{boundary}"')]) + CRLF
    out += b"This is a multi-part message in MIME format." + CRLF
    for part in parts:
        out += CRLF + f"--{boundary}".encode("ascii") + CRLF + part
    out += CRLF + f"--{boundary}--".encode("ascii") + CRLF
    return out


def message(
    headers: Sequence[tuple[str, bytes | str]],
    body: bytes,
) -> bytes:
    """Top-level headers followed by a body that starts with its own MIME headers."""
    return _headers([*headers, ("MIME-Version", "1.0")]) + body


def envelope(
    subject: str = "北京市低碳发展典型案例申报材料",
    sender: tuple[str, str] = ("张三", "zhangsan@sthjj.beijing.gov.cn"),
    to: str = "zmzyz@ceec.cn",
    message_id: str | None = "<20231201093000.12345@sthjj.beijing.gov.cn>",
    date: datetime | str | None = DEFAULT_DATE,
    header_style: HeaderStyle = "rfc2047",
    charset: str = "utf-8",
    extra: Sequence[tuple[str, bytes | str]] = (),
) -> list[tuple[str, bytes | str]]:
    """The usual top-level headers of a submission."""
    pairs: list[tuple[str, bytes | str]] = [
        ("From", address(sender[0], sender[1], header_style, charset)),
        ("To", to),
        ("Subject", header_value(subject, header_style, charset)),
    ]
    if date is not None:
        stamp = date if isinstance(date, str) else date.strftime("%a, %d %b %Y %H:%M:%S %z")
        pairs.append(("Date", stamp))
    if message_id is not None:
        pairs.append(("Message-ID", message_id))
    pairs.extend(extra)
    return pairs


# --------------------------------------------------------------------------- whole messages


def build_submission(
    subject: str = "北京市低碳发展典型案例申报材料",
    body: str = "工作负责人：张三，电话 13812345678，邮箱 zhangsan@example.cn",
    attachments: Sequence[tuple[str, bytes]] = (),
    sender: tuple[str, str] = ("张三", "zhangsan@sthjj.beijing.gov.cn"),
    to: str = "zmzyz@ceec.cn",
    message_id: str | None = "<20231201093000.12345@sthjj.beijing.gov.cn>",
    date: datetime | str | None = DEFAULT_DATE,
    name_style: NameStyle = "rfc2047-gb18030",
    charset: str = "utf-8",
    header_style: HeaderStyle = "rfc2047",
    html: str | None = None,
    extra_headers: Sequence[tuple[str, bytes | str]] = (),
) -> bytes:
    """A submission as a unit sends it: a text body (optionally with HTML) and attachments."""
    body_part = text_part(body, charset)
    if html is not None:
        body_part = multipart([body_part, text_part(html, charset, "html")], "alternative")
    parts = [body_part] + [attachment_part(n, d, name_style) for n, d in attachments]
    return message(
        envelope(subject, sender, to, message_id, date, header_style, charset, extra_headers),
        multipart(parts, "mixed"),
    )


def build_simple(
    headers: Sequence[tuple[str, bytes | str]],
    body: str = "hello",
    content_type: str = 'text/plain; charset="utf-8"',
) -> bytes:
    """A one-part message with exactly the given headers (for classification tests)."""
    return (
        _headers([*headers, ("MIME-Version", "1.0"), ("Content-Type", content_type)])
        + CRLF
        + body.encode("utf-8")
        + CRLF
    )


def build_forward(
    inner: bytes,
    body: str = "转发申报材料，请查收。",
    subject: str = "转发：北京市低碳发展典型案例申报材料",
    sender: tuple[str, str] = ("李四", "lisi@qq.com"),
    encoding: Literal["7bit", "base64"] = "7bit",
    inner_name: str | None = None,
) -> bytes:
    """`inner` attached as message/rfc822 (Apple Mail and some webmail base64 it)."""
    ctype = "message/rfc822"
    disposition = "inline"
    if inner_name:
        ctype += f'; name="{inner_name}"'
        disposition = f'attachment; filename="{inner_name}"'
    payload = _b64_lines(inner) if encoding == "base64" else inner
    attached = (
        _headers(
            [
                ("Content-Type", ctype),
                ("Content-Transfer-Encoding", encoding),
                ("Content-Disposition", disposition),
            ]
        )
        + CRLF
        + payload
    )
    return message(
        envelope(subject, sender, message_id="<fwd.1@qq.com>"),
        multipart([text_part(body), attached], "mixed"),
    )


def build_dsn(
    original: bytes,
    recipient: str = "zhangsan@example.cn",
    subject: str = "Undelivered Mail Returned to Sender",
    sender: str = "MAILER-DAEMON@mail.ceec.cn",
) -> bytes:
    """A Postfix-style multipart/report delivery-status bounce."""
    status = (
        _headers([("Content-Type", "message/delivery-status")])
        + CRLF
        + b"Reporting-MTA: dns; mail.ceec.cn\r\n\r\n"
        + f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n".encode()
    )
    returned = _headers([("Content-Type", "message/rfc822")]) + CRLF + original
    boundary = "dsn-boundary-1"
    body = (
        _headers(
            [
                (
                    "Content-Type",
                    f'multipart/report; report-type=delivery-status;\r\n\tboundary="{boundary}"',
                )
            ]
        )
        + CRLF
    )
    for part in (text_part("This is the mail system at host mail.ceec.cn."), status, returned):
        body += f"--{boundary}".encode() + CRLF + part + CRLF
    body += f"--{boundary}--".encode() + CRLF
    return message(
        [
            ("Return-Path", "<>"),
            ("From", f"Mail Delivery System <{sender}>"),
            ("To", "zmzyz@ceec.cn"),
            ("Subject", subject),
            ("Auto-Submitted", "auto-replied"),
            ("Date", "Fri, 01 Dec 2023 10:00:00 +0800"),
        ],
        body,
    )


# --------------------------------------------------------------------------- TNEF


def _tnef_attr(level: int, name: int, atype: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, atype, len(data)) + data + struct.pack("<H", checksum)


def _mapi_string8(prop_id: int, text: str, codec: str) -> bytes:
    raw = text.encode(codec) + b"\x00"
    padded = raw + b"\x00" * (-len(raw) % 4)
    return struct.pack("<HHII", 0x001E, prop_id, 1, len(raw)) + padded


def build_tnef(
    files: Sequence[tuple[str, bytes]],
    codepage: int = 936,
    body: str | None = None,
) -> bytes:
    """A winmail.dat as Outlook writes it: 8.3 title, data, and the long name as a MAPI
    PT_STRING8 in the message code page (so it only reads right when decoded with it)."""
    codec = "gbk" if codepage == 936 else f"cp{codepage}"
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += _tnef_attr(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef_attr(1, 0x9007, 0x0006, struct.pack("<II", codepage, 0))  # attOemCodepage
    out += _tnef_attr(1, 0x8008, 0x0007, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    if body is not None:
        out += _tnef_attr(1, 0x800C, 0x0002, body.encode(codec))  # attBody
    for index, (name, data) in enumerate(files):
        stem, _, ext = name.rpartition(".")
        short = f"FILE{index}~1.{ext[:3].upper() or 'BIN'}"
        out += _tnef_attr(2, 0x9002, 0x0006, b"\x01\x00\xff\xff\xff\xff" + b"\x00" * 8)
        out += _tnef_attr(2, 0x8010, 0x0001, short.encode("ascii") + b"\x00")  # attAttachTitle
        out += _tnef_attr(2, 0x800F, 0x0006, data)  # attAttachData
        props = struct.pack("<I", 1) + _mapi_string8(0x3707, name, codec)  # LONG_FILENAME
        out += _tnef_attr(2, 0x9005, 0x0006, props)  # attAttachment
    return out


def build_tnef_message(
    files: Sequence[tuple[str, bytes]],
    codepage: int = 936,
    tnef_body: str | None = "联系人：王五 13900001111",
    body: str = "",
    winmail: bytes | None = None,
) -> bytes:
    """An Outlook mail whose attachments sit inside winmail.dat (application/ms-tnef)."""
    blob = winmail if winmail is not None else build_tnef(files, codepage, tnef_body)
    tnef = (
        _headers(
            [
                ("Content-Type", 'application/ms-tnef; name="winmail.dat"'),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Disposition", 'attachment; filename="winmail.dat"'),
            ]
        )
        + CRLF
        + _b64_lines(blob)
    )
    return message(
        envelope(sender=("王五", "wangwu@outlook.com"), message_id="<tnef.1@outlook.com>"),
        multipart([text_part(body or " "), tnef], "mixed"),
    )


# --------------------------------------------------------------------------- small payloads

# The first bytes of each format, enough for magic sniffing.
MAGIC = {
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 30,
    "rar4": b"Rar!\x1a\x07\x00" + b"\x00" * 30,
    "rar5": b"Rar!\x1a\x07\x01\x00" + b"\x00" * 30,
    "7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 30,
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"\x00" * 20,
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 30,
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 30,
    "ole": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40,
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 20,
    "mov": b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00" + b"\x00" * 20,
}
