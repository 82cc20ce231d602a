"""parse_mail on the shapes Chinese submission mail really takes, and on broken input."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

import parsers.mail as mail_module
from parsers.mail import parse_mail
from parsers.mail_text import decode_header_value, decode_words
from parsers.sniff import DOCX, sniff_type
from samples.mail import (
    CRLF,
    MAGIC,
    attachment_part,
    build_forward,
    build_simple,
    build_submission,
    build_tnef,
    build_tnef_message,
    envelope,
    message,
    multipart,
    text_part,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
GBK_ONLY = "朱镕基 报名表"  # 镕 is in GBK but not in GB2312
ZIP_NAME = "北京市朱镕基低碳社区推荐材料.zip"


def names(raw: bytes) -> list[str]:
    return [a.name for a in parse_mail(raw).attachments]


# -- headers -------------------------------------------------------------------------------------


def test_gbk_only_character_in_gb2312_labelled_subject() -> None:
    # mail-parser alone turned this subject into "F"; the stdlib inserts U+FFFD.
    raw = build_submission(subject=GBK_ONLY, charset="gb2312", header_style="rfc2047")
    assert b"=?gb2312?B?" in raw
    mail = parse_mail(raw)
    assert mail.subject == GBK_ONLY
    assert mail.from_name == "张三"


def test_raw_8bit_gbk_headers() -> None:
    raw = build_submission(
        subject=GBK_ONLY,
        sender=("朱镕基", "zhu@qq.com"),
        header_style="raw",
        charset="gbk",
        attachments=[(ZIP_NAME, MAGIC["zip"])],
        name_style="raw-gbk",
    )
    assert GBK_ONLY.encode("gbk") in raw
    mail = parse_mail(raw)
    assert mail.subject == GBK_ONLY
    assert mail.from_name == "朱镕基"
    assert mail.from_addr == "zhu@qq.com"
    assert mail.headers["subject"] == [GBK_ONLY]
    assert [a.name for a in mail.attachments] == [ZIP_NAME]


def test_raw_8bit_utf8_headers() -> None:
    raw = build_submission(subject="北京市申报材料", header_style="raw", charset="utf-8")
    assert parse_mail(raw).subject == "北京市申报材料"


@pytest.mark.parametrize("charset", ["utf-8", "gb18030"])
def test_character_split_across_encoded_words(charset: str) -> None:
    raw = build_submission(subject=GBK_ONLY, header_style="split", charset=charset)
    assert parse_mail(raw).subject == GBK_ONLY


def test_decode_words_keeps_literal_text_and_spacing() -> None:
    assert decode_words("Re: =?utf-8?B?5YyX5Lqs?= 申报") == "Re: 北京 申报"
    assert decode_words("=?utf-8?Q?a_b?= =?utf-8?Q?c?=") == "a bc"
    assert decode_words("=?utf-8*zh?B?5YyX5Lqs?=") == "北京"
    # A broken word stays as it was rather than vanishing.
    assert decode_words("=?utf-8?B?!!!?=") in {"=?utf-8?B?!!!?=", ""}
    assert decode_header_value("=?x-unknown?B?5YyX5Lqs?=") == "北京"


def test_subject_whitespace_normalised() -> None:
    raw = build_simple([("From", "a@b.cn"), ("Subject", "  北京市\r\n\t申报   材料 ")])
    assert parse_mail(raw).subject == "北京市 申报 材料"


def test_header_fields() -> None:
    raw = build_submission(
        sender=("Zhang San", "ZhangSan@QQ.com"),
        to="ZMZYZ@ceec.cn, 其他 <other@ceec.cn>",
        message_id="  <ABC.123@qq.com> ",
    )
    mail = parse_mail(raw)
    assert mail.from_addr == "zhangsan@qq.com"
    assert mail.from_name == "Zhang San"
    assert mail.to == ["zmzyz@ceec.cn", "other@ceec.cn"]
    assert mail.message_id == "ABC.123@qq.com"
    assert mail.date == datetime(2023, 12, 1, 1, 30, tzinfo=UTC)
    assert mail.content_type == "multipart/mixed"
    assert mail.header("MIME-Version") == "1.0"
    assert all(k == k.lower() for k in mail.headers)


def test_date_without_zone_is_utc_and_garbage_date_is_none() -> None:
    raw = build_submission(date="1 Dec 2023 09:30:00")
    assert parse_mail(raw).date == datetime(2023, 12, 1, 9, 30, tzinfo=UTC)
    mail = parse_mail(build_submission(date="星期五 下午"))
    assert mail.date is None
    assert any("Date" in d for d in mail.defects)


def test_missing_headers() -> None:
    mail = parse_mail(b"\r\nJust a body\r\n")
    assert mail.message_id is None
    assert mail.date is None
    assert mail.from_addr == ""
    assert "Just a body" in mail.text


def test_bare_mailer_daemon_sender() -> None:
    mail = parse_mail(build_simple([("From", "MAILER-DAEMON"), ("Subject", "x")]))
    assert mail.from_addr == "mailer-daemon"


def test_quoted_encoded_word_display_name() -> None:
    # Foxmail quotes the encoded-word; RFC 2047 says not to decode it, every client does.
    name = base64.b64encode("朱镕基".encode("gb18030")).decode()
    raw = build_simple([("From", f'"=?gb2312?B?{name}?=" <zhu@qq.com>'), ("Subject", "x")])
    assert parse_mail(raw).from_name == "朱镕基"


# -- attachment names ----------------------------------------------------------------------------

LONG_NAME = "北京市朱镕基低碳社区案例推荐材料（含推荐表、照片说明、视频及盖章扫描件）第一批.zip"


@pytest.mark.parametrize("style", ["rfc2047-gb18030", "rfc2231", "plain-utf8", "raw-gbk"])
@pytest.mark.parametrize("name", [ZIP_NAME, LONG_NAME, "photo 1.jpg"])
def test_attachment_name_styles(style: str, name: str) -> None:
    raw = build_submission(attachments=[(name, MAGIC["zip"])], name_style=style)  # type: ignore[arg-type]
    assert names(raw) == [name]


def test_rfc2231_continuations_are_used() -> None:
    raw = build_submission(attachments=[(LONG_NAME, MAGIC["zip"])], name_style="rfc2231")
    assert b"filename*0*=utf-8''" in raw and b"filename*1*=" in raw
    assert names(raw) == [LONG_NAME]


def _part_with_headers(headers: bytes, data: bytes = MAGIC["pdf"]) -> bytes:
    part = headers + b"Content-Transfer-Encoding: base64" + CRLF + CRLF
    part += base64.encodebytes(data).replace(b"\n", CRLF)
    return message(envelope(), multipart([text_part("正文"), part]))


def test_filename_star_preferred_over_plain_filename() -> None:
    raw = _part_with_headers(
        b'Content-Type: application/pdf; name="fallback.pdf"\r\n'
        b'Content-Disposition: attachment; filename="fallback.pdf";\r\n'
        b"\tfilename*=gb2312''%D6%EC%E9%46%BB%F9.pdf\r\n"
    )
    assert names(raw) == ["朱镕基.pdf"]


def test_content_type_name_is_the_fallback() -> None:
    raw = _part_with_headers(
        b'Content-Type: application/pdf; name="=?utf-8?B?5o6o6I2Q6KGo?=.pdf"\r\n'
        b"Content-Disposition: attachment\r\n"
    )
    assert names(raw) == ["推荐表.pdf"]


def test_client_path_in_filename_is_stripped() -> None:
    raw = _part_with_headers(
        b"Content-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="C:\\Users\\zs\\Desktop\\scan.pdf"\r\n'
    )
    assert names(raw) == ["scan.pdf"]


def test_inline_octet_stream_and_unnamed_parts_are_attachments() -> None:
    parts = [
        text_part("正文"),
        attachment_part("推荐表.docx", MAGIC["zip"], disposition="inline"),
        attachment_part("", MAGIC["jpeg"], name_style="none", content_type="image/jpeg"),
        attachment_part("", MAGIC["rar5"], name_style="none", disposition="inline"),
        attachment_part("", b"\x00\x01", name_style="none", content_type="application/x-foo"),
        attachment_part("", "名单".encode(), name_style="none", content_type="text/csv"),
    ]
    mail = parse_mail(message(envelope(), multipart(parts)))
    assert [a.name for a in mail.attachments] == [
        "推荐表.docx",
        "attachment-2.jpg",
        "attachment-3.rar",
        "attachment-4.bin",
        "attachment-5.csv",
    ]
    assert mail.text == "正文"


def test_text_attachment_is_not_body() -> None:
    parts = [
        text_part("正文"),
        attachment_part("照片说明.txt", "照片1：光伏屋顶".encode(), content_type="text/plain"),
    ]
    mail = parse_mail(message(envelope(), multipart(parts)))
    assert mail.text == "正文"
    assert [(a.name, a.data.decode()) for a in mail.attachments] == [
        ("照片说明.txt", "照片1：光伏屋顶")
    ]


# -- content types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("magic", "name", "expected"),
    [
        ("zip", "材料.zip", "application/zip"),
        ("zip", "推荐表.docx", DOCX),
        ("rar4", "a.rar", "application/vnd.rar"),
        ("rar5", "a.zip", "application/vnd.rar"),  # bytes win over the name
        ("7z", "a.7z", "application/x-7z-compressed"),
        ("pdf", "扫描件", "application/pdf"),
        ("jpeg", "照片.JPG", "image/jpeg"),
        ("png", "a.png", "image/png"),
        ("ole", "推荐表.doc", "application/msword"),
        ("ole", "推荐表.wps", "application/msword"),
        ("ole", "unknown", "application/x-ole-storage"),
        ("mp4", "视频.mp4", "video/mp4"),
        ("mov", "视频.mov", "video/quicktime"),
    ],
)
def test_octet_stream_is_sniffed(magic: str, name: str, expected: str) -> None:
    assert sniff_type(MAGIC[magic], name) == expected
    raw = build_submission(attachments=[(name, MAGIC[magic])])
    assert [a.content_type for a in parse_mail(raw).attachments] == [expected]


def test_sniff_falls_back_to_name_then_octet_stream() -> None:
    assert sniff_type(b"hello", "readme.txt") == "text/plain"
    assert sniff_type(b"\x00\x01\x02", "") == "application/octet-stream"
    assert sniff_type(b"", "x.pdf") == "application/pdf"


def test_declared_specific_type_is_kept() -> None:
    raw = message(
        envelope(),
        multipart([attachment_part("a.pdf", MAGIC["zip"], content_type="application/pdf")]),
    )
    assert parse_mail(raw).attachments[0].content_type == "application/pdf"


def test_docx_without_docx_name_is_recognised_by_members(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    assert sniff_type(path.read_bytes(), "推荐表") == DOCX


# -- bodies --------------------------------------------------------------------------------------


def test_gbk_body_labelled_gb2312() -> None:
    raw = build_submission(body=f"联系人：{GBK_ONLY}", charset="gb2312")
    assert parse_mail(raw).text == f"联系人：{GBK_ONLY}"


@pytest.mark.parametrize("label", ["X-UNKNOWN", "undefined", "ansi_x3.110-1983", "base64", ""])
def test_unknown_body_charsets_fall_back(label: str) -> None:
    for body in ("联系人 张三".encode(), "联系人 张三".encode("gb18030")):
        raw = (
            b"From: a@b.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            + f"Content-Type: text/plain; charset={label}\r\n".encode()
            + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
            + body
        )
        assert parse_mail(raw).text.strip() == "联系人 张三"


def test_html_only_mail_gets_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>t</title></head><body>"
        "<p>联系人：张三</p><div>电话&nbsp;13812345678</div><script>var x=1;</script>"
        "<br>邮箱 a@b.cn</body></html>"
    )
    raw = message(envelope(), multipart([text_part(html, subtype="html")]))
    mail = parse_mail(raw)
    assert mail.html == html
    assert mail.text.split("\n") == ["联系人：张三", "电话 13812345678", "邮箱 a@b.cn"]


def test_alternative_prefers_plain_text() -> None:
    raw = build_submission(body="纯文本", html="<p>超文本</p>")
    mail = parse_mail(raw)
    assert mail.text == "纯文本"
    assert mail.html == "<p>超文本</p>"


# -- TNEF ----------------------------------------------------------------------------------------


def test_tnef_is_unwrapped_with_codepage_names() -> None:
    files = [("北京市朱镕基推荐表.doc", MAGIC["ole"]), ("照片一（光伏屋顶）.jpg", MAGIC["jpeg"])]
    mail = parse_mail(build_tnef_message(files, codepage=936))
    assert [(a.name, a.content_type, a.data) for a in mail.attachments] == [
        ("北京市朱镕基推荐表.doc", "application/msword", MAGIC["ole"]),
        ("照片一（光伏屋顶）.jpg", "image/jpeg", MAGIC["jpeg"]),
    ]
    assert "王五 13900001111" in mail.text
    assert not mail.defects


def test_broken_tnef_is_kept_as_winmail_dat() -> None:
    not_tnef = MAGIC["png"]
    mail = parse_mail(build_tnef_message([], winmail=not_tnef))
    assert [(a.name, a.content_type, a.data) for a in mail.attachments] == [
        ("winmail.dat", "image/png", not_tnef)
    ]
    assert any("not TNEF" in d for d in mail.defects)
    truncated = build_tnef([("a.doc", MAGIC["ole"])])[:30]
    mail = parse_mail(build_tnef_message([], winmail=truncated))
    assert [a.name for a in mail.attachments] == ["winmail.dat"]


def test_real_outlook_tnef_sample() -> None:
    sample = SHARED / "corpus" / "public" / "mimekit" / "tnef" / "rich-text.eml"
    if not sample.exists():
        pytest.skip("shared corpus not present")
    mail = parse_mail(sample.read_bytes())
    assert "winmail.dat" not in [a.name for a in mail.attachments]
    assert "kitten-playing-with-a-christmas-tree.jpg" in [a.name for a in mail.attachments]
    assert all(a.content_type == "image/jpeg" for a in mail.attachments)


# -- forwards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["7bit", "base64"])
def test_forwarded_message_contributes_files_and_text(encoding: str) -> None:
    inner = build_submission(
        body="工作负责人：赵六 13700001111", attachments=[(ZIP_NAME, MAGIC["zip"])]
    )
    raw = build_forward(inner, encoding=encoding, inner_name="原邮件.eml")  # type: ignore[arg-type]
    mail = parse_mail(raw)
    assert mail.subject.startswith("转发：")
    assert [a.name for a in mail.attachments] == [ZIP_NAME]
    assert mail.text.startswith("转发申报材料，请查收。")
    assert "赵六 13700001111" in mail.text
    assert "Subject: 北京市低碳发展典型案例申报材料" in mail.text


def test_forward_depth_is_bounded_and_nothing_is_lost() -> None:
    raw = build_submission(body="最里面", attachments=[("deep.zip", MAGIC["zip"])])
    for level in range(8):
        raw = build_forward(raw, body=f"第{level}层")
    mail = parse_mail(raw)
    assert mail.text.count("Forwarded message") == 5
    assert [a.name for a in mail.attachments] == ["attachment-1.eml"]
    kept = parse_mail(mail.attachments[0].data)
    assert kept.subject.startswith("转发：")
    assert [a.name for a in kept.attachments] == ["deep.zip"]
    assert any("deeper than 5" in d for d in mail.defects)


# -- robustness ----------------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nleaf\r\n"
    for i in range(depth):
        b = f"b{i}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\n"
            + body + b"\r\n--" + b + b"--\r\n"
        )  # fmt: skip
    return b"From: a@b.cn\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + body


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 100,
        bytes(range(256)) * 4,
        b"not a mail at all",
        b"Subject: =?utf-8?B?\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n",
        b"From: <>\r\nTo: undisclosed-recipients:;\r\nDate: 99 Foo 2023\r\n\r\n",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"Content-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\neJ8+Ig==",
        _nested(100),
        _nested(3000),
    ],
)
def test_malformed_input_never_raises(raw: bytes) -> None:
    mail = parse_mail(raw)
    assert isinstance(mail.defects, list)
    assert "\x00" not in mail.text


def test_defects_are_recorded() -> None:
    mail = parse_mail(_nested(100))
    assert any("nesting" in d for d in mail.defects)


# -- large bodies --------------------------------------------------------------------------------


def test_large_attachments_decode_exactly() -> None:
    big = b"PK\x03\x04" + os.urandom(3 * 1024 * 1024)
    photo = b"\xff\xd8\xff" + os.urandom(200_000)
    raw = build_submission(attachments=[("大.zip", big), ("照片.jpg", photo)], body="正文")
    mail = parse_mail(raw)
    assert [(a.name, a.data) for a in mail.attachments] == [("大.zip", big), ("照片.jpg", photo)]
    assert mail.text == "正文"


def test_large_body_path_matches_plain_stdlib_path(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = build_submission(attachments=[("in.zip", b"PK\x03\x04" + os.urandom(5000))])
    samples = [
        build_submission(
            attachments=[("a.zip", b"PK\x03\x04" + os.urandom(9000))], html="<b>x</b>"
        ),
        build_forward(inner, encoding="base64"),
        build_forward(inner, encoding="7bit"),
        build_tnef_message([("t.doc", MAGIC["ole"] * 100)]),
    ]

    def summary(raw: bytes) -> tuple[object, ...]:
        mail = parse_mail(raw)
        return (mail.subject, mail.text, mail.html, [(a.name, a.data) for a in mail.attachments])

    for raw in samples:
        monkeypatch.setattr(mail_module, "BLOB_MIN", 10**12)
        plain = summary(raw)
        monkeypatch.setattr(mail_module, "BLOB_MIN", 1)
        assert summary(raw) == plain
