"""Finding waivers: staff's decision that a finding is wrong, kept across re-triage.

Triage deletes a case's (message's, unit's) findings and judges them afresh, so a decision
cannot live on the finding row alone.  A `Waiver` names the finding by where it is (the case,
message or unit row, by level), its code, its file and its detail text; every finding created
later with the same key carries the waiver's note in `Finding.waived`.  The case id, message id
and unit id survive `intake retriage` (only findings are re-created), so the key does too.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import models as m

WaiverKey = tuple[str, int | None, str, str, str]


def _anchor(
    level: str, case_id: int | None, message_id: int | None, unit_id: int | None
) -> int | None:
    if level == "case":
        return case_id
    if level == "unit":
        return unit_id
    return message_id


def finding_key(f: m.Finding) -> WaiverKey:
    return (
        f.level,
        _anchor(f.level, f.case_id, f.message_id, f.unit_id),
        f.code,
        f.file or "",
        f.detail or "",
    )


def waiver_key(w: m.Waiver) -> WaiverKey:
    return (w.level, _anchor(w.level, w.case_id, w.message_id, w.unit_id), w.code, w.file, w.detail)


def apply_waivers(session: Session, findings: Iterable[m.Finding]) -> None:
    """Copy the note of a matching waiver onto each (new) finding; clear it where none matches."""
    rows = list(findings)
    if not rows:
        return
    case_ids = {f.case_id for f in rows if f.case_id is not None}
    message_ids = {f.message_id for f in rows if f.message_id is not None}
    unit_ids = {f.unit_id for f in rows if f.unit_id is not None}
    waivers = session.scalars(
        select(m.Waiver).where(
            m.Waiver.case_id.in_(case_ids)
            | m.Waiver.message_id.in_(message_ids)
            | m.Waiver.unit_id.in_(unit_ids)
        )
    ).all()
    notes = {waiver_key(w): w.note for w in waivers}
    for f in rows:
        f.waived = notes.get(finding_key(f))


def waive(session: Session, finding: m.Finding, note: str, actor: str) -> m.Waiver:
    """Record a waiver for `finding` (replacing an earlier one of the same key)."""
    unwaive(session, finding)
    level = finding.level
    waiver = m.Waiver(
        level=level,
        code=finding.code,
        case_id=finding.case_id if level == "case" else None,
        message_id=finding.message_id if level not in ("case", "unit") else None,
        unit_id=finding.unit_id if level == "unit" else None,
        file=finding.file or "",
        detail=finding.detail or "",
        note=note,
        actor=actor,
    )
    session.add(waiver)
    finding.waived = note
    return waiver


def unwaive(session: Session, finding: m.Finding) -> int:
    """Remove the waivers matching `finding`; returns how many there were."""
    key = finding_key(finding)
    found = [
        w
        for w in session.scalars(select(m.Waiver).where(m.Waiver.code == finding.code))
        if waiver_key(w) == key
    ]
    for w in found:
        session.delete(w)
    finding.waived = None
    return len(found)
