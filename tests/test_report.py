"""The daily report: what staff read instead of the mailbox.

Cases come in through the real pipeline (messages built with samples/); states the
pipeline reaches only over days (a quarantined mail, a failed reply, a resubmission chain, a
converter missing) are written into the store directly.
"""

from __future__ import annotations

import email
import re
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from intake.app import App
from intake.cli import main
from intake.daily_job import (
    ReportNotMailed,
    run_daily_report,
    send_daily_report,
    staff_addresses,
    write_daily_report,
)
from reports.charts import Segment, bar_chart, stacked_bars
from reports.daily import MARKER_NAME
from reports.formatting import clock, human_size
from samples.archives import make_zip
from samples.cases import case_files, case_zip, submission
from samples.mail import build_submission
from store import models as m
from tests.conftest import make_app

SCRIPT_NAME = "<script>alert(1)</script>"
DAY = date(2023, 12, 20)


# -- a small season ---------------------------------------------------------------------------


def ingest_season(app: App) -> dict[str, int]:
    """Three units, an unknown sender, and store states no single mail produces."""
    ids: dict[str, int] = {}
    bj = submission(
        "北京市",
        [
            case_zip("北京市", "光伏园区", photos=3),
            case_zip(
                "北京市",
                "储能企业",
                category="enterprise",
                fields={"案例名称": SCRIPT_NAME},
            ),
        ],
        message_id="<bj-1@sthjj.beijing.example>",
    )
    assert app.pipeline.ingest(bj) == "processed"
    hb = submission(
        "河北省",
        [case_zip("河北省", "零碳社区", category="community", scan=False)],
        message_id="<hb-1@hebei.example>",
        sender=("刘洋", "liuyang@hebei.example"),
    )
    assert app.pipeline.ingest(hb) == "processed"
    stranger = build_submission(
        subject="申报材料",
        sender=("", "stranger@qq.example"),
        attachments=[("材料.zip", make_zip(case_files("", "无名案例", folder="")))],
        message_id="<who@qq.example>",
    )
    assert app.pipeline.ingest(stranger) == "processed"

    with app.sessions() as s, s.begin():
        cases = {c.name: c for c in s.scalars(select(m.Case))}
        # Whatever the form reader makes of it, this case is named like an attack.
        evil = next(c for c in cases.values() if c.key.find("储能企业") >= 0)
        evil.name = SCRIPT_NAME
        ids["evil"] = evil.id
        park = next(c for c in cases.values() if "光伏园区" in c.key)
        ids["park"] = park.id
        bj_msg = park.message
        # A resubmitted earlier version of the park case.
        old = m.Case(
            unit_id=park.unit_id,
            message_id=bj_msg.id,
            key="北京市光伏园区推荐材料（旧）",
            name=park.name,
            category="park",
            fields={},
            status="superseded",
            version=1,
            superseded_by_id=park.id,
        )
        s.add(old)
        park.version = 2
        s.flush()
        ids["old"] = old.id
        # A .doc form we could not convert here: staff's problem, not the unit's.
        s.add(
            m.Finding(
                level="case",
                code="CONVERTER_UNAVAILABLE",
                severity="warning",
                detail="北京市光伏园区推荐表.doc：LibreOffice 未安装",
                case_id=park.id,
                message_id=bj_msg.id,
                unit_id=park.unit_id,
            )
        )
        gd_unit = m.Unit(name="广东省")
        s.add(gd_unit)
        s.flush()
        source = s.scalars(select(m.Source)).first()
        gd = m.Message(
            raw_sha256="1" * 64,
            message_id="gd-1@163.example",
            sender="huang@163.example",
            subject="广东省低碳发展典型案例申报材料",
            received_at=datetime(2023, 12, 11, 8, 2, tzinfo=UTC),
            source_id=source.id if source else None,
            kind="submission",
            state="processed",
            unit_id=gd_unit.id,
        )
        bad = m.Message(
            raw_sha256="2" * 64,
            sender="broken@sichuan.example",
            subject="四川省申报材料（损坏）",
            received_at=datetime(2023, 12, 12, 1, 0, tzinfo=UTC),
            state="quarantined",
            error="Traceback…\nValueError: cannot parse MIME structure",
        )
        s.add_all([gd, bad])
        s.flush()
        s.add(
            m.Finding(
                level="message",
                code="CLOUD_LINK",
                severity="warning",
                detail="网易邮箱超大附件，广东省材料.zip，48.20M，到期：2023-12-22 16:02；"
                "https://mail.163.com/large-attachment-download/index.html?p=X",
                # What the CLOUD_LINK rule stores beside the detail; the report reads this.
                data={
                    "expires_at": "2023-12-22T16:02:00+08:00",
                    "never_expires": False,
                    "url": "https://mail.163.com/large-attachment-download/index.html?p=X",
                    "provider": "网易邮箱",
                },
                message_id=gd.id,
                unit_id=gd_unit.id,
            )
        )
        # The receipt the pipeline queued for 北京 (if it queues one) failed for good.
        reply = s.scalar(select(m.Reply).where(m.Reply.message_id == bj_msg.id))
        if reply is None:
            reply = m.Reply(message_id=bj_msg.id, kind="receipt")
            s.add(reply)
        reply.to_addr = "zhangsan@sthjj.beijing.gov.cn"
        reply.state = "failed"
        reply.subject = "Re: 北京市低碳发展典型案例申报材料"
        reply.attempts = 5
        reply.error = "recipient refused: 550 mailbox unavailable"
    return ids


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class _Matrix(HTMLParser):
    """The unit × category table: unit → [(cell class, cell text)]."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, str]]] = {}
        self._in_matrix = False
        self._row: list[tuple[str, str]] | None = None
        self._cell: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and "matrix" in (a.get("class") or ""):
            self._in_matrix = True
        elif self._in_matrix and tag == "tr":
            self._row = []
        elif self._in_matrix and tag == "td" and self._row is not None:
            self._cell = (a.get("class") or "", [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_matrix = False
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row.append((self._cell[0], "".join(self._cell[1]).strip()))
            self._cell = None
        elif tag == "tr" and self._row:
            self.rows[self._row[0][1]] = self._row[1:]
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1].append(data)


def matrix(html: str) -> dict[str, list[tuple[str, str]]]:
    parser = _Matrix()
    parser.feed(html)
    return parser.rows


@pytest.fixture
def season(sqlite_app: App) -> tuple[App, dict[str, int]]:
    return sqlite_app, ingest_season(sqlite_app)


# -- the page ---------------------------------------------------------------------------------


def test_report_is_written_with_case_pages_and_thumbnails(
    season: tuple[App, dict[str, int]],
) -> None:
    app, ids = season
    index = write_daily_report(app, DAY)
    assert index == app.settings.reports / "2023-12-20" / "index.html"
    with app.sessions() as s:
        case_ids = list(s.scalars(select(m.Case.id)))
    for cid in case_ids:
        assert (index.parent / "cases" / f"{cid}.html").is_file()
    thumbs = sorted((index.parent / "thumbs").glob("*.jpg"))
    assert len(thumbs) >= 3
    for thumb in thumbs:
        with Image.open(thumb) as im:
            assert im.format == "JPEG" and max(im.size) <= 240
        assert thumb.stat().st_size < 40_000
    # Case pages point at thumbnails that exist beside the report.
    page = read(index.parent / "cases" / f"{ids['park']}.html")
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == 3
    for src in srcs:
        assert (index.parent / "cases" / src).resolve().is_file()
    # Shared with staff: the files must not be private to the service's user.
    assert index.stat().st_mode & 0o044


def test_headline_and_matrix(season: tuple[App, dict[str, int]]) -> None:
    app, ids = season
    html = read(write_daily_report(app, DAY))
    assert re.search(r'<div class="n">11</div><div class="l">天后截止', html)
    # 北京, 河北 and 广东 (its link-only mail) are heard from; the stranger is no unit.
    assert re.search(
        r'<div class="n">3<span[^>]*> / 32</span></div><div class="l">已来函单位', html
    )
    rows = matrix(html)
    assert len(rows) == 32
    assert rows["北京市"][:4] == [
        ("s-below", "1↓"),
        ("s-below", "1↓"),
        ("s-none", "·"),
        ("s-none", "·"),
    ]
    assert rows["河北省"][2] == ("s-errors", "1!")
    assert rows["天津市"][0] == ("s-none", "·")
    assert 'href="#unit-1">北京市</a>' in html and 'id="unit-1"' in html
    # Not heard from: listed, and not linked.
    not_heard = html[html.index('id="not-heard"') : html.index('id="new"')]
    assert "天津市" in not_heard and "北京市" not in not_heard
    # Deficiencies by unit: 河北's missing scan, with the rule's reason.
    deficiencies = html[html.index('id="deficiencies"') : html.index('id="units"')]
    assert "河北省" in deficiencies and "FORM_SCAN_MISSING" in deficiencies
    assert "CONVERTER_UNAVAILABLE" not in deficiencies  # staff's problem, not the unit's


def test_needs_staff_section(season: tuple[App, dict[str, int]]) -> None:
    app, ids = season
    html = read(write_daily_report(app, DAY))
    staff = html[html.index('id="staff"') : html.index('id="deficiencies"')]
    assert "stranger@qq.example" in staff  # unknown sender
    assert "2023-12-22 16:02" in staff  # cloud link expiry, two days away: urgent
    assert re.search(r'class="nowrap urgent">2023-12-22 16:02<', staff)
    assert "四川省申报材料（损坏）" in staff and "cannot parse MIME structure" in staff
    assert "zhangsan@sthjj.beijing.gov.cn" in staff and "550 mailbox unavailable" in staff
    assert "LibreOffice 未安装" in staff


def test_cloud_link_expiry_comes_from_the_findings_data(sqlite_app: App) -> None:
    """The expiry shown is the one CLOUD_LINK stored as data; the detail carries no date here."""
    links: dict[str, dict[str, object]] = {
        "later": {"expires_at": "2024-01-15T10:00:00+08:00", "never_expires": False},
        # 08:02 UTC is 16:02 in Beijing, two days after the report day: urgent.
        "soon": {"expires_at": "2023-12-22T08:02:00+00:00", "never_expires": False},
        "never": {"expires_at": None, "never_expires": True},
        "unknown": {"expires_at": None, "never_expires": False},
    }
    with sqlite_app.sessions() as s, s.begin():
        for i, (name, data) in enumerate(links.items()):
            msg = m.Message(
                raw_sha256=str(i) * 64,
                sender=f"{name}@163.example",
                subject=f"云附件 {name}",
                received_at=datetime(2023, 12, 10, 8, 0, tzinfo=UTC),
                kind="other",
                state="processed",
            )
            s.add(msg)
            s.flush()
            url = f"https://mail.163.com/large-attachment-download/index.html?p={name}"
            s.add(
                m.Finding(
                    level="message",
                    code="CLOUD_LINK",
                    severity="warning",
                    detail=f"网易邮箱超大附件，材料-{name}.zip；{url}",
                    data={**data, "url": url, "provider": "网易邮箱"},
                    message_id=msg.id,
                )
            )
    html = read(write_daily_report(sqlite_app, DAY))
    staff = html[html.index("网盘 / 超大附件链接") : html.index("已隔离的邮件")]
    assert re.search(r'class="nowrap urgent">2023-12-22 16:02<', staff)
    assert re.search(r'class="nowrap">2024-01-15 10:00<', staff)  # a month away: not urgent
    assert re.search(r'class="nowrap">无限期<', staff)
    assert re.search(r'class="nowrap">未知<', staff)
    # Soonest first, then links that never expire, then those whose expiry is unknown.
    order = [staff.index(f"材料-{name}.zip") for name in ("soon", "later", "never", "unknown")]
    assert order == sorted(order)


def test_submitted_text_is_escaped_and_pages_have_no_scripts(
    season: tuple[App, dict[str, int]],
) -> None:
    app, ids = season
    index = write_daily_report(app, DAY)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaped in read(index)
    assert escaped in read(index.parent / "cases" / f"{ids['evil']}.html")
    for page in [index, *(index.parent / "cases").glob("*.html")]:
        text = read(page)
        assert SCRIPT_NAME not in text
        assert not re.search(r"<\s*script", text, re.IGNORECASE), page
        # Self-contained: nothing is fetched from the network.
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text), page
        assert "@import" not in text and "url(" not in text


def test_case_page_shows_form_photos_videos_findings_and_versions(
    season: tuple[App, dict[str, int]],
) -> None:
    app, ids = season
    index = write_daily_report(app, DAY)
    page = read(index.parent / "cases" / f"{ids['park']}.html")
    assert "光伏园区" in page
    assert "案例简介" in page
    assert "现场实景1" in page  # photo caption from the file name
    assert "0:05" in page  # the 5-second video
    assert "CONVERTER_UNAVAILABLE" in page
    assert f'href="{ids["old"]}.html">第 1 版</a>' in page
    assert "第 2 版（本页）" in page
    old = read(index.parent / "cases" / f"{ids['old']}.html")
    assert f'href="{ids["park"]}.html">第 2 版</a>' in old and "已被替换" in old
    assert 'href="../index.html#unit-1"' in page


def test_report_survives_cases_with_nothing_filled_in(sqlite_app: App) -> None:
    with sqlite_app.sessions() as s, s.begin():
        msg = m.Message(raw_sha256="3" * 64, subject="", kind="submission", state="processed")
        s.add(msg)
        s.flush()
        s.add(m.Case(message_id=msg.id, key="x", name="", fields={}, status="deficient"))
    html = read(write_daily_report(sqlite_app, DAY))
    assert "类别未识别" in html
    assert '<div class="n">0<span' in html  # no unit heard from


def test_report_runs_on_both_databases(app: App) -> None:
    ingest_season(app)
    html = read(write_daily_report(app, DAY))
    assert re.search(r'<div class="n">4</div><div class="l">收到案例', html)


# -- since the previous report ------------------------------------------------------------------


def new_section(html: str) -> str:
    return html[html.index('id="new"') : html.index('id="charts"')]


def test_since_previous_report_uses_the_marker(sqlite_app: App) -> None:
    app = sqlite_app
    assert app.pipeline.ingest(submission("北京市", message_id="<a@bj>")) == "processed"
    first = new_section(read(write_daily_report(app, date(2023, 12, 1))))
    assert "第一份报告" in first and "北京市低碳发展典型案例申报材料" in first
    marker = app.settings.reports / MARKER_NAME
    assert marker.is_file()

    assert (
        app.pipeline.ingest(
            submission("天津市", message_id="<b@tj>", sender=("王", "w@tj.example"))
        )
        == "processed"
    )
    second = new_section(read(write_daily_report(app, date(2023, 12, 2))))
    assert "天津市" in second and "北京市" not in second
    # Regenerating the same day's report shows the same news, not an empty list.
    again = new_section(read(write_daily_report(app, date(2023, 12, 2))))
    assert "天津市" in again and "北京市" not in again


def test_chart_counts_submissions_per_day(sqlite_app: App) -> None:
    app = sqlite_app
    for i, day in enumerate((1, 1, 3)):
        raw = submission(
            "北京市",
            message_id=f"<{i}@bj>",
            date=datetime(2023, 12, day, 10, 0, tzinfo=UTC) + timedelta(hours=i),
        )
        assert app.pipeline.ingest(raw) == "processed"
    html = read(write_daily_report(app, date(2023, 12, 3)))
    assert "<title>12-01：2</title>" in html
    assert "<title>12-02：0</title>" in html
    assert "<title>12-03：1</title>" in html


# -- mailing it to staff ------------------------------------------------------------------------


def parse_eml(raw: bytes) -> EmailMessage:
    msg: Message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def free_port() -> int:
    """A port nothing listens on (until a test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_report_mail_in_dry_run_goes_to_the_outbox(tmp_path: Path) -> None:
    app = make_app(tmp_path, report_to="office@ceec.example; 张三 <zhang@ceec.example>")
    ingest_season(app)
    index = write_daily_report(app, DAY)
    where = send_daily_report(app, index, DAY)
    assert where is not None
    msg = parse_eml(Path(where).read_bytes())
    assert msg["To"] == "office@ceec.example, zhang@ceec.example"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "2023-12-20" in msg["Subject"]
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None and text is not None
    body = html.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script" not in body
    assert 'href="cases/' not in body  # case pages do not exist inside a mail client
    assert str(index) in text.get_content()
    app.engine.dispose()


def test_no_staff_list_no_mail(sqlite_app: App) -> None:
    index = write_daily_report(sqlite_app, DAY)
    assert send_daily_report(sqlite_app, index, DAY) is None
    assert not sqlite_app.settings.outbox.exists()


def test_report_mail_over_smtp(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []
    done = threading.Event()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            received.append(envelope.content)  # type: ignore[attr-defined]
            done.set()
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(
            tmp_path,
            report_to="staff@ceec.example",
            dry_run="false",
            smtp_host="127.0.0.1",
            smtp_port=str(port),
            smtp_security="none",
            smtp_from="intake@ceec.example",
        )
        index = write_daily_report(app, DAY)
        assert send_daily_report(app, index, DAY) == "staff@ceec.example"
        assert done.wait(10)
        msg = parse_eml(received[0])
        assert msg["To"] == "staff@ceec.example"
        assert "intake@ceec.example" in msg["From"]
        app.engine.dispose()
    finally:
        controller.stop()


def test_daily_job_writes_the_report_even_when_mail_fails(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        report_to="staff@ceec.example",
        dry_run="false",
        smtp_host="127.0.0.1",
        smtp_port=str(free_port()),
        smtp_security="none",
    )
    index, sent = run_daily_report(app, DAY)
    assert index.is_file() and sent is None
    with pytest.raises(ReportNotMailed):
        send_daily_report(app, index, DAY)
    app.engine.dispose()


def test_daily_job_in_dry_run_mails_to_the_outbox(tmp_path: Path) -> None:
    app = make_app(tmp_path, report_to="staff@ceec.example")
    index, sent = run_daily_report(app, DAY)
    assert sent == str(app.settings.outbox / "daily-report-2023-12-20.eml")
    assert Path(sent).is_file()
    app.engine.dispose()


def test_cli_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = make_app(tmp_path)
    ingest_season(seeded)
    seeded.engine.dispose()
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    out = tmp_path / "elsewhere"
    assert main(["report", "--date", "2023-12-20", "--out", str(out), "--no-email"]) == 0
    assert (out / "index.html").is_file()
    assert str(out / "index.html") in capsys.readouterr().out
    # A copy written elsewhere does not count as the morning report staff have read.
    assert not (tmp_path / "var" / "reports" / MARKER_NAME).exists()
    with pytest.raises(SystemExit) as exc:
        main(["report", "--date", "20.12.2023"])
    assert exc.value.code == 2


# -- small pieces -----------------------------------------------------------------------------


def test_charts_escape_labels_and_scale() -> None:
    svg = str(bar_chart([("<b>", 3), ("12-02", 0)], title="a & b", highlight="12-02"))
    assert "&lt;b&gt;" in svg and "<b>" not in svg and "a &amp; b" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    empty = str(bar_chart([], title="none"))
    assert "暂无数据" in empty
    bars = str(stacked_bars([("<i>", [Segment(2, "#000", "x")])], title="t"))
    assert "&lt;i&gt;" in bars and ">2</text>" in bars


def test_helpers() -> None:
    assert staff_addresses("a@x.example, b@y.example;张三 <c@z.example>, nonsense") == [
        "a@x.example",
        "b@y.example",
        "c@z.example",
    ]
    assert clock(185.4) == "3:05" and clock(None) == "—"
    assert human_size(5 * 1024 * 1024) == "5.0 MB" and human_size(12) == "12 B"


def test_mail_that_is_no_submission_is_listed_for_staff(sqlite_app: App) -> None:
    sqlite_app.pipeline.ingest(
        build_submission(
            subject="回复：Re: 北京市低碳发展典型案例申报材料",
            body="收到，谢谢！请问个人类案例需要盖章吗？",
            attachments=[],
            sender=("李雷", "lilei@sthjj.beijing.gov.cn"),
            message_id="<question@x>",
        )
    )
    html = read(write_daily_report(sqlite_app, DAY))
    staff = html[html.index('id="staff"') : html.index('id="deficiencies"')]
    assert "其他来信，需人工阅读（1）" in staff
    assert "lilei@sthjj.beijing.gov.cn" in staff
