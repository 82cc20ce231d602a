"""Engine, sessions and migrations."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Schemes this service is built and tested for.
SCHEMES = ("sqlite:///PATH", "postgresql+psycopg://USER@HOST:PORT/DATABASE")
# A server that swallows packets must not hang a start for minutes.
CONNECT_TIMEOUT_S = 10


class DatabaseUrlInvalid(ValueError):
    """The URL itself is wrong (scheme, shape, a SQLite path that cannot exist): fix the setting."""


class DatabaseUnreachable(Exception):
    """The database server is down, refuses, times out or rejects the login: try again later."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


def make_engine(url: str) -> Engine:
    """An engine for `url`; raises `DatabaseUrlInvalid` for a URL that can never work."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlInvalid(
            f"{url.split('://', 1)[0] + '://…' if '://' in url else 'this'} is not a database "
            f"URL; use {' or '.join(SCHEMES)}"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUrlInvalid(
                    f"cannot create the folder {Path(path).parent} for the SQLite file: "
                    f"{exc.strerror}"
                ) from None
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets `intake status` read while a poll writes; foreign keys are off by default.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        return engine
    connect_args = (
        {"connect_timeout": CONNECT_TIMEOUT_S} if parsed.get_backend_name() == "postgresql" else {}
    )
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except NoSuchModuleError:
        raise DatabaseUrlInvalid(
            f"unknown scheme {parsed.drivername!r}; use {' or '.join(SCHEMES)}"
        ) from None
    except ImportError as exc:
        raise DatabaseUrlInvalid(
            f"the driver for {parsed.drivername!r} is not installed ({exc.name}); "
            f"use {' or '.join(SCHEMES)}"
        ) from None


def unreachable_reason(exc: OperationalError) -> str:
    """Why a connection failed, in a few words, without the driver's text (which may quote the
    server's whole answer)."""
    text = str(exc.orig or exc).lower()
    for needle, reason in (
        ("password authentication failed", "the server rejected the user name or password"),
        ("no password supplied", "the server wants a password and none was given"),
        ("does not exist", "the server says that database or role does not exist"),
        ("connection refused", "connection refused (is the server running?)"),
        ("timeout", "no answer (timed out)"),
        ("timed out", "no answer (timed out)"),
        ("could not translate host name", "the host name cannot be resolved"),
        ("name or service not known", "the host name cannot be resolved"),
        ("no route to host", "no route to the host"),
        ("network is unreachable", "the network is unreachable"),
        ("the database system is starting up", "the server is still starting up"),
        ("too many connections", "the server has too many connections"),
    ):
        if needle in text:
            return reason
    return f"connection failed ({type(exc.orig or exc).__name__})"


def where(engine: Engine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def alembic_config() -> Config:
    # Imported here, not at the top: alembic costs ~11 MB and ~0.2 s in every process, and most
    # starts (every worker's, every command's on a current schema) have nothing to migrate.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


MIGRATION_LOCK_KEY = 0x1A7A4E01
# The newest revision under migrations/versions (test_store checks it against alembic's head):
# a database already there needs no alembic at all.
HEAD_REVISION = "0005"


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; `intake` calls this on every start.

    Serialised across processes (a service and a cron `intake poll` may start together on a
    fresh database): an advisory lock on PostgreSQL, a lock file beside a SQLite database.
    """
    try:
        # Opening the connection is also the check that the database can be reached at all.
        with _sqlite_file_lock(engine), engine.connect() as conn:
            if _revisions(conn) == [HEAD_REVISION]:
                return
    except OperationalError as exc:
        if engine.dialect.name == "sqlite":
            raise DatabaseUrlInvalid(
                f"cannot open the SQLite file {engine.url.database}: {exc.orig}"
            ) from None
        raise DatabaseUnreachable(where(engine), unreachable_reason(exc)) from None
    except OSError as exc:  # the lock file beside a SQLite database
        raise DatabaseUrlInvalid(
            f"cannot use the folder of {engine.url.database}: {exc.strerror}"
        ) from None
    from alembic import command  # see alembic_config

    cfg = alembic_config()
    with _sqlite_file_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _revisions(conn: Connection) -> list[str]:
    """The revisions alembic recorded; none on a fresh database (or one that cannot say)."""
    try:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError:  # no such table yet; anything worse, alembic meets and reports
        return []


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session
