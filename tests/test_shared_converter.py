"""One warm LibreOffice for all the worker processes of a run (`programs.converter_host`): one
server whoever asks, none left behind, and a cold conversion when the host is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, select

from intake.word import convert_to_docx
from programs.converter_host import ConverterHost, RemoteConverter
from programs.libreoffice import Document
from programs.warm_converter import WarmUnavailable, find_unoserver
from samples.cases import case_zip, submission
from samples.forms import make_form_docx
from samples.word97 import make_form_docs, soffice_path
from store import models as m

pytestmark = pytest.mark.skipif(
    soffice_path() is None or find_unoserver() is None,
    reason="LibreOffice or unoserver (.venv-uno) not installed",
)

UNITS = ["北京市", "天津市", "河北省", "山西省"]


@pytest.fixture(scope="module")
def doc_form() -> bytes:
    return make_form_docs([make_form_docx(fields={"案例名称": "共用转换器的案例"})])[0]


def soffices(root: psutil.Process) -> list[psutil.Process]:
    found = []
    for p in root.children(recursive=True):
        try:
            if p.name() == "soffice.bin":
                found.append(p)
        except psutil.Error:
            pass
    return found


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids):
            return True
        time.sleep(0.1)
    return False


def test_every_worker_converts_through_one_libreoffice(tmp_path: Path, doc_form: bytes) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    for i, unit in enumerate(UNITS):
        raw = submission(
            unit,
            zips=[case_zip(unit, f"案例{i}", form=doc_form, form_ext=".doc")],
            message_id=f"<shared-{i}@example.gov.cn>",
            sender=("联系人", f"unit{i}@example.gov.cn"),
        )
        (mail / f"{i}.eml").write_bytes(raw)
    db = tmp_path / "var" / "intake.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(INTAKE_DATA_DIR=str(tmp_path / "var"), INTAKE_WORKERS="2", INTAKE_CONVERTER="warm")
    proc = psutil.Popen(
        [sys.executable, "-m", "intake.cli", "ingest", "--no-replies", str(mail)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    most, seen = 0, set[int]()
    while proc.poll() is None:
        found = soffices(proc)
        most = max(most, len(found))
        seen.update(p.pid for p in found)
        time.sleep(0.05)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    # Before the host, each of the two workers started its own.
    assert most == 1
    assert seen and gone_within(list(seen), 10)
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        names = conn.scalars(select(m.Case.name)).all()
        codes = set(conn.scalars(select(m.Finding.code)).all())
    engine.dispose()
    assert sorted(names) == ["共用转换器的案例"] * len(UNITS)
    assert not codes & {"FORM_UNREADABLE", "CONVERTER_UNAVAILABLE"}


def test_the_host_keeps_one_server_for_every_client_and_thread(doc_form: bytes) -> None:
    host = ConverterHost()
    try:
        first = RemoteConverter(host.address)
        results: list[bytes | None] = []
        # A client in a thread that then ends: the server must outlive that thread (the
        # kernel's parent-death signal follows the thread that started a process).
        t = threading.Thread(
            target=lambda: results.extend(
                r.docx for r in first.convert([Document("a.doc", doc_form, "doc")])
            )
        )
        t.start()
        t.join()
        assert results and results[0] is not None and results[0].startswith(b"PK")
        pid = first.server_pid()
        assert pid is not None
        second = RemoteConverter(host.address)
        again = second.convert([Document("b.doc", doc_form, "doc")] * 2)
        assert all(r.docx is not None for r in again)
        assert second.server_pid() == pid
        server = psutil.Process(pid)
        family = [server.pid, *(c.pid for c in server.children(recursive=True))]
    finally:
        host.close()
    # The host took its LibreOffice with it.
    assert gone_within(family, 10)


def test_a_killed_host_means_cold_conversions_and_no_libreoffice_left(doc_form: bytes) -> None:
    host = ConverterHost()
    try:
        remote = RemoteConverter(host.address)
        assert remote.convert([Document("a.doc", doc_form, "doc")])[0].docx is not None
        pid = remote.server_pid()
        assert pid is not None
        family = [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
        os.kill(host._proc.pid, signal.SIGKILL)
        host._proc.wait()
        with pytest.raises(WarmUnavailable):
            remote.convert([Document("a.doc", doc_form, "doc")])
        # What triage calls: the same file converts cold instead.
        (result,) = convert_to_docx([("a.doc", doc_form)], warm=remote)
        assert result.docx is not None and result.error is None
    finally:
        host.close()
    # What the kernel's signal to unoserver did not stop, closing the host did.
    assert gone_within(family, 10)
