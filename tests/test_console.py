"""The staff console over plain HTTP, on a real uvicorn server (SQLite and PostgreSQL): what
refuses without a session, CSRF, escaping, ids that are not paths, login limits, waivers that
survive re-triage, held replies and the `intake staff` / `intake replies` commands."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from intake.app import App
from intake.cli import main
from intake.console.auth import LoginLimiter, verify
from intake.console.work import Work
from intake.daily_job import write_daily_report
from intake.sending import send_queued
from intake.service import Service
from reports.export import export_data
from reports.notices import collect_notice
from store import models as m
from tests.conftest import make_app
from tests.console_helpers import (
    PASSWORD,
    SCRIPT_NAME,
    USER,
    add_user,
    console,
    csrf_of,
    ingest_console_season,
    login,
)
from tests.dovecot import Dovecot, MailUser, imap_app
from tests.test_send_smtp import free_port

pytest_plugins = ["tests.dovecot"]  # the session's Dovecot, for `intake run`

PAGES = ["/", "/units/北京市", "/messages/1", "/cases/1", "/audit", "/?q=北京"]
FILES = ["/files/1", "/files/1/poster"]
ACTIONS = [
    "/logout",
    "/findings/1/waive",
    "/findings/1/restore",
    "/messages/1/unit",
    "/messages/1/kind",
    "/messages/1/attach",
    "/replies/1/approve",
    "/replies/1/hold",
    "/replies/1/cancel",
    "/replies/1/requeue",
    "/replies/1/close",
]


def test_everything_but_login_and_healthz_needs_a_session(app: App) -> None:
    ingest_console_season(app)
    with console(app) as base, httpx.Client(base_url=base, follow_redirects=False) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.text == "ok"
        assert client.get("/login").status_code == 200
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path
        for path in FILES:
            assert client.get(path).status_code == 401, path
        for path in ACTIONS:
            answer = client.post(path, data={"note": "x", "unit": "北京市"})
            assert answer.status_code in (401, 403), path
            assert "set-cookie" not in answer.headers or "user" not in answer.text
        # A forged cookie is no session either.
        client.cookies.set("intake_console", "eyJ1c2VyIjogIndhbmcifQ==.forged.sig")
        assert client.get("/").status_code == 303


def test_post_without_the_forms_csrf_token_is_refused(app: App) -> None:
    season = ingest_console_season(app)
    add_user(app)
    with app.sessions() as s:
        finding = s.scalar(select(m.Finding).where(m.Finding.code == "FORM_SCAN_MISSING"))
        assert finding is not None
        fid = finding.id
    with console(app) as base, login(base) as client:
        token = csrf_of(client, f"/cases/{season.scan_case}")
        for data in ({"note": "ok"}, {"note": "ok", "csrf": "wrong"}, {"note": "ok", "csrf": ""}):
            assert client.post(f"/findings/{fid}/waive", data=data).status_code == 403
        with app.sessions() as s:
            assert s.get_one(m.Finding, fid).waived is None
        done = client.post(f"/findings/{fid}/waive", data={"note": "扫描件在正文里", "csrf": token})
        assert done.status_code == 303
        assert done.headers["location"] == f"/cases/{season.scan_case}"
        page = client.get(done.headers["location"]).text
        assert "已豁免：扫描件在正文里" in page
        assert 'id="case-status">齐全' in page
        # The cookie is signed, HttpOnly, SameSite and expires.
        cookie = client.post("/login", data={"username": USER, "password": PASSWORD})
        flags = cookie.headers["set-cookie"].lower()
        assert "httponly" in flags and "samesite=strict" in flags and "max-age=" in flags


def test_submitted_text_is_escaped(app: App) -> None:
    season = ingest_console_season(app)
    add_user(app)
    with console(app) as base, login(base) as client:
        for path in (f"/cases/{season.script_case}", f"/messages/{season.bj}", "/?q=script"):
            html = client.get(path).text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
            assert SCRIPT_NAME not in html, path
            assert "<script" not in html.lower(), path
        headers = client.get("/").headers
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]


def test_dot_dot_in_an_id_reaches_no_file(sqlite_app: App) -> None:
    app = sqlite_app
    season = ingest_console_season(app)
    add_user(app)
    secret = app.settings.data_dir / "console-secret"
    with console(app) as base, login(base) as client:
        assert secret.exists()
        for path in (
            "/files/../console-secret",
            "/files/..%2Fconsole-secret",
            "/files/%2e%2e%2fconsole-secret",
            "/files/..%2F..%2Fintake.db",
            "/files/1/../../console-secret",
            "/cases/..%2F..%2Fintake.db",
            "/messages/%2e%2e",
            "/units/..%2F..%2Fconsole-secret",
            "/findings/..%2F1/waive",
        ):
            answer = client.get(path) if "waive" not in path else client.post(path, data={})
            assert answer.status_code in (303, 307, 404, 405), (path, answer.status_code)
            assert secret.read_text().strip() not in answer.text
            assert b"SQLite format" not in answer.content
        # A real id serves the blob, typed by sniffing; a Word form is always a download.
        with app.sessions() as s:
            photo = s.scalar(select(m.File).where(m.File.role == "photo"))
            form = s.scalar(select(m.File).where(m.File.role == "form_word"))
            assert photo is not None and form is not None
        shown = client.get(f"/files/{photo.id}")
        assert shown.headers["content-type"] == "image/jpeg"
        assert shown.headers["content-disposition"].startswith("inline")
        word = client.get(f"/files/{form.id}")
        assert word.headers["content-disposition"].startswith("attachment")
        assert word.headers["content-type"] == "application/octet-stream"
        assert season.bj


def test_failed_logins_are_rate_limited(sqlite_app: App) -> None:
    add_user(sqlite_app)
    with console(sqlite_app) as base, httpx.Client(base_url=base) as client:
        for _ in range(LoginLimiter().per_name):
            wrong = client.post("/login", data={"username": USER, "password": "nope"})
            assert wrong.status_code == 401
        limited = client.post("/login", data={"username": USER, "password": PASSWORD})
        assert limited.status_code == 429
        assert "过多" in limited.text


def test_a_waiver_survives_retriage_and_leaves_the_notice(app: App) -> None:
    season = ingest_console_season(app)
    with app.sessions() as s:
        finding = s.scalar(select(m.Finding).where(m.Finding.code == "FORM_SCAN_MISSING"))
        assert finding is not None and s.get_one(m.Case, season.scan_case).status == "deficient"
        fid = finding.id
    Work(app).waive("wang", fid, "盖章扫描件已另行寄送")
    app.pipeline.retriage()
    with app.sessions() as s:
        again = s.scalars(select(m.Finding).where(m.Finding.code == "FORM_SCAN_MISSING")).all()
        assert [f.waived for f in again] == ["盖章扫描件已另行寄送"]
        assert s.get_one(m.Case, season.scan_case).status == "complete"
        msg = s.get_one(m.Message, season.bj)
        notice = collect_notice(s, app.campaign, msg, datetime.now(UTC))
        codes = {p.code for c in notice.cases for p in c.problems}
        assert "FORM_SCAN_MISSING" not in codes
        data = export_data(s, app.campaign)
    exported = [f for c in data["cases"] for f in c["findings"] if f["code"] == "FORM_SCAN_MISSING"]
    assert exported[0]["waived"] == "盖章扫描件已另行寄送" and exported[0]["id"]
    assert [a["action"] for a in data["audit"]] == ["finding.waive"]
    assert all("id" in r for r in data["replies"] + data["messages"])
    with app.sessions() as s:
        new_id = s.scalar(select(m.Finding.id).where(m.Finding.code == "FORM_SCAN_MISSING"))
        assert new_id is not None
    Work(app).restore("wang", new_id)
    with app.sessions() as s:
        assert s.get_one(m.Case, season.scan_case).status == "deficient"


def test_deficiency_notices_wait_for_review(tmp_path: Path, db_url: str) -> None:
    app = make_app(tmp_path, db_url, reply_review="deficiency")
    try:
        season = ingest_console_season(app)
        with app.sessions() as s:
            reply = s.scalar(select(m.Reply).where(m.Reply.message_id == season.bj))
            assert reply is not None and reply.kind == "deficiency" and reply.state == "held"
            rid = reply.id
        send_queued(app.sessions, app.blobs, app.settings, app.campaign)
        with app.sessions() as s:
            assert s.get_one(m.Reply, rid).state == "held"
            # Receipts are not held under "deficiency".
            assert {r.state for r in s.scalars(select(m.Reply)) if r.kind == "receipt"} <= {"sent"}
        Work(app).reply("wang", rid, "approve")
        assert send_queued(app.sessions, app.blobs, app.settings, app.campaign).sent == 1
        with app.sessions() as s:
            assert s.get_one(m.Reply, rid).state == "sent"
    finally:
        app.engine.dispose()


def test_staff_and_replies_commands(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = sqlite_app
    monkeypatch.setenv("INTAKE_DATA_DIR", str(app.settings.data_dir))
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["staff", "add", "li"]) == 0
    with app.sessions() as s:
        assert verify(s, "li", "correct horse battery") is not None
    assert main(["staff", "add", "li"]) == 2  # exists already
    pw = app.settings.data_dir / "pw"
    pw.write_text("short\n")
    assert main(["staff", "add", "zhao", "--password-file", str(pw)]) == 2
    assert main(["staff", "remove", "li"]) == 0
    with app.sessions() as s:
        assert verify(s, "li", "correct horse battery") is None
    ingest_console_season(app)
    with app.sessions() as s, s.begin():
        reply = s.scalars(select(m.Reply)).first()
        assert reply is not None
        reply.state = "unknown"
        rid = reply.id
    capsys.readouterr()
    assert main(["replies", "requeue", str(rid)]) == 2
    assert "--i-checked-it-was-not-delivered" in capsys.readouterr().err
    assert main(["replies", "requeue", str(rid), "--i-checked-it-was-not-delivered"]) == 0
    assert "queued again" in capsys.readouterr().out
    with app.sessions() as s:
        assert s.get_one(m.Reply, rid).state == "queued"
        actions = [a.action for a in s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))]
    assert actions == ["staff.add", "staff.remove", "reply.requeue"]
    assert main(["export"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["action"] for a in data["audit"]][-1] == "reply.requeue"
    assert re.match(r"cli:", data["audit"][-1]["actor"])


def test_every_page_renders_and_kind_and_unit_actions(app: App) -> None:
    season = ingest_console_season(app)
    add_user(app)
    with app.sessions() as s:
        video = s.scalar(select(m.File).where(m.File.role == "video"))
        assert video is not None
    with console(app) as base, login(base) as client:
        for path in (
            "/", "/?q=北京", "/units/北京市", "/units/西藏自治区", f"/messages/{season.bj}",
            f"/messages/{season.stranger}", f"/messages/{season.cloud}",
            f"/cases/{season.scan_case}", "/audit", f"/files/{video.id}/poster",
        ):  # fmt: skip
            assert client.get(path).status_code == 200, path
        assert client.get("/units/不是单位").status_code == 404
        assert client.get("/cases/99999").status_code == 404
        token = csrf_of(client)
        # A mail with cases cannot be "not a submission"; the refusal says why.
        refused = client.post(f"/messages/{season.bj}/kind", data={"kind": "other", "csrf": token})
        assert refused.status_code == 409 and "含有案例" in refused.text
        wrong = client.post(f"/messages/{season.bj}/unit", data={"unit": "火星", "csrf": token})
        assert wrong.status_code == 409
        done = client.post(f"/messages/{season.cloud}/kind", data={"kind": "other", "csrf": token})
        assert done.status_code == 303
    with app.sessions() as s:
        msg = s.get_one(m.Message, season.cloud)
        assert msg.kind == "other"
        assert not s.scalars(select(m.Finding).where(m.Finding.message_id == msg.id)).all()
        reply = s.scalar(select(m.Reply).where(m.Reply.message_id == msg.id))
        assert reply is None or reply.state == "cancelled"
    Work(app).set_kind("wang", season.cloud, "submission")
    with app.sessions() as s:
        assert s.get_one(m.Message, season.cloud).kind == "submission"
        codes = {
            f.code for f in s.scalars(select(m.Finding).where(m.Finding.message_id == season.cloud))
        }
        assert "CLOUD_LINK" in codes


def test_the_daily_report_links_to_the_console(tmp_path: Path) -> None:
    app = make_app(tmp_path, web_base_url="https://intake.example/console/")
    try:
        season = ingest_console_season(app)
        index = write_daily_report(app)
        case_page = (index.parent / "cases" / f"{season.scan_case}.html").read_text()
        assert f'href="https://intake.example/console/cases/{season.scan_case}"' in case_page
        assert 'href="https://intake.example/console/"' in index.read_text()
    finally:
        app.engine.dispose()


def test_intake_run_serves_the_console_when_web_is_set(
    tmp_path: Path, sqlite_url: str, dovecot: Dovecot, mail_user: MailUser
) -> None:
    port = free_port()
    app = imap_app(
        tmp_path, sqlite_url, dovecot, mail_user, web="true", web_port=str(port), poll_minutes="60"
    )
    service = Service(app)
    service.start()
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).text == "ok"
    finally:
        service.shutdown()
        app.engine.dispose()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
