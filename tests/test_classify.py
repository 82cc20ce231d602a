"""classify_automatic: every signal on its own, and mail a person wrote staying a person's."""

from __future__ import annotations

import pytest

from parsers.classify import (
    AUTO_SIGNALS,
    BOUNCE_SIGNALS,
    automatic_signals,
    classify_automatic,
    is_list_or_noreply,
)
from parsers.mail import parse_mail
from samples.mail import build_dsn, build_forward, build_simple, build_submission

PERSON = [("From", "张三 <zhangsan@sthjj.beijing.gov.cn>"), ("To", "zmzyz@ceec.cn")]


def classify(headers: list[tuple[str, str]], body: str = "hello", ctype: str = "") -> str | None:
    raw = build_simple(headers, body, ctype) if ctype else build_simple(headers, body)
    return classify_automatic(parse_mail(raw))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # RFC 3834
        ([("Auto-Submitted", "auto-replied")], "auto_reply"),
        ([("Auto-Submitted", "auto-generated")], "auto_reply"),
        ([("Auto-Submitted", "auto-notified; owner-email=x@y")], "auto_reply"),
        ([("Auto-Submitted", "auto-generated (failure)")], "bounce"),
        ([("Precedence", "bulk")], "auto_reply"),
        ([("Precedence", "junk")], "auto_reply"),
        ([("Precedence", "list")], "auto_reply"),
        ([("Precedence", "auto_reply")], "auto_reply"),
        ([("List-Id", "<news.example.org>")], "auto_reply"),
        ([("List-Unsubscribe", "<mailto:leave@example.org>")], "auto_reply"),
        ([("Return-Path", "<>")], "auto_reply"),
        ([("X-Autoreply", "yes")], "auto_reply"),
        ([("X-Autorespond", "x")], "auto_reply"),
        ([("X-Failed-Recipients", "a@b.cn")], "bounce"),
    ],
)
def test_header_signals(headers: list[tuple[str, str]], expected: str) -> None:
    assert classify([*PERSON, ("Subject", "北京市申报材料"), *headers]) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("自动回复: 北京市低碳发展典型案例申报材料", "auto_reply"),
        ("自动答复：北京市申报材料", "auto_reply"),
        ("Automatic reply: 申报材料", "auto_reply"),
        ("Auto Reply: hello", "auto_reply"),
        ("Auto-Reply: hello", "auto_reply"),
        ("Out of Office: hello", "auto_reply"),
        ("休假中", "auto_reply"),
        ("[AUTO GENERATED] Some subject", "auto_reply"),
        ("Undeliverable: 北京市申报材料", "bounce"),
        ("Delivery Status Notification (Failure)", "bounce"),
        ("系统退信", "bounce"),
        ("退信：北京市申报材料", "bounce"),
        ("Mail delivery failed: returning message to sender", "bounce"),
        ("Returned mail: see transcript for details", "bounce"),
        ("Undelivered Mail Returned to Sender", "bounce"),
        ("failure notice", "bounce"),
        ("邮件投递失败", "bounce"),
    ],
)
def test_subject_signals(subject: str, expected: str) -> None:
    assert classify([*PERSON, ("Subject", subject)]) == expected


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("MAILER-DAEMON@mx.qq.com", "bounce"),
        ("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "bounce"),
        ("postmaster@163.com", "bounce"),
        ("MAILER-DAEMON", "bounce"),
        ('"Jetmail System" <>', "bounce"),
        ("noreply@example.com", "auto_reply"),
        ("no-reply@example.com", "auto_reply"),
        ("do-not-reply@example.com", "auto_reply"),
        ("DoNotReply@example.com", "auto_reply"),
        ("notifications@github.com", "auto_reply"),
    ],
)
def test_sender_signals(sender: str, expected: str) -> None:
    assert classify([("From", sender), ("Subject", "hello")]) == expected


def test_delivery_status_report_is_bounce() -> None:
    dsn = build_dsn(build_submission())
    mail = parse_mail(dsn)
    assert mail.content_type == "multipart/report"
    assert classify_automatic(mail) == "bounce"
    assert ("bounce", "multipart/report delivery-status") in automatic_signals(mail)


def test_read_receipt_report_is_auto_reply() -> None:
    ctype = 'multipart/report; report-type=disposition-notification; boundary="b"'
    body = "--b\r\nContent-Type: text/plain\r\n\r\nread\r\n--b--"
    assert classify([*PERSON, ("Subject", "x")], body, ctype) == "auto_reply"


def test_dsn_text_counts_only_from_machine_senders() -> None:
    body = "Could not be delivered to: <a@b.cn>\r\nAs their mailbox is full."
    assert classify([("From", "no-reply@mail.example.jp"), ("Subject", "x")], body) == "bounce"
    assert classify([*PERSON, ("Subject", "退回的邮件，请帮忙看看")], body) is None


@pytest.mark.parametrize(
    "headers",
    [
        [("Subject", "北京市低碳发展典型案例申报材料")],
        [("Subject", "回复：北京市低碳发展典型案例申报材料")],
        [("Subject", "Re: Fw: 北京市申报材料")],
        [("Subject", "x"), ("Auto-Submitted", "no")],
        # Exchange adds this to mail a person wrote (Discourse quirks_exchange_xars.eml).
        [("Subject", "x"), ("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply")],
        [("Subject", "x"), ("Disposition-Notification-To", "zhangsan@qq.com")],
        [("Subject", "x"), ("Return-Path", "<zhangsan@sthjj.beijing.gov.cn>")],
        [("Subject", "x"), ("Precedence", "first-class")],
    ],
)
def test_person_mail_is_none(headers: list[tuple[str, str]]) -> None:
    assert classify([*PERSON, *headers]) is None


def test_submission_and_forwarded_bounce_stay_a_persons() -> None:
    # A unit forwarding a bounce it got, asking what to do, is still a person writing.
    assert classify_automatic(parse_mail(build_submission())) is None
    forwarded = build_forward(build_dsn(build_submission()), body="我们收到了退信，请问怎么办？")
    assert classify_automatic(parse_mail(forwarded)) is None


def test_is_list_or_noreply() -> None:
    assert is_list_or_noreply(parse_mail(build_simple([*PERSON, ("List-Id", "<l.example>")])))
    assert is_list_or_noreply(parse_mail(build_simple([("From", "noreply@x.cn")])))
    assert not is_list_or_noreply(parse_mail(build_simple(PERSON)))


def test_signal_tables_are_named_and_unique() -> None:
    names = [name for name, _ in (*BOUNCE_SIGNALS, *AUTO_SIGNALS)]
    assert len(names) == len(set(names))
    assert all(callable(predicate) for _, predicate in (*BOUNCE_SIGNALS, *AUTO_SIGNALS))
