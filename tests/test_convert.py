"""Word to .docx (intake.word over programs.libreoffice): real LibreOffice batches, and a fake
`soffice` for timeouts and bookkeeping."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intake.word import ConversionResult, ConverterUnavailable, convert_to_docx
from parsers.form import read_form
from parsers.sniff import word_container as sniff
from samples.forms import CATEGORY_LABELS, make_form_docx
from samples.word97 import make_form_docs, soffice_path

needs_soffice = pytest.mark.skipif(soffice_path() is None, reason="LibreOffice not installed")


@pytest.fixture(scope="module")
def docs() -> list[bytes]:
    """Three real .doc forms (park, enterprise, community), made in one LibreOffice call."""
    if soffice_path() is None:
        pytest.skip("LibreOffice not installed")
    return make_form_docs(
        [
            make_form_docx(category=c, tick="sym-wingdings2")
            for c in ("park", "enterprise", "community")
        ]
    )


@pytest.fixture
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Route the converter's temp dirs here, to see that none is left behind."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root


# -- real LibreOffice ---------------------------------------------------------------------------


@needs_soffice
def test_batch_with_good_and_bad_files(docs: list[bytes], own_tempdir: Path) -> None:
    docx = make_form_docx(category="individual")
    items = [
        ("北京市零碳园区推荐表.doc", docs[0]),
        ("truncated.doc", docs[1][:5000]),  # LibreOffice exits 0 and writes nothing
        ("plain.doc", "只是一段文字".encode()),  # would be imported as plain text
        ("scan.doc", b"%PDF-1.7\n..."),
        ("page.doc", b"<html><body>form</body></html>"),
        ("renamed.doc", docx),  # a .docx under a .doc name
        ("kingsoft.wps", docs[2]),  # WPS saves Word binary format under .wps
        ("rich.doc", b"{\\rtf1\\ansi \\u20010?\\u19994?\\par}"),
    ]
    results = convert_to_docx(items, timeout=120)
    assert [r.name for r in results] == [n for n, _ in items]
    good, trunc, plain, pdf, html, renamed, wps, rtf = results
    assert good.ok and good.error is None
    assert read_form(good.docx or b"", CATEGORY_LABELS).categories == ["park"]
    assert not trunc.ok and trunc.file_fault and "could not open" in (trunc.error or "")
    assert not plain.ok and plain.file_fault and "not a Word document" in (plain.error or "")
    assert not pdf.ok and "PDF" in (pdf.error or "")
    assert not html.ok and "web page" in (html.error or "")
    assert renamed.docx == docx
    assert wps.ok and read_form(wps.docx or b"", CATEGORY_LABELS).categories == ["community"]
    assert rtf.ok and zipfile.is_zipfile(io.BytesIO(rtf.docx or b""))
    assert list(own_tempdir.iterdir()) == []


@needs_soffice
def test_parallel_conversions_both_succeed(docs: list[bytes]) -> None:
    results: dict[int, list[ConversionResult]] = {}

    def work(n: int) -> None:
        results[n] = convert_to_docx([(f"{n}-{i}.doc", d) for i, d in enumerate(docs)])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert sorted(results) == [0, 1]
    for batch in results.values():
        assert all(r.ok for r in batch), [r.error for r in batch]
        cats = [read_form(r.docx or b"", CATEGORY_LABELS).categories for r in batch]
        assert cats == [["park"], ["enterprise"], ["community"]]


# -- without LibreOffice -----------------------------------------------------------------------


def test_missing_binary_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
    with pytest.raises(ConverterUnavailable):
        convert_to_docx([("a.doc", ole)], binary=str(tmp_path / "no-such-soffice"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConverterUnavailable):
        convert_to_docx([("a.doc", ole)])


def test_nothing_to_convert_needs_no_binary(tmp_path: Path) -> None:
    docx = make_form_docx()
    results = convert_to_docx(
        [("a.docx", docx), ("b.doc", b"hello")], binary=str(tmp_path / "no-such-soffice")
    )
    assert results[0].docx == docx
    assert results[1].error and results[1].file_fault


def test_sniff() -> None:
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest") == "ole"
    assert sniff(b"PK\x03\x04rest") == "zip"
    assert sniff(b"\xef\xbb\xbf{\\rtf1") == "rtf"
    assert sniff(b"hello") is None
    assert sniff(b"") is None


def test_zip_that_is_not_word_fails() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    (result,) = convert_to_docx([("sheet.doc", buf.getvalue())])
    assert not result.ok and "not a Word document" in (result.error or "")


# -- a fake soffice: bookkeeping, timeouts -----------------------------------------------------

FAKE_SOFFICE = """#!{python}
import json, os, subprocess, sys, time
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "home": os.environ.get("HOME")}}) + "\\n")
out = Path(args[args.index("--outdir") + 1])
inputs = [a for a in args[args.index("--outdir") + 2:]]
for name in inputs:
    data = Path(name).read_bytes()
    if b"HANG" in data or os.environ.get("FAKE_HANG_ALL"):
        child = subprocess.Popen(["sleep", "60"])
        Path(os.environ["FAKE_CHILD"]).write_text(str(child.pid))
        time.sleep(60)
    if b"CANNOT" in data:
        continue
    (out / (Path(name).stem + ".docx")).write_bytes(Path(os.environ["FAKE_DOCX"]).read_bytes())
