"""Automatic replies: what they say, who gets one, and the outbox states — SQLite and PostgreSQL.

Messages come from the real pipeline (`app.pipeline.ingest`) on mail built by `samples/`,
or, where every finding code must be hit, are written to the store directly.  Until the pipeline
queues replies itself, `ensure_reply` does it; `queue_reply` is idempotent, so the tests hold
either way.
"""

from __future__ import annotations

import dataclasses
import email
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import func, select, update

from intake import sending
from intake.app import App
from intake.replies import queue_reply
from intake.reply_mime import build_reply_mime, header_text, reply_subject
from intake.sending import SendSummary
from parsers.classify import classify_automatic
from parsers.mail import parse_mail
from reports.notices import collect_notice, render_notice
from samples.cases import case_zip, submission
from samples.mail import build_dsn, build_simple, build_submission, encoded_word
from store import models as m
from store import repo
from tests.conftest import make_app
from validators.base import Level, Severity
from validators.registry import all_rules

# 10:00 in Beijing on 1 December 2023: 30 calendar days before the 2023 deadline.
NOW = datetime(2023, 12, 1, 2, 0, tzinfo=UTC)
SENDER = "zhangsan@sthjj.beijing.gov.cn"


# --------------------------------------------------------------------------- helpers


def send_queued(app: App, **kwargs: Any) -> SendSummary:
    """One send run over the App's parts, as `intake send` starts it."""
    return sending.send_queued(app.sessions, app.blobs, app.settings, app.campaign, **kwargs)


def ingest(app: App, raw: bytes) -> int:
    """Run the real pipeline; the stored message's primary key."""
    app.pipeline.ingest(raw)
    with app.sessions() as s:
        pk = s.scalar(
            select(m.Message.id).where(m.Message.raw_sha256 == hashlib.sha256(raw).hexdigest())
        )
        if pk is None:  # a duplicate by Message-ID: the earlier row stands for it
            pk = s.scalar(select(m.Message.id).order_by(m.Message.id.desc()).limit(1))
        assert pk is not None
        return pk


def ensure_reply(app: App, message_pk: int, *, now: datetime | None = None) -> m.Reply | None:
    """The message's reply, queued here unless the pipeline already did."""
    with app.sessions() as s, s.begin():
        msg = s.get_one(m.Message, message_pk)
        return queue_reply(s, app.campaign, app.settings, msg, now=now)


def parts(app: App, reply: m.Reply) -> tuple[EmailMessage, str, str]:
    """The queued MIME message and its decoded text and HTML bodies."""
    assert reply.raw_sha256
    raw = app.blobs.get(reply.raw_sha256)
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    return msg, str(text_part.get_content()), str(html_part.get_content())


def replies(app: App) -> list[m.Reply]:
    with app.sessions() as s:
        return list(s.scalars(select(m.Reply).order_by(m.Reply.id)))


def stored_message(
    app: App,
    *,
    unit: str | None = "北京市",
    kind: str = "submission",
    sender: str = SENDER,
    subject: str = "北京市低碳发展典型案例申报材料",
    findings: list[dict[str, Any]] = (),  # type: ignore[assignment]
    case_name: str = "测试园区",
) -> int:
    """A processed message with one case (2 photos, 1 video) and the given findings."""
    with app.sessions() as s, s.begin():
        unit_row = repo.get_or_create_unit(s, unit) if unit else None
        msg = m.Message(
            raw_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            message_id=f"{uuid.uuid4().hex}@example.gov.cn",
            sender=sender,
            sender_name="王五",
            subject=subject,
            kind=kind,
            state="processed",
            unit=unit_row,
            received_at=NOW,
        )
        s.add(msg)
        s.flush()
        case = m.Case(
            unit=unit_row,
            message=msg,
            key=f"{unit or ''}{case_name}推荐材料.zip",
            name=case_name,
            category="park",
            applicant="测试管理委员会",
            status="deficient",
            fields={},
        )
        s.add(case)
        s.flush()
        for role, name, duration in (
            ("photo", "照片1（屋顶）.jpg", None),
            ("photo", "照片2（储能）.jpg", None),
            ("video", "视频.mp4", 185.4),
        ):
            s.add(
                m.File(
                    message_id=msg.id,
                    case_id=case.id,
                    role=role,
                    name=name,
                    path=f"{case.key}/{name}",
                    size=1000,
                    sha256="0" * 64,
                    duration_s=duration,
                    probe={},
                )
            )
        for f in findings:
            level = f["level"]
            s.add(
                m.Finding(
                    level=level,
                    code=f["code"],
                    severity=f["severity"],
                    detail=f.get("detail", ""),
                    file=f.get("file"),
                    message_id=msg.id if level != "unit" else None,
                    case_id=case.id if level == "case" else None,
                    unit_id=unit_row.id if unit_row is not None else None,
                )
            )
        return msg.id


