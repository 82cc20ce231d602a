"""Mail of this call and mail of another: only a message that names the call is a submission.

Real components: the real pipeline on SQLite, sample forms and zips from `samples/`, and the
two corpora of real-world mail (skipped when absent).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import select

from campaign.loader import BUNDLED_CAMPAIGN, load_campaign
from intake.app import App
from intake.daily_job import write_daily_report
from intake.message_facts import materials
from parsers.archives import expand
from parsers.call_match import submission_or_other, where_named, word_text
from parsers.mail import parse_mail
from programs import unar
from samples.archives import make_zip
from samples.cases import case_zip, submission
from samples.forms import make_form_docx
from samples.mail import build_submission
from store import models as m

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CAMPAIGN = load_campaign(BUNDLED_CAMPAIGN)


def _docx(*paragraphs: str) -> bytes:
    """A Word document of plain paragraphs: another call's form, or a unit's own."""
    doc = Document()
    for p in paragraphs:
        doc.add_paragraph(p)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


BASE_FORM = _docx(
    "2023年国家生态环境科普基地推荐表", "基地名称：", "依托单位：", "联系人：", "推荐单位意见："
)


def _kind(app: App, raw: bytes) -> m.Message:
    app.pipeline.ingest(raw)
    with app.sessions() as s:
        msg = s.scalars(select(m.Message).order_by(m.Message.id.desc())).first()
        assert msg is not None
        s.expunge(msg)
        return msg


def test_another_calls_mail_is_other_kept_listed_never_answered(sqlite_app: App) -> None:
    raw = build_submission(
        subject="北京市生态环境科普基地申报材料",
        body="附件为我市科普基地推荐材料，请查收。联系人：张三 13812345678",
        attachments=[("北京市科普基地推荐表.docx", BASE_FORM)],
        message_id="<base-1@beijing.gov.cn>",
    )
    msg = _kind(sqlite_app, raw)
    assert (msg.kind, msg.state) == ("other", "processed")
    with sqlite_app.sessions() as s:
        assert s.scalars(select(m.Reply)).all() == []
        assert s.scalars(select(m.Case)).all() == []
        files = s.scalars(select(m.File).where(m.File.message_id == msg.id)).all()
        assert [f.name for f in files] == ["北京市科普基地推荐表.docx"]
        assert sqlite_app.blobs.get(files[0].sha256) == BASE_FORM
    index = write_daily_report(sqlite_app, date(2023, 12, 10))
    page = index.read_text(encoding="utf-8")
    section = page.split("其他来信", 1)[1].split("<h3>", 1)[0]
    assert "北京市生态环境科普基地申报材料" in section
    assert "北京市科普基地推荐表.docx" in section


def test_known_unit_with_a_bare_subject_whose_form_names_the_call(sqlite_app: App) -> None:
    first = _kind(
        sqlite_app, submission("吉林省", sender=("李四", "lisi@163.com"), message_id="<a@163.com>")
    )
    assert first.kind == "submission"
    # `材料`: the zip's name says nothing either; the 推荐表 inside carries the call's title.
    later = _kind(
        sqlite_app,
        submission(
            "吉林省",
            subject="材料",
            sender=("李四", "lisi@163.com"),
            message_id="<b@163.com>",
            zips=[case_zip("吉林省", "湿地")],
        ),
    )
    assert later.kind == "submission"
    with sqlite_app.sessions() as s:
        assert s.get_one(m.Message, later.id).unit.name == "吉林省"  # type: ignore[union-attr]


def _mail(
    subject: str = "报送", body: str = "请查收", files: dict[str, bytes] | None = None
) -> bytes:
    attachments = [(n, d) for n, d in (files or {"说明.txt": b"x"}).items()]
    return build_submission(subject=subject, body=body, attachments=attachments)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (_mail(subject="河北省低碳发展典型案例申报材料"), "subject"),
        (_mail(subject="转发：河北省 绿色低碳 典型案例"), "subject"),
        (_mail(body="现报送我省2023年绿色低碳典型案例征集推选活动材料"), "body"),
        (_mail(files={"河北省低碳典型案例推荐材料.zip": make_zip({"a.txt": b"x"})}), "name:"),
        (_mail(files={"材料.zip": make_zip({"低碳发展典型案例/说明.txt": b"x"})}), "name:"),
        (_mail(files={"表.docx": make_form_docx()}), "form:"),
        (
            _mail(files={"表.docx": _docx("案例名称：", "案例简介：", "推荐单位意见：")}),
            "form:",
        ),
        (_mail(files={"材料.zip": make_zip({"a/表.docx": make_form_docx()})}), "form:"),
    ],
)
def test_what_names_the_call(raw: bytes, where: str) -> None:
    mail = parse_mail(raw)
    files = expand(materials(mail), rar=unar.read_member).files
    got = where_named(mail, files, CAMPAIGN)
    assert got is not None and got.startswith(where)


@pytest.mark.parametrize(
    "raw",
    [
        _mail(subject="北京市生态环境科普基地申报材料", files={"推荐表.docx": BASE_FORM}),
        _mail(subject="申报材料", files={"推荐表.docx": b"PK\x03\x04broken"}),
        _mail(subject="关于征集美丽河湖优秀案例的通知", files={"通知.pdf": b"%PDF-1.4"}),
        _mail(subject="Weekly newsletter", body="Unsubscribe here"),
        _mail(subject="北京市材料", files={"照片1.jpg": b"\xff\xd8\xff"}),
    ],
)
def test_what_does_not_name_the_call(raw: bytes) -> None:
    mail = parse_mail(raw)
    files = expand(materials(mail), rar=unar.read_member).files
    assert where_named(mail, files, CAMPAIGN) is None
    kind = submission_or_other(mail, files, CAMPAIGN, has_materials=True, subject_unit="北京市")
    assert kind == "other"


def test_reply_to_our_notice_without_materials_is_other() -> None:
    mail = parse_mail(_mail(subject="回复：北京市低碳发展典型案例申报材料", files={}))
    assert submission_or_other(mail, [], CAMPAIGN, has_materials=False, subject_unit="北京市") == (
        "other"
    )


def test_word97_text_is_found_in_utf16() -> None:
    ole = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 504
        + "2023年绿色低碳典型案例推荐表".encode("utf-16-le")
    )
    assert "绿色低碳典型案例" in word_text(ole)
    # The text may start at an odd offset in the stream.
    assert "绿色低碳典型案例" in word_text(ole[:512] + b"\0" + ole[512:])


def _corpus_rows(name: str) -> list[dict[str, str]]:
    manifest = CORPORA / name / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.mark.parametrize("corpus", ["public", "real2"])
def test_no_corpus_mail_that_does_not_name_the_call_is_a_submission(
    corpus: str, sqlite_app: App
) -> None:
    rows = _corpus_rows(corpus)
    if not rows:
        pytest.skip(f"corpus not present at {CORPORA / corpus}")
    pipeline = sqlite_app.pipeline
    pipeline.replies = False
    for row in rows:
        pipeline.ingest((CORPORA / corpus / row["file"]).read_bytes(), source_key=row["file"])
    with sqlite_app.sessions() as s:
        kinds = Counter(s.scalars(select(m.Message.kind)).all())
        submissions = s.scalars(
            select(m.Message.raw_sha256).where(m.Message.kind == "submission")
        ).all()
    wrong = []
    for digest in submissions:
        mail = parse_mail(sqlite_app.blobs.get(digest))
        files = expand(materials(mail), rar=unar.read_member).files
        if where_named(mail, files, CAMPAIGN) is None:
            wrong.append(mail.subject)
    assert wrong == []
    # Before issue 11 every one of these with an attachment was a submission (84 and 93).
    assert kinds["other"] > 150
