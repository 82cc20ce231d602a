"""LibreOffice headless: `.doc`/`.wps`/`.rtf` files to `.docx`, many files per process.

A cold LibreOffice start costs about 0.7 s, a file in an already running process about 40 ms, so
callers should hand over every form of a message (or a whole run) in one call.

Each call gets its own profile and `HOME`: two processes sharing a profile fail (exit 1, no
output).  The real worker `soffice.bin` is started directly when it sits beside the `soffice`
wrapper script (which would start it as a grandchild through `oosplash`): the kernel's
parent-death signal (`programs.run`) then reaches the process doing the work, and nothing
outlives a killed service.  Temp folders are named `intake-soffice-<pid>-…`, so that
`clean_leftovers` can remove the ones of dead runs at start. LibreOffice exits 0 even when a file could not be loaded, so success is judged by the
output file alone. Inputs are written under index-based names, never the unit's file name.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from programs.run import ProgramMissing, pid_alive, run

ZIP_MAGIC = b"PK\x03\x04"

# Output filter named explicitly: plain "docx" may pick a different export filter per version.
_DOCX_FILTER = "docx:MS Word 2007 XML"
DEFAULT_TIMEOUT = 120.0
# About 4 s of work for a warm process (≈ 40 ms a form).
_MAX_BATCH = 100
_CANARY = b"{\\rtf1\\ansi ok\\par}"


class ConverterUnavailable(Exception):
    """LibreOffice is not installed here (or cannot be started): not the unit's fault."""


@dataclass(frozen=True)
class ConversionResult:
    """The outcome for one input, in input order.

    `file_fault` says whose problem a failure is: True when the file itself is not a readable
    Word document (tell the unit), False when the converter failed or ran out of time (tell
    staff; converting again may work).  `error` is English, for the staff log.
    """

    name: str
    docx: bytes | None = None
    error: str | None = None
    file_fault: bool = True

    @property
    def ok(self) -> bool:
        return self.docx is not None


@dataclass(frozen=True)
class Document:
    """One file to convert: `name` is only echoed back, `ext` ("doc" or "rtf") tells the type."""

    name: str
    data: bytes
    ext: str


TEMP_PREFIX = "intake-soffice-"
# soffice.bin's "restart me" exit status (E_NORMAL_RESTART), normally handled by oosplash.
_RESTART = 81


def find_soffice_wrapper(binary: str | None = None) -> str:
    """The LibreOffice command as installed: `binary` if given, else `soffice` or `libreoffice`
    on PATH.  unoserver wants this wrapper: `soffice.bin` started directly by it dies on its first
    start with a fresh profile (the wrapper's launcher restarts it)."""
    if binary is not None:
        found = shutil.which(binary)
        if found is None:
            raise ConverterUnavailable(f"LibreOffice binary not found: {binary}")
        return found
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise ConverterUnavailable("LibreOffice (soffice) is not installed")
    return found


def find_soffice(binary: str | None = None) -> str:
    """The LibreOffice binary a cold conversion runs: the `soffice.bin` beside the wrapper script
    when there is one (see the module docstring), else the wrapper itself."""
    found = find_soffice_wrapper(binary)
    real = Path(found).resolve()
    worker = real.with_name("soffice.bin")
    if real.name in ("soffice", "libreoffice") and os.access(worker, os.X_OK):
        return str(worker)
    return found


def clean_leftovers(folder: Path | None = None) -> int:
    """Remove the temp folders of conversions whose process is gone (a killed run); the
    number removed.  Folders of live processes (another `intake` command) are left alone."""
    root = folder or Path(tempfile.gettempdir())
    removed = 0
    try:
        entries = list(root.glob(TEMP_PREFIX + "*"))
    except OSError:
        return 0
    for entry in entries:
        pid = entry.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or pid_alive(int(pid)) or not entry.is_dir():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed

    return True


def convert(
    documents: Sequence[Document],
    timeout: float = DEFAULT_TIMEOUT,
    binary: str | None = None,
) -> list[ConversionResult]:
    """Convert every document to `.docx` bytes; one result per document, in order.

    Up to 100 files share one LibreOffice process. `timeout` bounds each process; when it runs
    out, the file being converted at that moment fails (`file_fault=False`) and the rest go to a
    fresh process, so one hostile file costs one timeout and does not sink the batch.

    Raises `ConverterUnavailable` when LibreOffice is missing, cannot start, or cannot convert
    even a known-good test file put first in the batch (so a broken installation is never blamed
    on the units). Safe to call from several threads or processes at once: every call has its
    own profile, `HOME` and temp dir.
    """
    if not documents:
        return []
    exe = find_soffice(binary)
    results: list[ConversionResult | None] = [None] * len(documents)
    # Bounded batches keep one process well inside its timeout however many forms come.
    for start in range(0, len(documents), _MAX_BATCH):
        chunk = list(range(start, min(start + _MAX_BATCH, len(documents))))
        with tempfile.TemporaryDirectory(
            prefix=f"{TEMP_PREFIX}{os.getpid()}-", ignore_cleanup_errors=True
        ) as tmp:
            _convert_batch(Path(tmp), exe, documents, chunk, results, timeout)
    return [
        r if r is not None else ConversionResult(documents[i].name, error="not converted")
        for i, r in enumerate(results)
    ]


def _convert_batch(
    root: Path,
    exe: str,
    documents: Sequence[Document],
    batch: list[int],
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
    for i in batch:
        path = src / f"{i + 1:04d}.{documents[i].ext}"
        path.write_bytes(documents[i].data)
        paths[i] = path

    attempt = 0
    queue = list(batch)
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
                results[i] = ConversionResult(documents[i].name, docx=data)
            else:
                missing.append(i)
        if not missing:
            return
        if outcome.clean:
            # LibreOffice went through every file: the missing ones could not be loaded.
            for i in missing:
                results[i] = ConversionResult(
                    documents[i].name,
                    error="LibreOffice could not open the file (damaged or not a Word document)",
                )
            return
        # LibreOffice converts in argument order, so the first missing file is the one it was
        # working on when it hung or died; the files after it never got their turn.
        culprit, *queue = missing
        results[culprit] = ConversionResult(
            documents[culprit].name, error=outcome.reason, file_fault=False
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
    try:
        # `exe` may be the wrapper script around soffice.bin: programs.run kills the whole group.
        done = run(cmd, timeout=timeout, env=env, cwd=run_dir)
        # soffice.bin asks to be started again after it set up a fresh profile (exit 81), as
        # the `oosplash` launcher we bypass would do.
        for _ in range(2):
            if done.returncode != _RESTART:
                break
            done = run(cmd, timeout=timeout, env=env, cwd=run_dir)
    except ProgramMissing as exc:
        raise ConverterUnavailable(f"cannot start LibreOffice ({exe}): {exc}") from exc
    if done.timed_out:
        return _Outcome(False, f"LibreOffice timed out after {done.seconds:.0f} s")
    if done.returncode != 0:
        return _Outcome(False, f"LibreOffice failed (exit {done.returncode}): {done.tail()}")
    return _Outcome(True)


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