def finding(code: str, detail: str = "", file: str | None = None) -> dict[str, Any]:
    rule = next(r for r in all_rules() if r.code == code)
    return {
        "code": code,
        "severity": rule.severity.value,
        "level": rule.level.value,
        "detail": detail,
        "file": file,
    }


def counts_of(app: App, model: type) -> int:
    with app.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


UNIT_FACING = [r for r in all_rules() if not r.staff_only]
STAFF_ONLY = [r for r in all_rules() if r.staff_only]


# --------------------------------------------------------------------------- content


def test_receipt_lists_every_case_with_counts_and_next_steps(app: App) -> None:
    raw = submission(
        "北京市",
        zips=[
            case_zip("北京市", "光伏园区", video_seconds=5),
            case_zip("北京市", "零碳社区", category="community", videos=0),
        ],
    )
    reply = ensure_reply(app, ingest(app, raw))
    assert reply is not None and reply.kind == "receipt", reply and reply.kind
    msg, text, html = parts(app, reply)
    for body in (text, html):
        assert "光伏园区" in body and "零碳社区" in body
        assert "北京市光伏园区管理有限公司" in body  # applicant from the form
        assert "园区" in body and "社区" in body
        assert "3 张" in body  # photos
        assert "0:05" in body  # the video's length
        assert "还差 1 个" in body  # 1 park case against the 2–3 quota
        assert "尚未报送" in body  # enterprise: none yet
        assert "重新报送的案例将替换此前报送的同名案例" in body
        assert "需要补正" not in body
        assert "生态环境部宣传教育中心" in body and "010-84665633" in body
    assert "后续安排" in text
    assert msg["Content-Language"] == "zh-CN"


def test_deficiency_names_problem_file_limit_deadline_and_resubmission(app: App) -> None:
    raw = submission(
        "北京市", zips=[case_zip("北京市", "光伏园区", photos=2, scan=False, videos=0)]
    )
    reply = ensure_reply(app, ingest(app, raw))
    assert reply is not None and reply.kind == "deficiency"
    _, text, html = parts(app, reply)
    for body in (text, html):
        assert "照片数量不符合要求" in body
        assert "收到 2 张照片，要求 3–5 张" in body  # what was found against what limit
        assert "缺少加盖公章的推荐表扫描件" in body
        assert "修改方法" in body
        assert "2023年12月31日 23:59" in body
        assert "重新报送的案例将替换此前报送的同名案例" in body
        assert "光伏园区" in body


def test_days_left_counts_calendar_days_in_beijing(app: App) -> None:
    # Issue 10: the days left are counted from when the mail arrived, not from the clock at
    # answer time (a backfill or the demo answers long after).
    pk = stored_message(app, findings=[finding("PHOTO_COUNT", "收到 2 张照片")])
    later = datetime(2026, 5, 1, tzinfo=UTC)

    def answer(received: datetime) -> Any:
        with app.sessions() as s, s.begin():
            msg = s.get_one(m.Message, pk)
            msg.received_at = received
            s.flush()
            return render_notice(collect_notice(s, app.campaign, msg, later))

    before = answer(NOW)
    last_day = answer(datetime(2023, 12, 31, 1, tzinfo=UTC))
    after = answer(datetime(2024, 1, 1, 1, tzinfo=UTC))
    backfill = answer(datetime(2023, 12, 6, 2, tzinfo=UTC))
    assert "还剩 30 天" in before.text and "还剩" in before.html
    assert "今天截止" in last_day.text
    assert "已过截止时间" in after.text
    assert "还剩 25 天" in backfill.text and "已过截止时间" not in backfill.text


