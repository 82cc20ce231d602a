"""One warm LibreOffice for every worker process of an `intake` run.

Each ingest worker used to start its own unoserver and LibreOffice: about 250 MB apiece, which
alone put a two-worker season over the issue's 600 MB for the whole process tree (measured 1,061
MB).  A second LibreOffice only helps while two workers convert at the very same moment; the
floor converts every `.doc` with one.  So the pool starts one small host process that owns
one `WarmConverter`, with its supervision (timeouts,
restarts) in one place, and each worker converts through a `RemoteConverter`.

The host dies with the process that started it (`die_with_parent`), and its LibreOffice with it.
When the host is gone or cannot be reached, a `RemoteConverter` raises `WarmUnavailable`, so the
worker converts with a cold `soffice`, as it would without a warm converter.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from types import FrameType
from typing import Any, cast

import psutil

from programs.libreoffice import ConversionResult, Document
from programs.run import die_with_parent
from programs.warm_converter import WarmConverter, WarmUnavailable

# What a host that died, or never answered, looks like to a client.
_GONE = (OSError, EOFError)
_STOP_TIMEOUT = 15.0


_converters: dict[tuple[str | None, str | None], WarmConverter] = {}
# The host answers each client in a thread of its own.
_converters_lock = threading.Lock()


def _host_converter(server: str | None, soffice: str | None) -> WarmConverter:
    # Every client gets the host's one converter for these programs.
    with _converters_lock:
        key = (server, soffice)
        if key not in _converters:
            _converters[key] = WarmConverter(server, soffice)
        return _converters[key]


@dataclass(frozen=True)
class HostAddress:
    """Where the host listens, and the key a client proves itself with (picklable, for the
    workers' start-up arguments)."""

    address: str
    authkey: bytes
    server: str | None
    soffice: str | None


class ConverterHost:
    """The host process; `address` is what to hand each worker.

    Started as `python -m programs.converter_host`, not with `multiprocessing`: a spawned
    process imports the parent's main module, and the host then weighed 158 MB (everything
    `intake` imports) instead of about 20.  The key comes over stdin, never the command line.
    """

    def __init__(self, server: str | None = None, soffice: str | None = None) -> None:
        authkey = secrets.token_bytes(32)
        root = Path(__file__).resolve().parents[1]
        # The host's temp folder, LibreOffice's profile inside: `close` finds what is left by it.
        self._folder = tempfile.mkdtemp(prefix="intake-converter-")
        env = {
            "TMPDIR": self._folder,
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH")))),
        }
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "programs.converter_host"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads touched before exec
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(authkey.hex().encode() + b"\n")
        self._proc.stdin.close()
        line = self._proc.stdout.readline().decode().strip()
        if not line:
            self._proc.wait(timeout=10)
            raise WarmUnavailable("the converter host did not start")
        self.address = HostAddress(line, authkey, server, soffice)

    def close(self) -> None:
        """Stop the host; its converter stops LibreOffice on the way out."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        # A host killed outright (SIGKILL, the OOM killer) stops nothing: its unoserver gets
        # SIGTERM from the kernel, and now and then LibreOffice's `oosplash` outlived it (seen
        # in about one run of three).  Whatever still names the host's folder goes now.
        _kill_users_of(self._folder)
        shutil.rmtree(self._folder, ignore_errors=True)


def _kill_users_of(folder: str) -> None:
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(folder in arg for arg in proc.info["cmdline"] or ()):
                proc.kill()


class RemoteConverter:
    """A worker's handle on the host's converter; same `convert` as a `WarmConverter`.

    One request at a time over an authenticated Unix socket: `(operation, programs, args)`
    in, `("ok", value)` or `("error", exception)` out.
    """

    def __init__(self, host: HostAddress) -> None:
        self.host = host
        self._conn: Connection | None = None

    def _ask(self, operation: str, *args: Any) -> Any:
        try:
            if self._conn is None:
                self._conn = Client(self.host.address, family="AF_UNIX", authkey=self.host.authkey)
            self._conn.send((operation, (self.host.server, self.host.soffice), args))
            status, value = self._conn.recv()
        except _GONE as exc:
            self._conn = None
            raise WarmUnavailable(f"the shared converter cannot be reached: {exc!r}") from exc
        if status == "error":
            raise value
        return value

    def convert(self, documents: Sequence[Document]) -> list[ConversionResult]:
        return cast(list[ConversionResult], self._ask("convert", list(documents)))

    def server_pid(self) -> int | None:
        """The host's unoserver process, while one runs (for tests)."""
        return cast(int | None, self._ask("server_pid"))


def _answer(conn: Connection) -> None:
    """One client's requests, until it hangs up."""
    with conn:
        while True:
            try:
                operation, programs, args = conn.recv()
            except _GONE:
                return
            converter = _host_converter(*programs)
            try:
                if operation == "convert":
                    reply: tuple[str, Any] = ("ok", converter.convert(*args))
                else:
                    reply = ("ok", converter.server_pid())
            except Exception as exc:  # noqa: BLE001 - WarmUnavailable etc.: the client raises it
                reply = ("error", exc)
            try:
                conn.send(reply)
            except _GONE:
                return


def _serve() -> None:
    """The host's main: read the key, listen on a Unix socket in a private folder, print its
    address, answer clients until SIGTERM (or the parent's death), then stop the converter."""
    die_with_parent()
    authkey = bytes.fromhex(sys.stdin.readline().strip())

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix="intake-converter-") as folder:
        listener = Listener(os.path.join(folder, "socket"), family="AF_UNIX", authkey=authkey)
        print(listener.address, flush=True)
        try:
            while True:
                try:
                    conn = listener.accept()
                except (AuthenticationError, OSError, EOFError):
                    continue  # a stranger, or a client gone before it said hello
                threading.Thread(target=_answer, args=(conn,), daemon=True).start()
        finally:
            listener.close()
            for converter in _converters.values():
                converter.close()


if __name__ == "__main__":
    _serve()
