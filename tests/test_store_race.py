"""Two processes creating the same unit (or source) at once on PostgreSQL: both get the one row.

Ingest workers meet this on the first messages of a season: before, the second insert failed on
the unique key and its message was quarantined (or, for the `files` source, called a duplicate).
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from store import models as m
from store import repo
from store.db import make_engine, migrate, session_factory


def test_two_transactions_creating_one_unit_share_its_row(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    try:
        first = sessions()
        first.begin()
        mine = repo.get_or_create_unit(first, "北京市")
        source = repo.get_or_create_source(first, "files")
        seen: dict[str, int] = {}
        errors: list[BaseException] = []

        def other() -> None:
            # On PostgreSQL this waits for the first transaction's row, then takes it.
            try:
                with sessions() as s, s.begin():
                    seen["unit"] = repo.get_or_create_unit(s, "北京市").id
                    seen["source"] = repo.get_or_create_source(s, "files").id
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=1)  # still waiting on PostgreSQL; SQLite's lock makes it wait too
        first.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert errors == []
        assert seen == {"unit": mine.id, "source": source.id}
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(m.Unit)) == 1
            assert s.scalar(select(func.count()).select_from(m.Source)) == 1
        first.close()
    finally:
        engine.dispose()
