"""Accounts, passwords, the session secret, failed-login limits and CSRF tokens.

Passwords are hashed with argon2id (argon2-cffi).  The session lives in a cookie signed with
itsdangerous (Starlette's SessionMiddleware: HttpOnly, SameSite=strict, expiring); it holds the
account name, its id and the CSRF token of the forms the session was given.  Removing an account
ends its sessions: every request checks that the account still exists.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.config import Settings
from store import models as m
from store.audit import record

SECRET_FILE = "console-secret"
MIN_PASSWORD = 10
NAME_MAX = 64

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that the answer takes as long either way.
    Made on first use: hashing costs 0.3 s, and every `intake` command imports this module."""
    return _hasher.hash("not a password of anyone")


def warm_up() -> None:
    """Make the dummy hash now (the console does, at start), so not even the first login's
    answer takes longer for an unknown name."""
    _dummy_hash()


class AccountError(ValueError):
    """The account cannot be created or removed; the text says why."""


def session_secret(settings: Settings) -> str:
    """`web_session_secret`, else a random one made once and kept under the data dir (0600)."""
    if settings.web_session_secret:
        return settings.web_session_secret
    path: Path = settings.data_dir / SECRET_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def add_account(
    session: Session, name: str, password: str, actor: str = "intake staff"
) -> m.StaffAccount:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(c.isspace() for c in name):
        raise AccountError(f"account names are 1–{NAME_MAX} characters without spaces")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(m.StaffAccount).where(m.StaffAccount.name == name)) is not None:
        raise AccountError(f"an account named {name!r} exists already")
    account = m.StaffAccount(name=name, password_hash=_hasher.hash(password))
    session.add(account)
    record(session, actor, "staff.add", f"staff:{name}")
    return account


def remove_account(session: Session, name: str, actor: str = "intake staff") -> None:
    account = session.scalar(select(m.StaffAccount).where(m.StaffAccount.name == name))
    if account is None:
        raise AccountError(f"no account named {name!r}")
    session.delete(account)
    record(session, actor, "staff.remove", f"staff:{name}")


def verify(session: Session, name: str, password: str) -> m.StaffAccount | None:
    """The account when the password is right, else None (in about the same time)."""
    account = session.scalar(select(m.StaffAccount).where(m.StaffAccount.name == name))
    try:
        _hasher.verify(account.password_hash if account else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return account


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: object, given: object) -> bool:
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


class LoginLimiter:
    """At most `per_name` failed logins per account name and `per_address` per client address
    within `window` seconds; further tries are refused until the window has passed."""

    def __init__(self, per_name: int = 5, per_address: int = 20, window: float = 900.0) -> None:
        self.per_name, self.per_address, self.window = per_name, per_address, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> int:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return len(q)

    def blocked(self, name: str, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return (
                self._recent("n:" + name, now) >= self.per_name
                or self._recent("a:" + address, now) >= self.per_address
            )

    def failed(self, name: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures["n:" + name].append(now)
            self._failures["a:" + address].append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop("n:" + name, None)
