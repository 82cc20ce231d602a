"""A real Dovecot for the test suite, started once per session from a config of its own.

Why a real server: the traps are in the protocol (`UID n:*` returning the last message, \\Seen
set by `BODY[]` but not `BODY.PEEK[]`, UIDVALIDITY after a mailbox is recreated, connections
dropped by a restart), and a fake would only repeat our own assumptions.

Each test gets its own user, so its own mailbox, with `Dovecot.new_user()`.

Test modules load the fixtures with `pytest_plugins = ["tests.dovecot"]` (one session-wide
server however many modules ask) and import the helpers too, so pytest finds this module
already imported: PYTEST_DONT_REWRITE (it has no asserts to rewrite) keeps it from warning.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from intake.app import App
from samples.mail import build_submission
from tests.conftest import make_app

DOVECOT_CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
# Dovecot refuses to run mail processes as root; a numeric uid without a passwd entry works.
MAIL_UID = 5000
USER_POOL = 200


def find_dovecot() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    return next((p for p in DOVECOT_CANDIDATES if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Direct children of a process, from /proc (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


@dataclass(frozen=True)
class MailUser:
    name: str
    password: str
    home: Path


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {first_uid}
first_valid_gid = {first_gid}
mail_location = maildir:~/Maildir
default_internal_user = {internal_user}
default_login_user = {login_user}
default_internal_group = {internal_group}
shutdown_clients = yes
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  # No chroot: it needs root, and the tests may run without it.
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # No per-IP auth penalty after the wrong-password test: every test logs in from 127.0.0.1.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class Dovecot:
    """One unprivileged Dovecot; `stop()`/`start()` simulate a server restart."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.port = free_port()
        self.host = "127.0.0.1"
        self._users = itertools.count(1)
        self.proc: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            self.uid, self.gid = MAIL_UID, MAIL_UID
            internal, login, group = "dovecot", "dovenull", "dovecot"
        else:
            # Unprivileged: every Dovecot process and the mail run as the user running the tests.
            import grp
            import pwd

            self.uid, self.gid = os.getuid(), os.getgid()
            internal = login = pwd.getpwuid(self.uid).pw_name
            group = grp.getgrgid(self.gid).gr_name
        for sub in ("run", "state", "homes"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        # pytest makes temp dirs 0700; Dovecot's auth and mail users must traverse them.
        for path in (root, root / "homes"):
            path.chmod(0o755)
        self._write_users()
        (root / "users").chmod(0o644)
        self.conf = root / "dovecot.conf"
        self.conf.write_text(
            CONFIG.format(
                root=root,
                port=self.port,
                first_uid=min(self.uid, 500) or 1,
                first_gid=min(self.gid, 500) or 1,
                internal_user=internal,
                login_user=login,
                internal_group=group,
            )
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"dovecot exited: {err}\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    if s.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start:\n{self.log()}")

    def stop(self) -> None:
        """Stop the server the way `systemctl stop` does: every process of it, the ones
        serving open connections included (Dovecot's master alone leaves those running)."""
        if self.proc is None:
            return
        children = _children(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        for pid in children:
            _signal(pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        deadline = time.monotonic() + 3
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in children:
            _signal(pid, signal.SIGKILL)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        # The master is gone; wait until no child holds the port any more.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                return

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # -- users and mail ----------------------------------------------------------------------

    def new_user(self) -> MailUser:
        """A user with an empty mailbox, from the pool written before the server started
        (Dovecot notices a changed passwd-file by its mtime, in whole seconds)."""
        n = next(self._users)
        if n > USER_POOL:
            raise RuntimeError(f"more than {USER_POOL} test users; raise USER_POOL")
        return self._user(n)

    def _user(self, n: int) -> MailUser:
        return MailUser(name=f"u{n}", password=f"pw-{n}", home=self.root / "homes" / f"u{n}")

    def _write_users(self) -> None:
        lines = []
        for n in range(1, USER_POOL + 1):
            user = self._user(n)
            user.home.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                os.chown(user.home, self.uid, self.gid)
            lines.append(
                f"{user.name}:{{PLAIN}}{user.password}:{self.uid}:{self.gid}::{user.home}::"
            )
        (self.root / "users").write_text("\n".join(lines) + "\n")

    def client(self, user: MailUser) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user.name, user.password)
        return client

    def append(
        self,
        user: MailUser,
        messages: Sequence[bytes],
        folder: str = "INBOX",
        flags: Sequence[str] = (),
        when: datetime | None = None,
    ) -> list[int]:
        """Put mail in a mailbox the way a delivery would; returns the new UIDs."""
        uids: list[int] = []
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            for raw in messages:
                resp = c.append(folder, raw, flags=list(flags), msg_time=when)
                # APPENDUID (UIDPLUS): b"[APPENDUID <uidvalidity> <uid>] Append completed."
                text = resp.decode() if isinstance(resp, bytes) else str(resp)
                uids.append(int(text.split("]")[0].split()[-1]))
        return uids

    def flags(self, user: MailUser, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        with self.client(user) as c:
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            data = c.fetch(uids, ["FLAGS"]) if uids else {}
            return {uid: tuple(v[b"FLAGS"]) for uid, v in data.items()}

    def uids(self, user: MailUser, folder: str = "INBOX") -> list[int]:
        with self.client(user) as c:
            c.select_folder(folder, readonly=True)
            return sorted(c.search("ALL"))

    def uidvalidity(self, user: MailUser, folder: str = "INBOX") -> int:
        with self.client(user) as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate_folder(self, user: MailUser, folder: str) -> None:
        """Delete and create a mailbox: same name, new UIDVALIDITY, UIDs from 1 again."""
        with self.client(user) as c:
            c.delete_folder(folder)
            c.create_folder(folder)


def start_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in a short temp dir (socket paths are limited to 108 bytes)."""
    binary = find_dovecot()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed (Debian: dovecot-imapd)")
        pytest.skip("dovecot is not installed (Debian: dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="dc-", dir="/tmp"))
    server = Dovecot(binary, root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """The session's Dovecot (test modules load this file with `pytest_plugins`)."""
    yield from start_dovecot()


@pytest.fixture
def mail_user(dovecot: Dovecot) -> MailUser:
    if not dovecot.running:
        dovecot.start()
    return dovecot.new_user()


# -- what the tests put in and how they point intake at it ----------------------------------------


def mail(n: int, marker: str = "") -> bytes:
    """A small submission with its own Message-ID (no attachments: fast to process)."""
    return build_submission(
        subject="北京市低碳发展典型案例申报材料",
        body=f"工作负责人：张三，电话 13812345678，邮箱 zhangsan@example.cn {marker}",
        message_id=f"<imap-test-{n}-{marker}@sthjj.beijing.gov.cn>",
    )


def imap_app(
    tmp_path: Path, db_url: str | None, dovecot: Dovecot, user: MailUser, **extra: str
) -> App:
    """An App reading `user`'s mailbox on the test Dovecot; `extra` are more settings."""
    settings = {
        "imap_host": dovecot.host,
        "imap_port": str(dovecot.port),
        "imap_user": user.name,
        "imap_password": user.password,
        "imap_security": "none",
    }
    return make_app(tmp_path, db_url, **{**settings, **extra})