@pytest.mark.parametrize("rule", UNIT_FACING, ids=lambda r: r.code)
def test_every_unit_facing_code_reaches_the_notice(app: App, rule: Any) -> None:
    detail = f"检测细节-{rule.code}-第3栏"
    file = f"北京市测试园区推荐材料.zip/{rule.code}.docx" if rule.level is Level.CASE else None
    pk = stored_message(
        app,
        findings=[
            finding(rule.code, detail, file),
            # an error in any case, so that the answer is a deficiency notice
            finding("PHOTO_COUNT", "收到 2 张照片，要求 3–5 张"),
        ],
    )
    reply = ensure_reply(app, pk)
    assert reply is not None and reply.kind == "deficiency"
    _, text, html = parts(app, reply)
    for body, esc in ((text, str), (html, lambda v: str(escape(v)))):
        reason, fix = rule.texts(app.campaign)  # issue 10: texts are the campaign's
        assert esc(reason) in body, rule.code
        assert esc(fix) in body, rule.code
        assert esc(detail) in body, rule.code
        if file:
            assert esc(file) in body
    if rule.severity is Severity.ERROR and rule.level is not Level.UNIT:
        # an error on the mail or a case alone makes the answer a deficiency notice
        pk2 = stored_message(app, sender="other@example.gov.cn", findings=[finding(rule.code, "x")])
        again = ensure_reply(app, pk2)
        assert again is not None and again.kind == "deficiency"


@pytest.mark.parametrize("rule", STAFF_ONLY, ids=lambda r: r.code)
def test_staff_only_codes_never_reach_the_unit(app: App, rule: Any) -> None:
    detail = f"内部细节-{rule.code}"
    pk = stored_message(
        app, findings=[finding(rule.code, detail), finding("PHOTO_COUNT", "收到 2 张照片")]
    )
    reply = ensure_reply(app, pk)
    assert reply is not None and reply.kind == "deficiency"
    _, text, html = parts(app, reply)
    for body in (text, html):
        assert detail not in body
        assert rule.reason not in body and str(escape(rule.fix)) not in body
        assert rule.fix not in body
    # A message whose only problems are ours gets a receipt.
    pk2 = stored_message(app, sender="other@example.gov.cn", findings=[finding(rule.code, detail)])
    receipt = ensure_reply(app, pk2)
    assert receipt is not None and receipt.kind == "receipt"
    assert detail not in parts(app, receipt)[1]


def test_running_count_spans_messages_and_ignores_superseded(app: App) -> None:
    first = ingest(app, submission("天津市", zips=[case_zip("天津市", "光伏园区", videos=0)]))
    ensure_reply(app, first)
    second_raw = submission(
        "天津市",
        zips=[case_zip("天津市", "储能园区", videos=0)],
        message_id="<second@tj.gov.cn>",
    )
    reply = ensure_reply(app, ingest(app, second_raw))
    assert reply is not None
    _, text, _ = parts(app, reply)
    assert "园区：2 个（符合要求）" in text
    # The same case again replaces the earlier one: the count does not grow.
    third_raw = submission(
        "天津市",
        zips=[case_zip("天津市", "储能园区", videos=0)],
        message_id="<third@tj.gov.cn>",
    )
    third = ensure_reply(app, ingest(app, third_raw))
    assert third is not None
    _, text3, _ = parts(app, third)
    assert "园区：2 个（符合要求）" in text3
    assert "重新报送，已替换此前的版本" in text3


# --------------------------------------------------------------------------- headers


