"""The audit trail: one row per thing staff did (console actions, `intake replies`, accounts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from store import models as m


def record(
    session: Session, actor: str, action: str, target: str = "", note: str = "", **detail: Any
) -> m.AuditEntry:
    """Add an audit row in the caller's transaction: it commits with the action or not at all."""
    entry = m.AuditEntry(actor=actor, action=action, target=target, note=note, detail=detail)
    session.add(entry)
    return entry
