"""Real Word 97 `.doc` forms: `.docx` from `samples.forms` converted by LibreOffice.

Many units still send `.doc`.  All forms wanted go through one LibreOffice process (a start
costs seconds), started through `programs.run` with a timeout and its process group killed
when time runs out: `soffice` is a wrapper script around `soffice.bin`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from programs.run import ProgramMissing, run
from samples.forms import make_form_docx

SOFFICE_TIMEOUT = 120


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def make_form_docs(docxs: Sequence[bytes]) -> list[bytes]:
    """Convert many `.docx` to real Word 97 `.doc` files in one LibreOffice process.

    Raises ProgramMissing without LibreOffice, RuntimeError when it does not convert them.
    """
    binary = soffice_path()
    if binary is None:
        raise ProgramMissing("LibreOffice (soffice) is not installed")
    if not docxs:
        return []
    with tempfile.TemporaryDirectory(prefix="sample-forms-") as tmp:
        work = Path(tmp)
        src, out, home = work / "doc-in", work / "doc-out", work / "doc-home"
        for d in (src, out, home):
            d.mkdir()
        paths = []
        for i, data in enumerate(docxs):
            path = src / f"form{i}.docx"
            path.write_bytes(data)
            paths.append(str(path))
        # Each call needs a profile and HOME of its own (FIELD-NOTES: shared profiles fail).
        argv = [
            binary,
            f"-env:UserInstallation={(work / 'doc-profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "doc:MS Word 97",
            "--outdir",
            str(out),
            *paths,
        ]
        done = run(argv, timeout=SOFFICE_TIMEOUT, env={**os.environ, "HOME": str(home)})
        if not done.ok:
            reason = "timed out" if done.timed_out else f"exited {done.returncode}"
            raise RuntimeError(f"LibreOffice {reason}: {done.tail()}")
        results = []
        for i in range(len(docxs)):
            path = out / f"form{i}.doc"
            # LibreOffice exits 0 on some failures without writing anything: check the output.
            if not path.exists():
                raise RuntimeError(f"LibreOffice wrote no {path.name}: {done.tail()}")
            results.append(path.read_bytes())
    return results


def make_form_doc(**kwargs: object) -> bytes:
    """One real `.doc` form; takes the arguments of `samples.forms.make_form_docx`."""
    return make_form_docs([make_form_docx(**kwargs)])[0]  # type: ignore[arg-type]