def test_threading_headers_and_encoding(app: App) -> None:
    raw = build_submission(
        subject="Re: 回复：北京市低碳发展典型案例申报材料",
        attachments=[case_zip("北京市", "光伏园区", videos=0)],
        message_id="<orig-1@sthjj.beijing.gov.cn>",
        extra_headers=[("References", "<a-0@qq.com> <b-0@qq.com>")],
    )
    reply = ensure_reply(app, ingest(app, raw))
    assert reply is not None and reply.raw_sha256
    msg, text, _ = parts(app, reply)
    assert msg["In-Reply-To"] == "<orig-1@sthjj.beijing.gov.cn>"
    assert msg["References"].split() == [
        "<a-0@qq.com>",
        "<b-0@qq.com>",
        "<orig-1@sthjj.beijing.gov.cn>",
    ]
    assert msg["Subject"] == "Re: 北京市低碳发展典型案例申报材料"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Message-ID"].endswith("@ceec.cn>")
    assert reply.our_message_id == msg["Message-ID"].strip("<>")
    assert msg["From"].addresses[0].addr_spec == "zmzyz@ceec.cn"
    assert msg["From"].addresses[0].display_name == "生态环境部宣传教育中心"
    assert msg["To"].addresses[0].addr_spec == SENDER
    assert msg["Date"] is not None
    # Strict relays: 7-bit headers (RFC 2047) and base64 bodies, never 8bit.
    stored = app.blobs.get(reply.raw_sha256)
    head = stored.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert stored.isascii()
    for part in msg.walk():
        if not part.is_multipart():
            assert part["Content-Transfer-Encoding"] == "base64"
            assert part.get_content_charset() == "utf-8"
    assert msg.get_content_type() == "multipart/alternative"
    assert "光伏园区" in text
    # Should our reply ever come back to the inbox, it is never answered in turn.
    assert classify_automatic(parse_mail(stored)) == "auto_reply"


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("北京市低碳发展典型案例申报材料", "Re: 北京市低碳发展典型案例申报材料"),
        ("RE: re:北京材料", "Re: 北京材料"),
        ("回复：答复: 北京材料", "Re: 北京材料"),
        ("", "Re: 兜底主题"),
        ("北京\r\nBcc: x@evil.example", "Re: 北京 Bcc: x@evil.example"),
    ],
)
def test_reply_subject(original: str, expected: str) -> None:
    assert reply_subject(original, "兜底主题") == expected


def test_reply_subject_never_says_automatic() -> None:
    assert "自动回复" not in reply_subject("自动回复：北京", "北京市低碳发展典型案例申报材料")


def test_submitted_names_never_break_headers(app: App) -> None:
    evil_name = "张三\r\nBcc: victim@evil.example\r\nX-Injected: 1"
    evil_subject = "北京市低碳发展典型案例申报材料\r\nBcc: victim2@evil.example"
    # CR/LF hidden in RFC 2047 words, as a hostile or broken mailer could send them ...
    raw = build_submission(
        subject=evil_subject,
        sender=(evil_name, SENDER),
        attachments=[case_zip("北京市", "光伏园区", videos=0)],
    )
    pk = ingest(app, raw)
    # ... and, whatever the parser made of them, the raw strings themselves in the store.
    with app.sessions() as s, s.begin():
        row = s.get_one(m.Message, pk)
        row.sender_name, row.subject = evil_name, evil_subject
        s.execute(
            update(m.Case)
            .where(m.Case.message_id == pk)
            .values(name="<script>alert(1)</script>\r\nX-Case: 1")
        )
        existing = s.scalar(select(m.Reply).where(m.Reply.message_id == pk))
        if existing is not None:  # queued by the pipeline before we edited the names
            s.delete(existing)
    reply = ensure_reply(app, pk)
    assert reply is not None and reply.raw_sha256
    stored = app.blobs.get(reply.raw_sha256)
    head = stored.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line[:1].strip()]
    assert "bcc" not in names and "x-injected" not in names and "x-case" not in names
    msg, text, html = parts(app, reply)
    assert [a.addr_spec for a in msg["To"].addresses] == [SENDER]
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert "<script>" not in html and "&lt;script&gt;" in html  # autoescaped
    assert "<script>alert(1)</script> X-Case: 1" in text  # flattened to one line in text


def test_header_text_strips_controls() -> None:
    assert header_text("a\r\nb\x00c\u202ed\te") == "a b c d e"


def test_build_reply_mime_drops_malformed_message_ids() -> None:
    mime = build_reply_mime(
        text="正文",
        html="<p>正文</p>",
        from_name="办公室",
        from_addr="office@ceec.cn",
        to_name="张三",
        to_addr=SENDER,
        subject="Re: 主题",
        in_reply_to="bad id>\r\nX-Evil: 1",
        references=[],
        when=NOW,
    )
    assert mime["In-Reply-To"] is None and mime["References"] is None
    assert "X-Evil" not in mime.as_string()


# --------------------------------------------------------------------------- guards


