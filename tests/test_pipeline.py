"""From a raw message to stored, grouped cases — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from intake.app import App
from samples.archives import make_zip
from samples.cases import case_files, case_zip, submission
from samples.mail import build_submission
from store import models as m


def codes(app: App, level: str | None = None) -> list[str]:
    with app.sessions() as s:
        q = select(m.Finding.code)
        if level:
            q = q.where(m.Finding.level == level)
        return sorted(s.scalars(q))


def cases(app: App) -> list[m.Case]:
    with app.sessions() as s:
        rows = s.scalars(select(m.Case).order_by(m.Case.id)).all()
        for c in rows:
            _ = c.files, c.unit
        return list(rows)


def count(app: App, model: type) -> int:
    with app.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_gbk_zip_case_is_stored_with_roles(app: App) -> None:
    assert app.pipeline.ingest(submission("北京市")) == "processed"
    [case] = cases(app)
    assert case.unit is not None and case.unit.name == "北京市"
    assert case.name == "光伏园区"
    roles = sorted(f.role for f in case.files)
    assert roles == ["form_scan", "form_word", "photo", "photo", "photo", "video"]
    names = {f.name for f in case.files}
    assert "北京市光伏园区推荐表.docx" in names  # decoded from GBK bytes without the UTF-8 flag
    assert case.category == "park"
    assert case.status == "complete", codes(app)
    # every extracted file and the raw message are in the blob store
    for f in case.files:
        assert app.blobs.get(f.sha256)
    with app.sessions() as s:
        msg = s.scalars(select(m.Message)).one()
        assert msg.kind == "submission" and msg.state == "processed"
        assert app.blobs.exists(msg.raw_sha256)


def test_same_message_twice_changes_nothing(app: App) -> None:
    raw = submission("天津市")
    assert app.pipeline.ingest(raw) == "processed"
    before = (count(app, m.Message), count(app, m.Case), count(app, m.File), count(app, m.Finding))
    assert app.pipeline.ingest(raw) == "duplicate"
    # same Message-ID and sender, other bytes (e.g. a copy with an extra Received header)
    assert (
        app.pipeline.ingest(b"Received: from relay; Mon, 4 Dec 2023 10:00:00 +0800\r\n" + raw)
        == "duplicate"
    )
    after = (count(app, m.Message), count(app, m.Case), count(app, m.File), count(app, m.Finding))
    assert before == after


def test_big_zip_with_a_folder_per_case(app: App) -> None:
    entries: dict[str, bytes] = {}
    for name in ("光伏园区", "零碳工厂"):
        for path, data in case_files("河北省", name).items():
            entries[f"河北省申报材料/{path}"] = data
    entries["河北省申报材料/河北省推荐名单.pdf"] = b"%PDF-1.4\n%%EOF\n"
    raw = submission("河北省", zips=[("河北省申报材料.zip", make_zip(entries, gbk_names=True))])
    assert app.pipeline.ingest(raw) == "processed"
    got = cases(app)
    assert sorted(c.name for c in got) == ["光伏园区", "零碳工厂"]
    assert all(len(c.files) == 6 for c in got)
    with app.sessions() as s:
        lists = s.scalars(select(m.File).where(m.File.role == "list")).all()
        assert [f.case_id for f in lists] == [None]


def test_several_case_zips_in_one_mail(app: App) -> None:
    raw = submission(
        "山西省", zips=[case_zip("山西省", "煤矿转型"), case_zip("山西省", "低碳社区")]
    )
    app.pipeline.ingest(raw)
    assert sorted(c.name for c in cases(app)) == ["低碳社区", "煤矿转型"]


def test_structural_findings(app: App) -> None:
    entries = case_files("辽宁省", "钢铁减碳", photos=2, videos=4, scan=False)
    entries["辽宁省钢铁减碳推荐材料/现场.jpg"] = entries.pop(
        "辽宁省钢铁减碳推荐材料/辽宁省钢铁减碳照片1（现场实景1）.jpg"
    )
    no_word = {k: v for k, v in case_files("辽宁省", "社区").items() if not k.endswith(".docx")}
    raw = submission(
        "辽宁省",
        zips=[
            ("辽宁省钢铁减碳推荐材料.zip", make_zip(entries, gbk_names=True)),
            ("辽宁省社区推荐材料.zip", make_zip(no_word, gbk_names=True)),
        ],
    )
    app.pipeline.ingest(raw)
    found = codes(app, "case")
    for code in (
        "FORM_SCAN_MISSING",
        "PHOTO_COUNT",
        "VIDEO_COUNT",
        "FILE_NAMING",
        "FORM_WORD_MISSING",
    ):
        assert code in found
    statuses = {c.name: c.status for c in cases(app)}
    assert set(statuses.values()) == {"deficient"}


def test_message_findings(app: App) -> None:
    app.pipeline.ingest(
        build_submission(subject="北京低碳发展典型案例申报材料", body="请查收", attachments=[])
    )
    assert {"SUBJECT_FORMAT", "CONTACT_MISSING", "NO_MATERIALS"} <= set(codes(app, "message"))


def test_unknown_unit_and_late(app: App) -> None:
    raw = build_submission(
        # Names the call but no unit (issue 11: mail that names no call is `other`).
        subject="低碳典型案例申报材料",
        sender=("某人", "someone@qq.com"),
        attachments=[("材料.zip", make_zip({"a/推荐表.docx": b"PK\x03\x04x"}))],
        date="Tue, 02 Jan 2024 10:00:00 +0800",
        message_id="<late-1@qq.com>",
    )
    app.pipeline.ingest(raw)
    got = codes(app, "message")
    assert "UNIT_UNKNOWN" in got and "LATE" in got
    with app.sessions() as s:
        assert s.scalars(select(m.Message)).one().unit_id is None


def test_unit_from_sender_history_then_file_names(app: App) -> None:
    app.pipeline.ingest(
        submission("吉林省", sender=("李四", "lisi@163.com"), message_id="<a@163.com>")
    )
    app.pipeline.ingest(
        submission(
            "吉林省",
            subject="补充材料",
            sender=("李四", "lisi@163.com"),
            message_id="<b@163.com>",
            zips=[case_zip("吉林省", "湿地")],
        )
    )
    app.pipeline.ingest(
        submission(
            "江西省",
            subject="补充材料",
            sender=("王五", "wangwu@126.com"),
            message_id="<c@126.com>",
            zips=[case_zip("江西省", "竹林碳汇")],
        )
    )
    with app.sessions() as s:
        units = [
            msg.unit.name if msg.unit else None
            for msg in s.scalars(select(m.Message).order_by(m.Message.id))
        ]
    assert units == ["吉林省", "吉林省", "江西省"]
    assert "UNIT_UNKNOWN" not in codes(app)


def test_archive_unreadable_and_cloud_link(app: App) -> None:
    body = (
        "联系人：张三 电话：13812345678 邮箱：zs@example.cn\n"
        "从QQ邮箱发来的超大附件\n浙江省推荐材料.zip (1.2G, 2023年12月30日 10:00 到期)\n"
        "进入下载页面：https://mail.qq.com/cgi-bin/ftnExs_download?k=abc&t=exs_ftn_download\n"
    )
    raw = build_submission(
        subject="浙江省低碳发展典型案例申报材料",
        body=body,
        attachments=[("坏.zip", b"PK\x03\x04" + b"\x00" * 40)],
    )
    app.pipeline.ingest(raw)
    got = codes(app, "message")
    assert "CLOUD_LINK" in got and "ARCHIVE_UNREADABLE" in got


def test_auto_reply_is_ignored(app: App) -> None:
    raw = build_submission(
        subject="自动回复：您的邮件已收到",
        attachments=[],
        extra_headers=[("Auto-Submitted", "auto-replied")],
    )
    assert app.pipeline.ingest(raw) == "ignored"
    with app.sessions() as s:
        msg = s.scalars(select(m.Message)).one()
    assert (msg.kind, msg.state) == ("auto_reply", "ignored")
    assert codes(app) == []


def test_crash_quarantines_and_keeps_raw(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    import intake.pipeline as pipeline_module

    def explode(*_a: object, **_k: object) -> object:
        raise RuntimeError("grouping exploded")

    monkeypatch.setattr(pipeline_module, "group_files", explode)
    raw = submission("上海市")
    assert app.pipeline.ingest(raw) == "quarantined"
    with app.sessions() as s:
        msg = s.scalars(select(m.Message)).one()
        assert msg.state == "quarantined" and "grouping exploded" in (msg.error or "")
        assert app.blobs.exists(msg.raw_sha256)
        assert s.scalar(select(func.count()).select_from(m.Case)) == 0
    # the same bytes again do not loop on the poison message
    assert app.pipeline.ingest(raw) == "duplicate"


def test_loose_attachments_are_one_case(app: App) -> None:
    files = case_files("安徽省", "秸秆利用", folder="")
    raw = build_submission(
        subject="安徽省低碳发展典型案例申报材料", attachments=list(files.items())
    )
    app.pipeline.ingest(raw)
    [case] = cases(app)
    assert case.name == "秸秆利用" and len(case.files) == 6


def test_form_in_subfolder_keeps_photos(sqlite_app: App, tmp_path: Path) -> None:
    entries = case_files("福建省", "海上风电")
    moved = {}
    for k, v in entries.items():
        if k.endswith(".docx"):
            k = k.replace("推荐材料/", "推荐材料/推荐表/")
        moved[k] = v
    sqlite_app.pipeline.ingest(
        submission("福建省", zips=[("福建省海上风电推荐材料.zip", make_zip(moved))])
    )
    [case] = cases(sqlite_app)
    assert len(case.files) == 6


def test_inline_signature_logo_is_not_a_photo(app: App) -> None:
    from email.message import EmailMessage

    from samples.photos import make_png

    msg = EmailMessage()
    msg["From"] = "张三 <zs@sthjt.hubei.gov.cn>"
    msg["To"] = "zmzyz@ceec.cn"
    msg["Subject"] = "湖北省低碳发展典型案例申报材料"
    msg["Message-ID"] = "<logo@x>"
    msg.set_content("联系人：张三 电话：13812345678 邮箱：zs@sthjt.hubei.gov.cn")
    msg.add_alternative('<p>联系人：张三</p><img src="cid:logo1">', subtype="html")
    html = msg.get_body(("html",))
    assert isinstance(html, EmailMessage)
    html.add_related(
        make_png(40, 40), "image", "png", cid="<logo1>", filename="logo.png", disposition="inline"
    )
    name, data = case_zip("湖北省", "江豚保护")
    msg.add_attachment(data, maintype="application", subtype="zip", filename=name)
    assert app.pipeline.ingest(msg.as_bytes()) == "processed"
    [case] = cases(app)
    assert sum(f.role == "photo" for f in case.files) == 3
    with app.sessions() as s:
        logo = s.scalars(select(m.File).where(m.File.name == "logo.png")).one()
    assert (logo.role, logo.case_id) == ("other", None)


def test_hostile_headers_and_fields_do_not_break_the_store(app: App) -> None:
    long_id = "<" + "x" * 2000 + "@example.cn>"
    raw = submission(
        "北京市",
        message_id=long_id,
        extra_headers=[("Received", "from a by b; Fri, 31 Dec 9999 23:59:59 -1200")],
        zips=[case_zip("北京市", "长字段", fields={"手机": "13800000000（张三，工作日联系）" * 5})],
    )
    assert app.pipeline.ingest(raw) == "processed"
    assert (
        app.pipeline.ingest(raw.replace(b"\r\nSubject", b"\r\nX-Extra: 1\r\nSubject"))
        == "duplicate"
    )
    [case] = cases(app)
    assert case.mobile is not None and len(case.mobile) == 64
    assert case.fields["手机"].count("张三") == 5  # the full text is kept
    with app.sessions() as s:
        msg = s.scalars(select(m.Message)).one()
    assert msg.received_at is not None and msg.received_at.year == 2023  # from Date instead


def test_a_reused_source_key_is_not_a_duplicate(app: App) -> None:
    first = submission("北京市", message_id="<one@x>")
    second = submission("天津市", message_id="<two@x>")
    assert app.pipeline.ingest(first, source_key="file:/spool/1.eml") == "processed"
    assert app.pipeline.ingest(second, source_key="file:/spool/1.eml") == "processed"
    assert count(app, m.Message) == 2


def test_thanks_in_reply_to_our_notice_is_not_answered(app: App) -> None:
    raw = build_submission(
        subject="回复：Re: 北京市低碳发展典型案例申报材料", body="收到，谢谢！", attachments=[]
    )
    assert app.pipeline.ingest(raw) == "processed"
    with app.sessions() as s:
        msg = s.scalars(select(m.Message)).one()
    assert msg.kind == "other"
    assert codes(app) == [] and count(app, m.Reply) == 0


def _claimed_row(app: App, raw: bytes, owner: str, age_minutes: float) -> None:
    from datetime import UTC, datetime, timedelta

    from store.blobs import sha256_hex

    app.blobs.put(raw)
    with app.sessions() as s, s.begin():
        s.add(
            m.Message(
                raw_sha256=sha256_hex(raw),
                state="received",
                attempts=1,
                claimed_by=owner,
                claimed_at=datetime.now(UTC) - timedelta(minutes=age_minutes),
            )
        )


def test_a_live_claim_elsewhere_is_left_alone(app: App) -> None:
    raw = submission("北京市")
    _claimed_row(app, raw, "another-host:4242", age_minutes=1)
    assert app.pipeline.ingest(raw) == "duplicate"  # being worked on elsewhere
    assert count(app, m.Case) == 0
    assert app.pipeline.resume_stale() == 0


def test_a_dead_claim_is_taken_up(app: App) -> None:
    import socket
    import subprocess

    raw = submission("北京市")
    gone = subprocess.Popen(["true"])
    gone.wait()
    _claimed_row(app, raw, f"{socket.gethostname()}:{gone.pid}", age_minutes=1)
    assert app.pipeline.resume_stale() == 1
    assert count(app, m.Case) == 1
    with app.sessions() as s:
        assert s.scalars(select(m.Message)).one().state == "processed"


def test_an_abandoned_claim_from_another_host_expires(app: App) -> None:
    raw = submission("北京市")
    _claimed_row(app, raw, "another-host:4242", age_minutes=31)
    assert app.pipeline.ingest(raw) == "processed"


def test_a_transient_failure_is_retried_not_quarantined(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    import intake.pipeline as pipeline_module

    real = pipeline_module.group_files

    def database_gone(*_a: object, **_k: object) -> object:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(pipeline_module, "group_files", database_gone)
    raw = submission("北京市")
    with pytest.raises(OperationalError):
        app.pipeline.ingest(raw)
    monkeypatch.setattr(pipeline_module, "group_files", real)
    assert app.pipeline.ingest(raw) == "processed"
    with app.sessions() as s:
        msg = s.scalars(select(m.Message)).one()
    assert (msg.state, msg.attempts) == ("processed", 2)
