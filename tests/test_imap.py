"""IMAP polling against a real Dovecot: exactly once, never \\Seen, resumable, resilient."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from intake import imap, imap_mail, locks
from intake.app import App
from intake.config import ConfigError, Settings
from intake.pipeline import Pipeline
from store import models as m
from tests.conftest import make_app
from tests.dovecot import Dovecot, MailUser, imap_app, mail

pytest_plugins = ["tests.dovecot"]  # the session's Dovecot and a fresh mailbox per test

FAST = {"attempts": 8, "backoff": (0.1, 0.5)}


@pytest.fixture
def dispose() -> Iterator[list[App]]:
    apps: list[App] = []
    yield apps
    for app in apps:
        app.engine.dispose()


def messages(app: App) -> list[m.Message]:
    with app.sessions() as session:
        return list(session.scalars(select(m.Message).order_by(m.Message.id)))


def source(app: App) -> m.Source:
    with app.sessions() as session:
        return session.scalars(select(m.Source).where(m.Source.name.like("imap:%"))).one()


class FetchSpy:
    """Wraps the client factory to record every FETCH the poller sends."""

    def __init__(self) -> None:
        self.fetches: list[tuple[list[int], list[str]]] = []

    def __call__(self, settings: Settings) -> IMAPClient:
        client = imap.connect(settings)
        original = client.fetch

        def fetch(msgs: Any, data: Any, modifiers: Any = None) -> Any:
            self.fetches.append((list(msgs), list(data)))
            return original(msgs, data, modifiers)

        client.fetch = fetch
        return client

    def bodies(self) -> list[list[int]]:
        return [uids for uids, items in self.fetches if "BODY.PEEK[]" in items]


# ---------------------------------------------------------------------------------------------


def test_a_batch_is_shared_out_among_worker_processes_and_marked_in_uid_order(
    tmp_path: Path,
    dovecot: Dovecot,
    mail_user: MailUser,
    sqlite_url: str,
    dispose: list[App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uids = dovecot.append(mail_user, [mail(n) for n in range(1, 6)])
    app = imap_app(tmp_path, sqlite_url, dovecot, mail_user, workers="2", converter="cold")
    dispose.append(app)
    here: list[str] = []
    original = Pipeline.ingest

    def ingest(self: Pipeline, raw: bytes, **kw: Any) -> Any:
        here.append(kw["source_key"])
        return original(self, raw, **kw)

    # Patched in this process only: the worker processes have their own pipelines.
    monkeypatch.setattr(Pipeline, "ingest", ingest)
    poller = imap.Poller(app)
    result = poller.poll()

    assert result.status == "ok" and result.counts == {"processed": 5}
    assert here == []  # every message was ingested by a worker
    assert poller._workers is None  # and the workers were stopped with the poll
    uidvalidity = dovecot.uidvalidity(mail_user)
    assert sorted(str(r.source_key) for r in messages(app)) == sorted(
        f"{uidvalidity}:{u}" for u in uids
    )
    assert result.last_uid == max(uids)
    # A second poll finds nothing new: the mark moved past every message.
    assert imap.Poller(app).poll().counts == {}


def test_new_mail_is_picked_up_exactly_once_and_never_marked_read(
    tmp_path: Path, db_url: str, dovecot: Dovecot, mail_user: MailUser, dispose: list[App]
) -> None:
    when = datetime(2023, 12, 1, 1, 30, tzinfo=UTC)
    unread = dovecot.append(mail_user, [mail(1), mail(2), mail(3)], when=when)
    # A person already opened this one in their mail client.
    read = dovecot.append(mail_user, [mail(4)], flags=[r"\Seen"], when=when)
    app = imap_app(tmp_path, db_url, dovecot, mail_user, imap_batch="2")
    dispose.append(app)
    spy = FetchSpy()

    result = imap.Poller(app, client_factory=spy).poll()

    assert result.status == "ok"
    assert result.counts == {"processed": 4}
    # Bounded batches, bodies fetched with PEEK only.
    assert spy.bodies() == [[1, 2], [3, 4]]
    assert not any("BODY[]" in items or "RFC822" in items for _, items in spy.fetches)
    rows = messages(app)
    uidvalidity = dovecot.uidvalidity(mail_user)
    # Worker processes share a batch out, so rows are not in UID order; each UID once.
    assert sorted(str(r.source_key) for r in rows) == sorted(
        f"{uidvalidity}:{u}" for u in unread + read
    )
    assert {r.state for r in rows} == {"processed"}
    assert all(r.received_at == when for r in rows)
    # Staff still see unread mail as unread, and read mail as read.
    flags = dovecot.flags(mail_user)
    assert all(b"\\Seen" not in flags[u] for u in unread)
    assert b"\\Seen" in flags[read[0]]
    src = source(app)
    assert (src.uidvalidity, src.last_uid) == (uidvalidity, 4)
    assert src.last_success_at is not None and src.last_error is None

    # `UID 5:*` still answers with UID 4; the poller must not take it again.
    spy.fetches.clear()
    again = imap.Poller(app, client_factory=spy).poll()
    assert again.status == "ok" and again.fetched == 0 and not again.counts
    assert spy.bodies() == []
    assert len(messages(app)) == 4


def test_restart_picks_up_where_it_stopped(
    tmp_path: Path, dovecot: Dovecot, mail_user: MailUser, sqlite_url: str, dispose: list[App]
) -> None:
    dovecot.append(mail_user, [mail(1), mail(2)])
    first = imap_app(tmp_path, sqlite_url, dovecot, mail_user)
    dispose.append(first)
    assert imap.Poller(first).poll().counts == {"processed": 2}
    first.engine.dispose()

    dovecot.append(mail_user, [mail(3), mail(4), mail(5)])
    # A new process: nothing in memory, only what the database remembers.
    second = imap_app(tmp_path, sqlite_url, dovecot, mail_user)
    dispose.append(second)
    spy = FetchSpy()
    result = imap.Poller(second, client_factory=spy).poll()
    assert result.counts == {"processed": 3}
    assert sorted(u for batch in spy.bodies() for u in batch) == [3, 4, 5]
    assert len(messages(second)) == 5
    assert source(second).last_uid == 5


def test_uidvalidity_change_resyncs_without_processing_twice(
    tmp_path: Path, db_url: str, dovecot: Dovecot, mail_user: MailUser, dispose: list[App]
) -> None:
    folder = "Submissions"
    old = [mail(1), mail(2)]
    dovecot.append(mail_user, old, folder=folder)
    app = imap_app(tmp_path, db_url, dovecot, mail_user, imap_folder=folder)
    dispose.append(app)
    assert imap.Poller(app).poll().counts == {"processed": 2}
    before = source(app).uidvalidity

    # The mailbox is recreated (restored from a backup, migrated): UIDs start at 1 again.
    dovecot.recreate_folder(mail_user, folder)
    dovecot.append(mail_user, [*old, mail(3)], folder=folder)
    after = dovecot.uidvalidity(mail_user, folder)
    assert after != before

    result = imap.Poller(app).poll()
    assert result.resync
    assert result.counts == {"duplicate": 2, "processed": 1}
    rows = messages(app)
    assert len(rows) == 3
    assert rows[-1].source_key == f"{after}:3"
    assert (source(app).uidvalidity, source(app).last_uid) == (after, 3)


def test_flags_or_moves_only_after_storing(
    tmp_path: Path, dovecot: Dovecot, mail_user: MailUser, sqlite_url: str, dispose: list[App]
) -> None:
    dovecot.append(mail_user, [mail(1), mail(2)])
    app = imap_app(tmp_path, sqlite_url, dovecot, mail_user, imap_processed_flag="$Processed")
    dispose.append(app)
    assert imap.Poller(app).poll().counts == {"processed": 2}
    assert all(b"$Processed" in f for f in dovecot.flags(mail_user).values())
    for row in messages(app):
        assert app.blobs.exists(row.raw_sha256)

    dovecot.append(mail_user, [mail(3)])
    mover = imap_app(tmp_path / "b", sqlite_url, dovecot, mail_user, imap_move_to="Processed")
    dispose.append(mover)
    result = imap.Poller(mover).poll()
    assert result.counts == {"processed": 1}
    assert dovecot.uids(mail_user) == [1, 2]  # only the new one moved; the rest stay
    assert len(dovecot.uids(mail_user, "Processed")) == 1
    assert mover.blobs.exists(messages(mover)[-1].raw_sha256)


def test_server_restart_in_the_middle_of_a_poll(
    tmp_path: Path,
    dovecot: Dovecot,
    mail_user: MailUser,
    sqlite_url: str,
    dispose: list[App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.append(mail_user, [mail(n) for n in range(1, 7)])
    # The fault is patched into this process's pipeline: no worker processes.
    app = imap_app(tmp_path, sqlite_url, dovecot, mail_user, imap_batch="2", workers="1")
    dispose.append(app)
    original = Pipeline.ingest
    calls: list[str] = []
    restarted = threading.Event()

    def come_back() -> None:
        dovecot.start()
        restarted.set()

    def ingest(self: Pipeline, raw: bytes, **kw: Any) -> Any:
        outcome = original(self, raw, **kw)
        calls.append(kw["source_key"])
        if len(calls) == 3 and not restarted.is_set():
            # The server goes down under us and comes back a moment later.
            dovecot.stop()
            threading.Timer(0.3, come_back).start()
        return outcome

    monkeypatch.setattr(Pipeline, "ingest", ingest)
    result = imap.Poller(app, **FAST).poll()  # type: ignore[arg-type]
    assert restarted.wait(10)

    assert result.status == "ok", result.error
    assert result.reconnects >= 1
    assert result.counts == {"processed": 6}
    assert len(calls) == len(set(calls)) == 6  # nothing fetched twice
    assert [r.state for r in messages(app)] == ["processed"] * 6
    assert source(app).last_error is not None  # the drop is on record, the poll succeeded


def test_unreachable_server_is_recorded_in_the_heartbeat(
    tmp_path: Path, sqlite_url: str, dispose: list[App]
) -> None:
    from tests.dovecot import free_port

    app = make_app(
        tmp_path,
        sqlite_url,
        imap_host="127.0.0.1",
        imap_port=str(free_port()),
        imap_user="nobody",
        imap_security="none",
    )
    dispose.append(app)
    result = imap.Poller(app, attempts=3, backoff=(0.05, 0.1)).poll()
    assert result.status == "failed"
    assert result.reconnects == 2
    assert "ConnectionRefusedError" in (result.error or "")
    src = source(app)
    assert src.last_poll_at is not None and src.last_success_at is None
    assert "ConnectionRefusedError" in (src.last_error or "")


def test_wrong_password_is_not_retried(
    tmp_path: Path, dovecot: Dovecot, mail_user: MailUser, sqlite_url: str, dispose: list[App]
) -> None:
    app = imap_app(tmp_path, sqlite_url, dovecot, mail_user, imap_password="wrong-one")
    dispose.append(app)
    result = imap.Poller(app, **FAST).poll()  # type: ignore[arg-type]
    assert result.status == "failed" and result.login_refused
    assert result.reconnects == 0
    assert "wrong-one" not in (result.error or "")


def test_a_message_that_always_fails_is_quarantined_and_the_rest_pass(
    tmp_path: Path,
    db_url: str,
    dovecot: Dovecot,
    mail_user: MailUser,
    dispose: list[App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.append(mail_user, [mail(1), mail(2, "POISON"), mail(3)])
    # The fault is patched into this process's pipeline: no worker processes.
    app = imap_app(tmp_path, db_url, dovecot, mail_user, workers="1")
    dispose.append(app)
    original = Pipeline._process

    def process(self: Pipeline, *args: Any, **kw: Any) -> Any:
        raw = next(a for a in args if isinstance(a, bytes))
        if b"POISON" in raw:
            raise ValueError("parser blew up on this one")
        return original(self, *args, **kw)

    monkeypatch.setattr(Pipeline, "_process", process)
    result = imap.Poller(app).poll()
    assert result.status == "ok"
    assert result.counts == {"processed": 2, "quarantined": 1}
    states = [r.state for r in messages(app)]
    assert states == ["processed", "quarantined", "processed"]
    assert "parser blew up" in (messages(app)[1].error or "")
    assert source(app).last_uid == 3
    assert imap.Poller(app).poll().fetched == 0  # not retried on every poll


class Crash(BaseException):
    """Stands in for the process dying inside the pipeline (OOM killer, segfaulting library)."""


def test_a_message_that_kills_the_process_is_quarantined_after_a_few_attempts(
    tmp_path: Path,
    dovecot: Dovecot,
    mail_user: MailUser,
    sqlite_url: str,
    dispose: list[App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.append(mail_user, [mail(1), mail(2, "POISON"), mail(3)])
    # No wait between attempts and no minimum time: the attempt limit alone decides here.
    limit = 3
    app = imap_app(
        tmp_path,
        sqlite_url,
        dovecot,
        mail_user,
        retry_limit=str(limit),
        retry_first_s="0",
        quarantine_after_s="0",
        workers="1",  # the fault is patched into this process's pipeline
    )
    dispose.append(app)
    original = Pipeline._process

    def process(self: Pipeline, *args: Any, **kw: Any) -> Any:
        raw = next(a for a in args if isinstance(a, bytes))
        if b"POISON" in raw:
            raise Crash()
        return original(self, *args, **kw)

    monkeypatch.setattr(Pipeline, "_process", process)
    crashes = 0
    for _ in range(limit + 2):
        try:
            result = imap.Poller(app).poll()
            break
        except Crash:
            crashes += 1
    assert crashes == limit
    rows = messages(app)
    assert [r.state for r in rows] == ["processed", "quarantined", "processed"]
    assert rows[1].attempts == limit
    assert result.status == "ok" and source(app).last_uid == 3


def test_only_one_poll_at_a_time(
    tmp_path: Path, db_url: str, dovecot: Dovecot, mail_user: MailUser, dispose: list[App]
) -> None:
    dovecot.append(mail_user, [mail(1)])
    app = imap_app(tmp_path, db_url, dovecot, mail_user)
    dispose.append(app)
    poller = imap.Poller(app)
    # Another process (another connection, another open file) holds the poll lock.
    with locks.exclusive(app.engine, app.settings.data_dir, f"poll:{poller.source}") as held:
        assert held
        assert poller.poll().status == "skipped"
        with locks.exclusive(app.engine, app.settings.data_dir, f"poll:{poller.source}") as twice:
            assert not twice
    assert poller.poll().counts == {"processed": 1}


def test_not_configured_is_a_configuration_error(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    with pytest.raises(ConfigError, match="INTAKE_IMAP_HOST"):
        imap.Poller(app).poll()


def test_batches_are_bounded_by_count_and_bytes() -> None:
    uids = [1, 2, 3, 4, 5, 6]
    sizes = {1: 10, 2: 10, 3: 100, 4: 10, 5: 10, 6: 10}
    assert list(imap_mail.uid_batches(uids, sizes, 3, 1000)) == [[1, 2, 3], [4, 5, 6]]
    assert list(imap_mail.uid_batches(uids, sizes, 10, 50)) == [[1, 2], [3], [4, 5, 6]]
    assert list(imap_mail.uid_batches([], {}, 5, 5)) == []


def test_counts_in_the_database_match(
    tmp_path: Path, dovecot: Dovecot, mail_user: MailUser, sqlite_url: str, dispose: list[App]
) -> None:
    """The same mail twice in the inbox (a unit pressed send twice) is one message."""
    same = mail(1)
    dovecot.append(mail_user, [same, same, mail(2)])
    app = imap_app(tmp_path, sqlite_url, dovecot, mail_user)
    dispose.append(app)
    assert imap.Poller(app).poll().counts == {"processed": 2, "duplicate": 1}
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Message)) == 2


def test_uidvalidity_and_uids_above_2_31_are_stored_reversibly(app: App) -> None:
    """Unsigned 32-bit on the wire: past PostgreSQL's signed `integer`."""
    big_validity, big_uid = 2**32 - 1, 3_000_000_000
    with app.sessions() as session, session.begin():
        session.add(
            m.Source(
                name="imap:x@y/INBOX",
                uidvalidity=big_validity,
                last_uid=big_uid,
            )
        )
    src = source(app)
    assert src.uidvalidity == big_validity
    assert src.last_uid == big_uid
