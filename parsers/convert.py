"""Turn `.doc`/`.wps` forms into `.docx` with LibreOffice headless, many files per process.

A cold LibreOffice start costs about 0.7 s, a file in an already running process about 40 ms, so
callers should hand over every form of a message (or a whole run) in one call.

Each call gets its own profile and `HOME`: two processes sharing a profile fail (exit 1, no
output). LibreOffice exits 0 even when a file could not be loaded, so success is judged by the
output file alone. Inputs are written under index-based names, never the unit's file name.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
RTF_MAGIC = b"{\\rtf"

# Output filter named explicitly: plain "docx" may pick a different export filter per version.
_DOCX_FILTER = "docx:MS Word 2007 XML"
_DEFAULT_TIMEOUT = 120.0
# About 4 s of work for a warm process (≈ 40 ms a form).
_MAX_BATCH = 100
# What the caller sees of LibreOffice's own output, for the staff log.
_LOG_TAIL = 500
_CANARY = b"{\\rtf1\\ansi ok\\par}"


class ConverterUnavailable(Exception):
    """LibreOffice is not installed here (or cannot be started): not the unit's fault."""


@dataclass(frozen=True)
class ConversionResult:
    """The outcome for one input, in input order.

    `file_fault` says whose problem a failure is: True when the file itself is not a readable
    Word document (tell the unit), False when the converter failed or ran out of time (tell
    staff; converting again may work).
    """

    name: str
    docx: bytes | None = None
    error: str | None = None
    file_fault: bool = True

    @property
    def ok(self) -> bool:
        return self.docx is not None


def find_soffice(binary: str | None = None) -> str:
    """The LibreOffice binary to run: `binary` if given, else `soffice` or `libreoffice` on PATH."""
    if binary is not None:
        found = shutil.which(binary)
        if found is None:
            raise ConverterUnavailable(f"LibreOffice binary not found: {binary}")
        return found
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise ConverterUnavailable("LibreOffice (soffice) is not installed")
    return found


def sniff(data: bytes) -> str | None:
    """The container of a would-be Word file: `ole`, `zip`, `rtf`, or None for anything else."""
    if data.startswith(OLE_MAGIC):
        return "ole"
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(RTF_MAGIC):
        return "rtf"
    return None


def convert_to_docx(
    items: Sequence[tuple[str, bytes]],
    timeout: float = _DEFAULT_TIMEOUT,
    binary: str | None = None,
) -> list[ConversionResult]:
    """Convert `(name, data)` pairs to `.docx` bytes; one result per item, in order.

    `name` is only echoed back and used in messages. Word 97–2003 and WPS files (OLE containers)
    and RTF are converted; a file that already is a zip (a `.docx` renamed `.doc`) is returned as
    it is; anything else fails without reaching LibreOffice, because LibreOffice would import it
    as plain text. Up to 100 files share one LibreOffice process. `timeout` bounds each process;
    when it runs out, the file being converted at that moment fails (`file_fault=False`) and the
    rest go to a fresh process, so one hostile file costs one timeout and does not sink the batch.

    Raises `ConverterUnavailable` when there is something to convert and LibreOffice is missing,
    cannot start, or cannot convert even a known-good test file put first in the batch (so a
    broken installation is never blamed on the units). Safe to call from several threads or
    processes at once: every call has its own profile, `HOME` and temp dir.
    """
    results: list[ConversionResult | None] = [None] * len(items)
    pending: list[tuple[int, str]] = []
    for i, (name, data) in enumerate(items):
        kind = sniff(data)
        if kind == "zip":
            results[i] = _passthrough(name, data)
        elif kind in ("ole", "rtf"):
            pending.append((i, "rtf" if kind == "rtf" else "doc"))
        else:
            results[i] = ConversionResult(name, error=_not_word_reason(data))

    if pending:
        exe = find_soffice(binary)
        # Bounded batches keep one process well inside its timeout however many forms come.
        for start in range(0, len(pending), _MAX_BATCH):
            chunk = pending[start : start + _MAX_BATCH]
            with tempfile.TemporaryDirectory(
                prefix="intake-soffice-", ignore_cleanup_errors=True
            ) as tmp:
                _convert_pending(Path(tmp), exe, items, chunk, results, timeout)

    return [
        r if r is not None else ConversionResult(items[i][0], error="not converted")
        for i, r in enumerate(results)
    ]


