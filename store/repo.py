"""Queries and writes the pipeline needs, kept out of the orchestration code."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.models import Message, Source, Unit


def get_or_create_source(session: Session, name: str) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name)
        session.add(source)
        session.flush()
    return source


def get_or_create_unit(session: Session, name: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is None:
        unit = Unit(name=name)
        session.add(unit)
        session.flush()
    return unit


def find_same_message(session: Session, raw_sha256: str, dedupe_key: str | None) -> Message | None:
    """The stored message these bytes repeat: same raw bytes, or same Message-ID and sender."""
    conditions = [Message.raw_sha256 == raw_sha256]
    if dedupe_key:
        conditions.append(Message.dedupe_key == dedupe_key)
    return session.scalars(select(Message).where(or_(*conditions)).limit(1)).first()


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
