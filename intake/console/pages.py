"""The console's GET routes: overview (the live matrix and what waits for staff), search, unit,
message, case and audit pages, and files served by their database id."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from intake.console.common import current_user, error_page, local_path, page, render, state
from intake.reply_actions import STATE_LABELS
from parsers.sniff import sniff_type
from reports.daily_build import build_report
from reports.daily_views import FindingView
from reports.formatting import STAFF_TIME, local_time
from store import models as m
from validators.registry import all_rules, audience_of, rule_for

SEARCH_LIMIT = 100
AUDIT_LIMIT = 500
SNIFF_BYTES = 1 << 20
# Shown in the page; everything else is downloaded (a unit's HTML or SVG never runs here).
INLINE_TYPES = re.compile(r"^(image/(jpeg|png|gif|webp|bmp)|video/[\w.+-]+|application/pdf)$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
ROLE_LABELS = {
    "form_word": "推荐表（Word）",
    "form_scan": "推荐表扫描件",
    "photo": "照片",
    "video": "视频",
    "list": "推荐名单",
    "caption": "照片说明",
    "other": "其他",
}


@dataclass(frozen=True)
class FindingRow:
    id: int
    level: str
    view: FindingView


def finding_rows(findings: Iterable[m.Finding]) -> list[FindingRow]:
    order = {r.code: i for i, r in enumerate(all_rules())}
    rows = []
    for f in sorted(findings, key=lambda f: (order.get(f.code, 10_000), f.id)):
        rule = rule_for(f.code)
        view = FindingView(
            code=f.code,
            severity=f.severity,
            detail=f.detail or "",
            file=f.file,
            reason=rule.reason if rule else f.code,
            fix=rule.fix if rule else "",
            audience=audience_of(f.code, f.severity),
            waived=f.waived,
        )
        rows.append(FindingRow(f.id, f.level, view))
    return rows


def _local(request: Request, value: datetime | None) -> str:
    return local_time(value, ZoneInfo(state(request).app.settings.timezone), STAFF_TIME)


def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def login_page(request: Request) -> Response:
    if current_user(request) is not None:
        return render(request, "console_login.html.j2", next="/", error=None, logged_in=True)
    nxt = local_path(request.query_params.get("next"))
    return render(request, "console_login.html.j2", next=nxt, error=None, logged_in=False)


@page
def overview(request: Request, user: str) -> Response:
    app = state(request).app
    tz = ZoneInfo(app.settings.timezone)
    now = datetime.now(UTC)
    query = request.query_params.get("q", "").strip()[:100]
    with app.sessions() as session:
        report = build_report(session, app.campaign, now.astimezone(tz).date(), tz, None, now)
        replies = session.scalars(
            select(m.Reply)
            .where(m.Reply.state.in_(("held", "failed", "unknown")))
            .order_by(m.Reply.id)
        ).all()
        unknown = session.scalars(
            select(m.Message)
            .where(
                m.Message.kind == "submission",
                m.Message.unit_id.is_(None),
                m.Message.state == "processed",
            )
            .order_by(m.Message.id)
        ).all()
        links = session.scalars(
            select(m.Finding)
            .where(m.Finding.code == "CLOUD_LINK", m.Finding.waived.is_(None))
            .order_by(m.Finding.id)
        ).all()
        quarantined = session.scalars(
            select(m.Message).where(m.Message.state == "quarantined").order_by(m.Message.id)
        ).all()
        results = _search(session, query) if query else None
        return render(
            request,
            "console_overview.html.j2",
            report=report,
            replies=replies,
            reply_states=STATE_LABELS,
            unknown=unknown,
            links=links,
            quarantined=quarantined,
            query=query,
            results=results,
            when=lambda v: _local(request, v),
        )


def _search(session: Session, query: str) -> dict[str, list[object]]:
    units = session.scalars(
        select(m.Unit).where(m.Unit.name.contains(query, autoescape=True)).order_by(m.Unit.name)
    ).all()
    cases = session.scalars(
        select(m.Case)
        .where(
            or_(
                m.Case.name.contains(query, autoescape=True),
                m.Case.applicant.contains(query, autoescape=True),
            )
        )
        .order_by(m.Case.id)
        .limit(SEARCH_LIMIT)
    ).all()
    messages = session.scalars(
        select(m.Message)
        .where(
            or_(
                m.Message.sender.contains(query, autoescape=True),
                m.Message.sender_name.contains(query, autoescape=True),
                m.Message.subject.contains(query, autoescape=True),
            )
        )
        .order_by(m.Message.id)
        .limit(SEARCH_LIMIT)
    ).all()
    return {"units": list(units), "cases": list(cases), "messages": list(messages)}


@page
def unit_page(request: Request, user: str) -> Response:
    app = state(request).app
    name = request.path_params["name"]
    with app.sessions() as session:
        unit = session.scalar(select(m.Unit).where(m.Unit.name == name))
        if unit is None and app.campaign.unit(name) is None:
            return error_page(request, 404, "没有这个单位。")
        cases = messages = findings = []
        if unit is not None:
            cases = list(
                session.scalars(
                    select(m.Case)
                    .where(m.Case.unit_id == unit.id)
                    .order_by(m.Case.category, m.Case.order, m.Case.id)
                )
            )
            messages = list(
                session.scalars(
                    select(m.Message).where(m.Message.unit_id == unit.id).order_by(m.Message.id)
                )
            )
            findings = list(
                session.scalars(
                    select(m.Finding).where(m.Finding.unit_id == unit.id, m.Finding.level == "unit")
                )
            )
        return render(
            request,
            "console_unit.html.j2",
            name=name,
            cases=cases,
            messages=messages,
            findings=finding_rows(findings),
            when=lambda v: _local(request, v),
        )  # fmt: skip


@page
def message_page(request: Request, user: str) -> Response:
    app = state(request).app
    pk = request.path_params["id"]
    with app.sessions() as session:
        msg = session.get(m.Message, pk)
        if msg is None:
            return error_page(request, 404, "没有这封邮件。")
        findings = session.scalars(
            select(m.Finding).where(m.Finding.message_id == pk, m.Finding.level == "message")
        ).all()
        cases = session.scalars(
            select(m.Case).where(m.Case.message_id == pk).order_by(m.Case.id)
        ).all()
        loose = session.scalars(
            select(m.File)
            .where(m.File.message_id == pk, m.File.case_id.is_(None))
            .order_by(m.File.id)
        ).all()
        reply = session.scalar(select(m.Reply).where(m.Reply.message_id == pk))
        uploads = session.scalars(
            select(m.Message)
            .where(m.Message.source_key.startswith(f"console:{pk}:"))
            .order_by(m.Message.id)
        ).all()
        origin = None
        if msg.source_key and msg.source_key.startswith("console:"):
            origin = session.get(m.Message, int(msg.source_key.split(":")[1]))
        return render(
            request,
            "console_message.html.j2",
            msg=msg,
            findings=finding_rows(findings),
            cases=cases,
            loose=loose,
            reply=reply,
            reply_states=STATE_LABELS,
            uploads=uploads,
            origin=origin,
            roles=ROLE_LABELS,
            units=[u.name for u in app.campaign.units],
            upload_max_mb=app.settings.web_upload_max_mb,
            when=lambda v: _local(request, v),
        )  # fmt: skip


@page
def case_page(request: Request, user: str) -> Response:
    app = state(request).app
    pk = request.path_params["id"]
    with app.sessions() as session:
        case = session.get(m.Case, pk)
        if case is None:
            return error_page(request, 404, "没有这个案例。")
        findings = session.scalars(select(m.Finding).where(m.Finding.case_id == pk)).all()
        files = list(case.files)
        return render(
            request,
            "console_case.html.j2",
            case=case,
            category=app.campaign.category_label(case.category) or "类别未识别",
            findings=finding_rows(findings),
            photos=[f for f in files if f.role == "photo"],
            videos=[f for f in files if f.role == "video"],
            others=[f for f in files if f.role not in ("photo", "video")],
            roles=ROLE_LABELS,
            intro_limit=app.campaign.limits.intro_max_chars,
            when=lambda v: _local(request, v),
        )  # fmt: skip


@page
def audit_page(request: Request, user: str) -> Response:
    with state(request).app.sessions() as session:
        rows = session.scalars(
            select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(AUDIT_LIMIT)
        ).all()
        return render(
            request, "console_audit.html.j2", rows=rows, when=lambda v: _local(request, v)
        )


# -- files: by database id only; the path is the blob store's, never the request's -------------


def _refused() -> Response:
    return PlainTextResponse("login required", status_code=401)


def file_download(request: Request) -> Response:
    if current_user(request) is None:
        return _refused()
    app = state(request).app
    with app.sessions() as session:
        row = session.get(m.File, request.path_params["id"])
        if row is None or not SHA256.match(row.sha256):
            return PlainTextResponse("not found", status_code=404)
        name, digest = row.name, row.sha256
    path = app.blobs.path_for(digest)
    if not path.is_file():
        return PlainTextResponse("not found", status_code=404)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    ctype = sniff_type(head, name)
    inline = bool(INLINE_TYPES.match(ctype))
    return FileResponse(
        path,
        media_type=ctype if inline else "application/octet-stream",
        filename=name,
        content_disposition_type="inline" if inline else "attachment",
    )


def poster(request: Request) -> Response:
    if current_user(request) is None:
        return _refused()
    app = state(request).app
    with app.sessions() as session:
        row = session.get(m.File, request.path_params["id"])
        digest = (row.probe or {}).get("poster_sha256") if row is not None else None
    if not isinstance(digest, str) or not SHA256.match(digest):
        return PlainTextResponse("not found", status_code=404)
    path = app.blobs.path_for(digest)
    if not path.is_file():
        return PlainTextResponse("not found", status_code=404)
    return FileResponse(path, media_type="image/jpeg")
