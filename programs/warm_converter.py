"""A LibreOffice kept warm by `unoserver`: started on first use, supervised, restarted.

A cold `soffice` costs ~0.7 s before it converts anything; a warm one converts a form in about
140 ms (FIELD-NOTES "A warm converter").  `unoserver` keeps one LibreOffice listening and takes
conversions over XML-RPC on 127.0.0.1.  Its server side needs Debian's `python3-uno`, so it runs
from a venv made with `/usr/bin/python3 -m venv --system-site-packages` (`scripts/bootstrap`
makes `.venv-uno` beside the project's `.venv`); the client side is plain XML-RPC here.

Supervision, because hostile `.doc` files exist:
- every conversion has a timeout; when it runs out the whole server (its process group) is
  killed, that file fails on our side (`file_fault=False`), and the next file gets a fresh one;
- a server that died (crashed, killed) is restarted and the file retried once;
- the server dies with the process that started it (`PR_SET_PDEATHSIG`: SIGTERM, which
  unoserver passes on to LibreOffice); a restart or `close` kills its whole process group.

When no server can be started at all, `WarmUnavailable` tells the caller to fall back to a cold
`soffice` batch (`programs.libreoffice`).  One server converts one file at a time; the worker
processes of one `intake` run share one through `programs.converter_host`.

The server is started from one long-lived thread of its own: `PR_SET_PDEATHSIG` fires when the
*thread* that started a child ends, not the process, and the converter host answers each worker
in a thread that ends when the worker disconnects (measured: the next conversion found the
server gone and paid a LibreOffice start again).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from programs.libreoffice import (
    _CANARY,
    ConversionResult,
    Document,
    find_soffice_wrapper,
)
from programs.run import kill_group

DEFAULT_TIMEOUT = 60.0
_START_TIMEOUT = 60.0
_RETRY_AFTER = 600.0
_DOCX_FILTER = "MS Word 2007 XML"
_PR_SET_PDEATHSIG = 1
# What a server that died or vanished mid-call looks like to the client.
_LOST = (OSError, xmlrpc.client.ProtocolError, http.client.HTTPException)


class WarmUnavailable(Exception):
    """No warm converter here (no unoserver, or it would not start): use a cold `soffice`."""


class DocumentConverter(Protocol):
    """What converts Word files for triage: a `WarmConverter` in this process, or the shared
    one of a worker pool (`programs.converter_host.RemoteConverter`)."""

    def convert(self, documents: Sequence[Document]) -> list[ConversionResult]: ...


# The thread every server is started from (see the module docstring); it lives as long as the
# process, so the kernel's parent-death signal reaches the server only when the process ends.
_parent_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unoserver-parent")


def find_unoserver(configured: str = "") -> str | None:
    """The unoserver program: `configured`, else `.venv-uno` beside this Python's venv or the
    project, else `unoserver` on PATH."""
    if configured:
        return shutil.which(configured)
    root = Path(__file__).resolve().parents[1]
    for venv in (Path(sys.prefix).parent / ".venv-uno", root / ".venv-uno"):
        candidate = venv / "bin" / "unoserver"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("unoserver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _term_with_parent() -> None:
    # SIGTERM, not SIGKILL: unoserver's handler passes it on to LibreOffice.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host: Any) -> Any:
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class WarmConverter:
    """One supervised unoserver; `convert` is safe to call from several threads (one at a time)."""

    def __init__(
        self,
        server: str | None = None,
        soffice: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.server = server
        self.soffice = soffice
        self.timeout = timeout
        self.restarts = 0
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._home: tempfile.TemporaryDirectory[str] | None = None
        # Why no server could be started; tried again after _RETRY_AFTER (cold meanwhile).
        self._broken: str | None = None
        self._broken_at = 0.0

    @property
    def pid(self) -> int | None:
        """The unoserver process, while one runs (for tests and the benchmark)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def server_pid(self) -> int | None:
        """`pid`, as a method a converter host can expose to its clients."""
        return self.pid

    def convert(self, documents: Sequence[Document]) -> list[ConversionResult]:
        """Convert each document to `.docx`; one result per document, in order.

        Raises `WarmUnavailable` when no server can be had (the caller converts cold), and
        `ConverterUnavailable` when LibreOffice itself is missing.
        """
        with self._lock:
            return [self._convert_one(d) for d in documents]

    def close(self) -> None:
        with self._lock:
            self._stop()

    # -- one document ------------------------------------------------------------------------

    def _convert_one(self, doc: Document) -> ConversionResult:
        for attempt in (1, 2):
            self._ensure()
            try:
                data = self._call(doc.data, self.timeout)
            except TimeoutError:
                # A file that hangs LibreOffice: kill it all, blame nobody (may be a busy host).
                self._stop()
                self.restarts += 1
                return ConversionResult(
                    doc.name,
                    error=f"LibreOffice timed out after {self.timeout:.0f} s",
                    file_fault=False,
                )
            except xmlrpc.client.Fault as exc:
                if self._healthy():
                    # The server answered and still converts a good file: this one is bad.
                    return ConversionResult(
                        doc.name,
                        error="LibreOffice could not open the file (damaged or not a Word "
                        f"document): {str(exc.faultString)[-200:]}",
                    )
                # LibreOffice died under a live unoserver: restart, try again once.
                self._stop()
                if attempt == 2:
                    return ConversionResult(
                        doc.name, error=f"the converter failed twice: {exc}", file_fault=False
                    )
            except _LOST as exc:
                # The server died under us (crash, killed): start a fresh one, try again once.
                self._stop()
                if attempt == 2:
                    return ConversionResult(
                        doc.name, error=f"the converter failed twice: {exc}", file_fault=False
                    )
            else:
                if data.startswith(b"PK\x03\x04"):
                    return ConversionResult(doc.name, docx=data)
                return ConversionResult(
                    doc.name,
                    error="LibreOffice could not open the file (damaged or not a Word document)",
                )
            self.restarts += 1
        return ConversionResult(doc.name, error="not converted", file_fault=False)

    def _call(self, data: bytes, timeout: float) -> bytes:
        proxy = xmlrpc.client.ServerProxy(
            f"http://127.0.0.1:{self._port}",
            allow_none=True,
            transport=_TimeoutTransport(timeout),
        )
        result = proxy.convert(
            None, xmlrpc.client.Binary(data), None, "docx", _DOCX_FILTER, [], True, None, None
        )
        return bytes(result.data) if isinstance(result, xmlrpc.client.Binary) else b""

    # -- the server --------------------------------------------------------------------------

    def _healthy(self) -> bool:
        try:
            return self._alive() and self._call(_CANARY, self.timeout).startswith(b"PK\x03\x04")
        except (*_LOST, xmlrpc.client.Fault):
            return False

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _ensure(self) -> None:
        if self._alive():
            return
        self._stop()
        if self._broken is not None and time.monotonic() - self._broken_at < _RETRY_AFTER:
            raise WarmUnavailable(self._broken)
        self._broken = None
        exe = find_unoserver(self.server or "")
        if exe is None:
            self._broken, self._broken_at = "unoserver is not installed", time.monotonic()
            raise WarmUnavailable(self._broken)
        soffice = find_soffice_wrapper(self.soffice)
        self._home = tempfile.TemporaryDirectory(
            prefix="intake-unoserver-", ignore_cleanup_errors=True
        )
        home = Path(self._home.name)
        self._port = _free_port()
        argv = [
            exe,
            "--interface",
            "127.0.0.1",
            "--uno-interface",
            "127.0.0.1",
            "--port",
            str(self._port),
            "--uno-port",
            str(_free_port()),
            "--executable",
            soffice,
            "--user-installation",
            str(home / "profile"),
            # Later than ours: our client's timeout decides, so a hang is not taken for a crash
            # and retried; the server's own is a backstop should the client be gone.
            "--conversion-timeout",
            str(int(self.timeout) + 30),
            "--quiet",
        ]
        env = {**os.environ, "HOME": str(home), "TMPDIR": str(home), "SAL_USE_VCLPLUGIN": "svp"}
        env.pop("DISPLAY", None)
        try:
            self._proc = _parent_thread.submit(
                subprocess.Popen,
                argv,
                env=env,
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_term_with_parent,
            ).result()
        except OSError as exc:
            self._broken, self._broken_at = f"cannot start unoserver: {exc}", time.monotonic()
            raise WarmUnavailable(self._broken) from exc
        if not self._wait_ready():
            self._stop()
            self._broken = "unoserver did not start or cannot convert a test file"
            self._broken_at = time.monotonic()
            raise WarmUnavailable(self._broken)

    def _wait_ready(self) -> bool:
        """Wait until the server converts a known-good file (the same canary as the cold path)."""
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline and self._alive():
            try:
                return self._call(_CANARY, self.timeout).startswith(b"PK\x03\x04")
            except (*_LOST, xmlrpc.client.Fault):
                time.sleep(0.5)
        return False

    def _stop(self) -> None:
        if self._proc is not None:
            kill_group(self._proc)
            self._proc = None
        if self._home is not None:
            self._home.cleanup()
            self._home = None


_shared: dict[tuple[str | None, str | None], WarmConverter] = {}
_shared_lock = threading.Lock()


def shared(server: str | None = None, soffice: str | None = None) -> WarmConverter:
    """This process's converter for these programs (started on first conversion)."""
    with _shared_lock:
        key = (server, soffice)
        if key not in _shared:
            _shared[key] = WarmConverter(server, soffice)
            atexit.register(_shared[key].close)
        return _shared[key]
