"""Shared fixtures: a store on SQLite and on a throw-away PostgreSQL database."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from campaign import Campaign, load_campaign
from intake import logs
from intake.app import App
from intake.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CAMPAIGN_FILE = ROOT / "campaign" / "bundled" / "2023.toml"
PG_ADMIN_URL = os.environ.get(
    "INTAKE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def campaign() -> Campaign:
    return load_campaign(CAMPAIGN_FILE)


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throw-away database for this test run, dropped at the end."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"intake_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_pg(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    url: str = request.getfixturevalue("pg_server")
    _reset_pg(url)
    return url


def make_app(tmp_path: Path, db_url: str | None = None, **extra: str) -> App:
    env = {"INTAKE_DATA_DIR": str(tmp_path / "var")}
    if db_url:
        env["INTAKE_DATABASE_URL"] = db_url
    env.update({f"INTAKE_{k.upper()}": v for k, v in extra.items()})
    return App(load_settings(environ=env))


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[App]:
    application = make_app(tmp_path, db_url)
    yield application
    application.engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'intake.db'}"


@pytest.fixture
def json_logs() -> Iterator[None]:
    """`intake poll`/`run` put a JSON handler on the root logger; take it off afterwards (pytest
    manages its own capture handlers per test phase)."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if isinstance(handler.formatter, logs.JsonFormatter):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[App]:
    application = make_app(tmp_path)
    yield application
    application.engine.dispose()