def _convert_pending(
    root: Path,
    exe: str,
    items: Sequence[tuple[str, bytes]],
    pending: list[tuple[int, str]],
    results: list[ConversionResult | None],
    timeout: float,
) -> None:
    src = root / "in"
    src.mkdir()
    # LibreOffice exits 0 whether or not it could load a file, so a broken installation would
    # look like a batch of damaged forms and be blamed on the units. A tiny known-good file
    # first in the first process tells the two apart.
    canary = src / "0000.rtf"
    canary.write_bytes(_CANARY)
    paths: dict[int, Path] = {}
    for i, ext in pending:
        path = src / f"{i + 1:04d}.{ext}"
        path.write_bytes(items[i][1])
        paths[i] = path

    attempt = 0
    queue = [i for i, _ in pending]
    while queue:
        attempt += 1
        out = root / f"out{attempt}"
        inputs = [paths[i] for i in queue]
        if attempt == 1:
            inputs.insert(0, canary)
        outcome = _run_soffice(exe, root / f"run{attempt}", out, inputs, timeout)
        if attempt == 1 and _read_docx(out / "0000.docx") is None:
            raise ConverterUnavailable(
                "LibreOffice cannot convert documents here: "
                + (outcome.reason or "it converted nothing, not even a test file")
            )
        missing: list[int] = []
        for i in queue:
            data = _read_docx(out / (paths[i].stem + ".docx"))
            if data is not None:
                results[i] = ConversionResult(items[i][0], docx=data)
            else:
                missing.append(i)
        if not missing:
            return
        if outcome.clean:
            # LibreOffice went through every file: the missing ones could not be loaded.
            for i in missing:
                results[i] = ConversionResult(
                    items[i][0],
                    error="LibreOffice could not open the file (damaged or not a Word document)",
                )
            return
        # LibreOffice converts in argument order, so the first missing file is the one it was
        # working on when it hung or died; the files after it never got their turn.
        culprit, *queue = missing
        results[culprit] = ConversionResult(
            items[culprit][0], error=outcome.reason, file_fault=False
        )


@dataclass(frozen=True)
class _Outcome:
    clean: bool
    reason: str = ""


def _run_soffice(
    exe: str, run_dir: Path, out: Path, inputs: list[Path], timeout: float
) -> _Outcome:
    profile, home, tmp = run_dir / "profile", run_dir / "home", run_dir / "tmp"
    for d in (home, tmp, out):
        d.mkdir(parents=True)
    cmd = [
        exe,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        _DOCX_FILTER,
        "--outdir",
        str(out),
        *(str(p) for p in inputs),
    ]
    env = {
        **os.environ,
        "HOME": str(home),
        "TMPDIR": str(tmp),
        # No display is needed or wanted; the "svp" backend renders off-screen.
        "SAL_USE_VCLPLUGIN": "svp",
    }
    env.pop("DISPLAY", None)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=run_dir,
            # Own process group: soffice is a wrapper script around soffice.bin, and a timeout
            # must take down the whole tree.
            start_new_session=True,
        )
    except OSError as exc:
        raise ConverterUnavailable(f"cannot start LibreOffice ({exe}): {exc}") from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Not yet reaped, so the group id is still ours to kill.
        _kill_group(proc)
        elapsed = time.monotonic() - started
        return _Outcome(False, f"LibreOffice timed out after {elapsed:.0f} s")
    if proc.returncode != 0:
        tail = (stderr or stdout).decode("utf-8", "replace").strip()[-_LOG_TAIL:]
        return _Outcome(False, f"LibreOffice failed (exit {proc.returncode}): {tail}")
    return _Outcome(True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=5)


def _read_docx(path: Path) -> bytes | None:
    """The converted file, if LibreOffice wrote a complete one."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # A process killed mid-write leaves a zip without its central directory.
    if not data.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        return None
    return data


def _passthrough(name: str, data: bytes) -> ConversionResult:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            is_word = "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ConversionResult(name, error="damaged zip container (not a readable Word file)")
    if not is_word:
        return ConversionResult(name, error="a zip file that is not a Word document")
    return ConversionResult(name, docx=data)


def _not_word_reason(data: bytes) -> str:
    if not data:
        return "empty file"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        return "a PDF file, not a Word document"
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<meta")) or b"<html" in head:
        return "a web page (HTML/XML) saved under a Word name, not a Word document"
    if data.startswith((b"\xff\xd8\xff", b"\x89PNG")):
        return "an image, not a Word document"
    if data.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c")):
        return "an archive, not a Word document"
    return "not a Word document (unknown file type)"
