"""Queries and writes the pipeline needs, kept out of the orchestration code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from store.models import Case, Finding, Message, Reply, Source, Unit

Named = TypeVar("Named", Source, Unit)


def get_or_create_source(session: Session, name: str) -> Source:
    return _get_or_create(session, Source, name)


def get_or_create_unit(session: Session, name: str) -> Unit:
    return _get_or_create(session, Unit, name)


def _get_or_create(session: Session, model: type[Named], name: str) -> Named:
    """The row of this unique name, inserted when missing, safe against other processes.

    A plain select-then-insert races: two ingest workers on PostgreSQL both found no unit
    北京市, both inserted it, and the second message was quarantined on the unique key (a SIGKILL
    test caught it); the same race on the `files` source made a claim say "duplicate".  An
    INSERT … ON CONFLICT DO NOTHING waits for the other transaction and then does nothing.
    """
    row = session.scalar(select(model).where(model.name == name))
    if row is not None:
        return row
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(model).values(name=name).on_conflict_do_nothing(index_elements=["name"]))
    return session.scalars(select(model).where(model.name == name)).one()


def find_same_message(session: Session, raw_sha256: str, dedupe_key: str | None) -> Message | None:
    """The stored message these bytes repeat: same raw bytes, or same Message-ID and sender."""
    conditions = [Message.raw_sha256 == raw_sha256]
    if dedupe_key:
        conditions.append(Message.dedupe_key == dedupe_key)
    return session.scalars(select(Message).where(or_(*conditions)).limit(1)).first()


def source_key_taken(session: Session, source_id: int, source_key: str) -> bool:
    return (
        session.scalar(
            select(Message.id).where(
                Message.source_id == source_id, Message.source_key == source_key
            )
        )
        is not None
    )


def unit_of_sender(session: Session, sender: str, before_id: int) -> str | None:
    """The unit an address wrote for before: a later mail with a bare subject is the same unit."""
    if not sender:
        return None
    row = session.execute(
        select(Unit.name)
        .join(Message, Message.unit_id == Unit.id)
        .where(Message.sender == sender, Message.id != before_id)
        .order_by(Message.id.desc())
        .limit(1)
    ).first()
    return row[0] if row else None


# -- reading everything back, for the report, the export and the workbook ----------------------
# Relations the readers walk are loaded up front (one query each), not row by row.


def load_messages(session: Session) -> Sequence[Message]:
    """Every message, oldest first, with its unit."""
    return session.scalars(
        select(Message).options(selectinload(Message.unit)).order_by(Message.id)
    ).all()


def load_cases(session: Session, *, current_only: bool = False) -> Sequence[Case]:
    """Every case (or only the not superseded ones), oldest first, with files, unit, message."""
    query = select(Case).options(
        selectinload(Case.files), selectinload(Case.unit), selectinload(Case.message)
    )
    if current_only:
        query = query.where(Case.status != "superseded")
    return session.scalars(query.order_by(Case.id)).all()


def load_findings(session: Session) -> Sequence[Finding]:
    return session.scalars(select(Finding).order_by(Finding.id)).all()


def load_replies(session: Session) -> Sequence[Reply]:
    """Every reply, oldest first, with the message it answers."""
    return session.scalars(
        select(Reply).options(selectinload(Reply.message)).order_by(Reply.id)
    ).all()


@dataclass(frozen=True)
class Snapshot:
    """All the store holds, read in one session."""

    messages: Sequence[Message]
    cases: Sequence[Case]
    findings: Sequence[Finding]
    replies: Sequence[Reply]
    units: Sequence[Unit]


def load_everything(session: Session) -> Snapshot:
    return Snapshot(
        messages=load_messages(session),
        cases=load_cases(session),
        findings=load_findings(session),
        replies=load_replies(session),
        units=session.scalars(select(Unit).order_by(Unit.id)).all(),
    )
