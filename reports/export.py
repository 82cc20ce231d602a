"""`intake export`: everything stored, in the shapes SPEC.md fixes."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign import Campaign
from store import models as m
from store.repo import load_everything


def _finding(f: m.Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "code": f.code,
        "severity": f.severity,
        "detail": f.detail,
        "file": f.file,
        "waived": f.waived,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_data(session: Session, campaign: Campaign) -> dict[str, Any]:
    snap = load_everything(session)
    by_message: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_case: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_unit: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for f in snap.findings:
        if f.case_id is not None:
            by_case[f.case_id].append(_finding(f))
        elif f.level == "unit" and f.unit_id is not None:
            by_unit[f.unit_id].append(_finding(f))
        elif f.message_id is not None:
            by_message[f.message_id].append(_finding(f))

    current = Counter(
        (c.unit_id, c.category) for c in snap.cases if c.status != "superseded" and c.category
    )
    order = {u.name: i for i, u in enumerate(campaign.units)}
    extra = [f.key for f in campaign.form.added]
    units_sorted = sorted(snap.units, key=lambda u: (order.get(u.name, len(order)), u.name))
    return {
        "campaign": campaign.id,
        "units": [
            {
                "name": u.name,
                "cases": {c.key: current.get((u.id, c.key), 0) for c in campaign.categories},
                "findings": by_unit.get(u.id, []),
            }
            for u in units_sorted
        ],
        "messages": [
            {
                "id": msg.id,
                "message_id": msg.message_id,
                "from": msg.sender,
                "subject": msg.subject,
                "received_at": _iso(msg.received_at),
                "unit": msg.unit.name if msg.unit else None,
                "kind": msg.kind,
                "state": msg.state,
                "findings": by_message.get(msg.id, []),
            }
            for msg in snap.messages
        ],
        "cases": [
            {
                "id": c.id,
                "unit": c.unit.name if c.unit else None,
                "category": c.category,
                "name": c.name,
                "applicant": c.applicant,
                "contact": c.contact,
                "mobile": c.mobile,
                "address": c.address,
                "intro_chars": c.intro_chars,
                "order": c.order,
                "status": c.status,
                "message_id": c.message.message_id,
                "files": [
                    {
                        "id": f.id,
                        "name": f.name,
                        "role": f.role,
                        "size": f.size,
                        "sha256": f.sha256,
                        "caption": f.caption,
                        "duration_s": f.duration_s,
                    }
                    for f in c.files
                ],
                "findings": by_case.get(c.id, []),
                # Fields the campaign's form adds (所在地区…): only under such a campaign.
                **({"extra_fields": {k: (c.fields or {}).get(k) for k in extra}} if extra else {}),
            }
            for c in snap.cases
        ],
        "replies": [
            {
                "id": r.id,
                "message": r.message_id,
                "to": r.to_addr,
                "kind": r.kind,
                "in_reply_to": r.message.message_id,
                # `sending` only survives a crash mid-send: to the outside that is unknown.
                "state": "unknown" if r.state == "sending" else r.state,
            }
            for r in snap.replies
        ],
        "audit": [
            {
                "id": a.id,
                "at": _iso(a.at),
                "actor": a.actor,
                "action": a.action,
                "target": a.target,
                "note": a.note,
                "detail": a.detail,
            }
            for a in session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))
        ],
    }


# -- csv: one row per case, for a spreadsheet or a script -------------------------------------

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "unit",
    "category",
    "order",
    "name",
    "applicant",
    "contact",
    "mobile",
    "address",
    "intro_chars",
    "status",
    "message_id",
    "received_at",
    "photos",
    "videos",
    "video_durations_s",
    "files",
    "error_codes",
    "warning_codes",
    "findings",
)


def write_cases_csv(data: dict[str, Any], fh: TextIO) -> int:
    """The cases of `export_data` as CSV rows (files and findings flattened); returns the count.

    Same values as the JSON export, so the two never disagree; lists are joined with `;`.
    """
    received = {msg["message_id"]: msg["received_at"] for msg in data["messages"]}
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for case in data["cases"]:
        files = case["files"]
        findings = case["findings"]
        videos = [f for f in files if f["role"] == "video"]
        writer.writerow(
            [
                case["id"],
                case["unit"] or "",
                case["category"] or "",
                "" if case["order"] is None else case["order"],
                case["name"],
                case["applicant"] or "",
                case["contact"] or "",
                case["mobile"] or "",
                case["address"] or "",
                "" if case["intro_chars"] is None else case["intro_chars"],
                case["status"],
                case["message_id"] or "",
                received.get(case["message_id"]) or "",
                sum(f["role"] == "photo" for f in files),
                len(videos),
                ";".join(
                    "" if v["duration_s"] is None else f"{v['duration_s']:.1f}" for v in videos
                ),
                len(files),
                ";".join(f["code"] for f in findings if f["severity"] == "error"),
                ";".join(f["code"] for f in findings if f["severity"] != "error"),
                "; ".join(
                    f"{f['code']}: {f['detail']}" if f["detail"] else f["code"] for f in findings
                ),
            ]
        )
    return len(data["cases"])