def test_auto_reply_bounce_list_and_noreply_get_no_answer(app: App) -> None:
    auto = build_simple(
        [
            ("From", f"张三 <{SENDER}>"),
            ("To", "zmzyz@ceec.cn"),
            ("Subject", encoded_word("自动回复：北京市低碳发展典型案例申报材料")),
            ("Auto-Submitted", "auto-replied"),
            ("Message-ID", "<auto-1@beijing.gov.cn>"),
        ]
    )
    bounce = build_dsn(b"Subject: x\r\n\r\nbody\r\n")
    listed = build_submission(
        message_id="<list-1@lists.example.org>",
        extra_headers=[("List-Id", "<lowcarbon.lists.example.org>")],
    )
    noreply = build_submission(
        sender=("系统", "noreply@sthjj.beijing.gov.cn"), message_id="<nr-1@beijing.gov.cn>"
    )
    for raw in (auto, bounce, listed, noreply):
        pk = ingest(app, raw)
        assert ensure_reply(app, pk) is None
    assert replies(app) == []


def test_our_own_address_gets_no_answer(app: App) -> None:
    pk = stored_message(app, sender="zmzyz@ceec.cn", findings=[finding("PHOTO_COUNT", "x")])
    assert ensure_reply(app, pk) is None


def test_unknown_unit_and_other_mail_go_to_staff(app: App) -> None:
    unknown = stored_message(app, unit=None, findings=[finding("UNIT_UNKNOWN", "主题：材料")])
    other = stored_message(app, unit=None, kind="other", sender="someone@example.com")
    assert ensure_reply(app, unknown) is None
    assert ensure_reply(app, other) is None


def test_guidance_reply_when_the_campaign_enables_it(app: App) -> None:
    app.__dict__["campaign"] = dataclasses.replace(app.campaign, guidance_reply=True)
    unknown = stored_message(app, unit=None, findings=[finding("UNIT_UNKNOWN", "主题：材料")])
    other = stored_message(app, unit=None, kind="other", sender="someone@example.com")
    bounce = stored_message(app, unit=None, kind="bounce", sender="someone2@example.com")
    r1, r2 = ensure_reply(app, unknown), ensure_reply(app, other)
    assert r1 is not None and r1.kind == "guidance"
    assert r2 is not None and r2.kind == "guidance"
    assert ensure_reply(app, bounce) is None
    _, text, html = parts(app, r1)
    assert "未能从这封邮件中确定推荐单位" in text
    assert "XX省低碳发展典型案例申报材料" in text
    assert "5 MB" in text and "3 分钟" in text
    _, text2, _ = parts(app, r2)
    assert "看起来不是推荐材料" in text2


def test_rate_limit_per_address_per_day(app: App) -> None:
    limit = app.settings.replies_per_address_per_day
    pks = [
        ingest(app, build_submission(message_id=f"<rl-{i}@beijing.gov.cn>"))
        for i in range(limit + 1)
    ]
    got = [ensure_reply(app, pk) for pk in pks]
    assert all(r is not None for r in got[:limit])
    assert got[limit] is None
    assert counts_of(app, m.Reply) == limit
    # A day later the address may be answered again.
    later = datetime.now(UTC) + timedelta(hours=25)
    assert ensure_reply(app, pks[limit], now=later) is not None


def test_duplicate_message_gets_one_reply(app: App) -> None:
    raw = build_submission(message_id="<dup-1@beijing.gov.cn>")
    pk = ingest(app, raw)
    first = ensure_reply(app, pk)
    # The same mail again (same bytes; then same Message-ID with other bytes) is a duplicate.
    assert app.pipeline.ingest(raw) == "duplicate"
    resent = build_submission(message_id="<dup-1@beijing.gov.cn>", body="再次发送 13800000000")
    assert app.pipeline.ingest(resent) == "duplicate"
    second = ensure_reply(app, pk)
    assert first is not None and second is not None and first.id == second.id
    assert counts_of(app, m.Reply) == 1


# --------------------------------------------------------------------------- templates


def test_staff_templates_override_bundled_ones(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "notice_signature.txt.j2").write_text(
        "联系人：{{ office.contact }}\n——工作组（自定义落款）\n", encoding="utf-8"
    )
    app = make_app(tmp_path, db_url, templates_dir=str(folder))
    try:
        reply = ensure_reply(app, stored_message(app, findings=[finding("PHOTO_COUNT", "x")]))
        assert reply is not None
        _, text, html = parts(app, reply)
        assert "自定义落款" in text
        assert "自定义落款" not in html  # only the text signature was overridden
        assert "照片数量不符合要求" in text
    finally:
        app.engine.dispose()