"""
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "soffice"
    script.write_text(FAKE_SOFFICE.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "result.docx").write_bytes(make_form_docx())
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log.jsonl"))
    monkeypatch.setenv("FAKE_DOCX", str(tmp_path / "result.docx"))
    monkeypatch.setenv("FAKE_CHILD", str(tmp_path / "child.pid"))
    return script


def _calls(fake: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (fake.parent / "log.jsonl").read_text().splitlines()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers; look at its state.
    stat_line = Path(f"/proc/{pid}/stat").read_text()
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"


def test_one_process_per_batch_with_own_profile_and_safe_names(
    fake: Path, own_tempdir: Path
) -> None:
    items = [(f"../../北京市{i}号推荐表.doc", OLE + b"form %d" % i) for i in range(5)]
    results = convert_to_docx(items, binary=str(fake))
    assert all(r.ok for r in results)
    (call,) = _calls(fake)
    args: list[str] = call["args"]
    profile = next(a for a in args if a.startswith("-env:UserInstallation=file://"))
    inputs = [Path(a).name for a in args[args.index("--outdir") + 2 :]]
    assert inputs == ["0000.rtf", "0001.doc", "0002.doc", "0003.doc", "0004.doc", "0005.doc"]
    assert not any("北京" in a for a in args)
    assert str(call["home"]).startswith(str(own_tempdir))
    assert profile.removeprefix("-env:UserInstallation=file://").startswith(str(own_tempdir))
    assert list(own_tempdir.iterdir()) == []


def test_parallel_calls_use_separate_profiles(fake: Path) -> None:
    threads = [
        threading.Thread(
            target=convert_to_docx, args=([("a.doc", OLE)],), kwargs={"binary": str(fake)}
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls = _calls(fake)
    profiles = {next(a for a in c["args"] if a.startswith("-env:")) for c in calls}
    assert len(calls) == 2 and len(profiles) == 2
    assert len({c["home"] for c in calls}) == 2


def test_timeout_skips_the_hanging_file_and_finishes_the_rest(
    fake: Path, own_tempdir: Path
) -> None:
    items = [("a.doc", OLE + b"a"), ("b.doc", OLE + b"HANG"), ("c.doc", OLE + b"c")]
    started = time.monotonic()
    a, b, c = convert_to_docx(items, timeout=1.5, binary=str(fake))
    elapsed = time.monotonic() - started
    assert a.ok and c.ok
    assert not b.ok and not b.file_fault and "timed out" in (b.error or "")
    assert elapsed < 10
    assert len(_calls(fake)) == 2  # the rest went to a fresh process
    child = int((fake.parent / "child.pid").read_text())
    assert not _alive(child), "the process group was not killed"
    assert list(own_tempdir.iterdir()) == []


def test_converter_that_hangs_at_once_is_unavailable(
    fake: Path, own_tempdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_HANG_ALL", "1")
    started = time.monotonic()
    with pytest.raises(ConverterUnavailable, match="timed out"):
        convert_to_docx([("a.doc", OLE)], timeout=1, binary=str(fake))
    assert time.monotonic() - started < 8
    assert list(own_tempdir.iterdir()) == []


def test_file_it_cannot_load_is_the_files_fault(fake: Path) -> None:
    good, bad = convert_to_docx([("a.doc", OLE), ("b.doc", OLE + b"CANNOT")], binary=str(fake))
    assert good.ok
    assert not bad.ok and bad.file_fault


def test_broken_converter_is_unavailable_not_the_units_fault(
    tmp_path: Path, own_tempdir: Path
) -> None:
    # Exits 0 and converts nothing, like an installation without Writer.
    script = tmp_path / "soffice"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    with pytest.raises(ConverterUnavailable):
        convert_to_docx([("a.doc", OLE)], binary=str(script))
    assert list(own_tempdir.iterdir()) == []
