"""The store on its own: migrations, blobs, constraints."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from store import models as m
from store.blobs import BlobStore
from store.db import HEAD_REVISION, alembic_config, make_engine, migrate, session_factory


def _migrate(url: str) -> None:
    migrate(make_engine(url))


def test_concurrent_first_start_migrates_once(tmp_path: Path, db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_migrate, args=(db_url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    tables = set(inspect(make_engine(db_url)).get_table_names())
    assert {"messages", "cases", "files", "findings", "replies", "units", "sources"} <= tables


def test_head_revision_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_a_current_schema_starts_without_alembic(db_url: str) -> None:
    # Every `intake` command and worker migrates on start; alembic (~11 MB, ~0.2 s) is loaded
    # only where there is something to do: the first start, not the second.
    start = (
        "import sys; from store.db import make_engine, migrate; "
        f"migrate(make_engine({db_url!r})); print('alembic' in sys.modules)"
    )
    loaded = [
        subprocess.run(
            [sys.executable, "-c", start], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert loaded == ["True", "False"]
    assert {"messages", "cases", "replies"} <= set(inspect(make_engine(db_url)).get_table_names())


def test_one_reply_per_message_is_enforced_by_the_database(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        msg = m.Message(raw_sha256="a" * 64, sender="x@y")
        s.add(msg)
        s.flush()
        s.add(m.Reply(message_id=msg.id, to_addr="x@y", kind="receipt"))
    with pytest.raises(IntegrityError), sessions() as s, s.begin():
        s.add(m.Reply(message_id=msg.id, to_addr="x@y", kind="receipt"))
    with sessions() as s:
        assert len(s.scalars(select(m.Reply)).all()) == 1


def test_blobs_are_stored_once_by_content(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    first = blobs.put(b"same bytes")
    assert blobs.put(b"same bytes") == first
    assert blobs.get(first) == b"same bytes"
    assert [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [first]