def test_broken_staff_template_falls_back_to_bundled(tmp_path: Path, sqlite_app: App) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "notice_deficiency.txt.j2").write_text("{{ no_such_variable }}", encoding="utf-8")
    sqlite_app.settings.templates_dir = folder
    reply = ensure_reply(sqlite_app, stored_message(sqlite_app, findings=[finding("PHOTO_COUNT")]))
    assert reply is not None
    assert "照片数量不符合要求" in parts(sqlite_app, reply)[1]


# --------------------------------------------------------------------------- outbox states


def test_dry_run_writes_eml_files_and_marks_sent(app: App) -> None:
    assert app.settings.dry_run  # the embedded default
    pk = stored_message(app, findings=[finding("PHOTO_COUNT", "收到 2 张照片")])
    reply = ensure_reply(app, pk)
    assert reply is not None and reply.state == "queued" and reply.raw_sha256
    summary = send_queued(app)
    assert (summary.sent, summary.failed, summary.unknown) == (1, 0, 0)
    assert summary.ok and "sent 1" in summary.line()
    [written] = sorted(app.settings.outbox.glob("*.eml"))
    assert written.name.startswith(f"{reply.id}-deficiency-")
    assert written.read_bytes() == app.blobs.get(reply.raw_sha256)
    assert not list(app.settings.outbox.glob(".tmp-*"))
    [after] = replies(app)
    assert after.state == "sent" and after.sent_at is not None and after.attempts == 1
    # Nothing is sent twice.
    again = send_queued(app)
    assert again.sent == 0
    assert len(list(app.settings.outbox.glob("*.eml"))) == 1


def test_dry_run_reply_left_sending_without_its_file_is_queued_again(app: App) -> None:
    # Issue 12 changed this: in dry-run nothing left the machine, so a reply whose outbox file
    # was never written goes back to `queued` (SMTP's `unknown` is tested in test_send_smtp).
    pk = stored_message(app, findings=[finding("PHOTO_COUNT", "x")])
    reply = ensure_reply(app, pk)
    assert reply is not None
    with app.sessions() as s, s.begin():
        row = s.get_one(m.Reply, reply.id)
        row.state, row.attempts = "sending", 1  # what a run killed mid-write leaves behind
    summary = send_queued(app)
    assert summary.unknown == 0 and summary.sent == 1 and summary.ok
    [after] = replies(app)
    assert after.state == "sent"
    assert len(list(app.settings.outbox.glob("*.eml"))) == 1
    assert send_queued(app).sent == 0


def test_dry_run_reply_left_sending_with_its_file_is_sent_not_rewritten(app: App) -> None:
    pk = stored_message(app, findings=[finding("PHOTO_COUNT", "x")])
    reply = ensure_reply(app, pk)
    assert reply is not None
    assert send_queued(app).sent == 1
    with app.sessions() as s, s.begin():
        row = s.get_one(m.Reply, reply.id)
        row.state = "sending"  # killed after the file was renamed into place
    [written] = app.settings.outbox.glob("*.eml")
    stamp = written.stat().st_mtime_ns
    summary = send_queued(app)
    assert summary.sent == 0 and summary.unknown == 0
    assert replies(app)[0].state == "sent" and written.stat().st_mtime_ns == stamp


def test_send_command_prints_a_summary(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake.cli import main

    app = make_app(tmp_path, db_url)
    try:
        ensure_reply(app, stored_message(app, findings=[finding("PHOTO_COUNT", "x")]))
    finally:
        app.engine.dispose()
    for key in [k for k in __import__("os").environ if k.startswith("INTAKE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("INTAKE_DATABASE_URL", db_url)
    assert main(["send"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("replies: sent 1") and "dry-run" in out
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 1


def test_send_without_smtp_host_is_a_configuration_error(tmp_path: Path) -> None:
    from intake.config import ConfigError

    app = make_app(tmp_path, dry_run="false")
    try:
        with pytest.raises(ConfigError):
            send_queued(app)
    finally:
        app.engine.dispose()


def test_summary_line() -> None:
    s = SendSummary(sent=2, retrying=1, failed=1, where="SMTP x:25 (none)")
    assert s.line() == "replies: sent 2, 1 to retry, 1 failed via SMTP x:25 (none)"
    assert not s.ok
