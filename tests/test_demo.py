"""`intake demo`: the first command on a fresh machine, on the embedded default.

Runs the whole demo once (generation with ffmpeg and one LibreOffice call, ingest, send in
dry-run, report, workbook) into a temporary data folder, then checks that the samples carry the
faults they claim and that the service found them.
"""

from __future__ import annotations

import email
import io
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.app import App
from intake.demo import REPORT_DATE, run_demo
from samples.season import season
from store import models as m
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DemoRun:
    app: App
    status: int
    lines: list[str]
    seconds: float


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    root = tmp_path_factory.mktemp("demo")
    app = make_app(root)
    lines: list[str] = []
    started = time.monotonic()
    status = run_demo(app, lines.append)
    seconds = time.monotonic() - started
    yield DemoRun(app, status, lines, seconds)
    app.engine.dispose()


def attachments(path: Path) -> dict[str, bytes]:
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    out: dict[str, bytes] = {}
    for part in msg.iter_attachments():
        out[part.get_filename() or ""] = part.get_content()
    return out


def test_demo_runs_fast_and_says_where_to_look(demo: DemoRun) -> None:
    assert demo.status == 0, demo.lines
    assert demo.seconds < 60
    text = "\n".join(demo.lines)
    settings = demo.app.settings
    index = settings.reports / REPORT_DATE.isoformat() / "index.html"
    assert index.is_file()
    assert str(index.resolve()) in text
    assert str(settings.outbox.resolve()) in text and settings.outbox.is_dir()
    assert (settings.reports / f"export-{REPORT_DATE.isoformat()}.xlsx").is_file()
    mail = sorted((settings.data_dir / "demo" / "mail").glob("*.eml"))
    assert len(mail) == len(season())
    # Small enough for a first run: a few MB of mail, a report well under a megabyte a page.
    assert sum(p.stat().st_size for p in mail) < 12_000_000
    assert index.stat().st_size < 300_000


def test_samples_carry_the_typical_faults(demo: DemoRun) -> None:
    folder = demo.app.settings.data_dir / "demo" / "mail"
    hebei = attachments(next(folder.glob("*-hebei.eml")))
    [(zip_name, data)] = [(n, d) for n, d in hebei.items() if n.endswith(".zip")]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    assert infos and all(not i.flag_bits & 0x800 for i in infos)  # no UTF-8 flag
    names = [i.orig_filename.encode("cp437").decode("gbk") for i in infos]
    assert any(n.startswith("河北省曹妃甸循环经济产业园区推荐材料/") for n in names)

    jiangsu = attachments(next(folder.glob("*-jiangsu.eml")))
    members = {}
    for name, data in jiangsu.items():
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                members.update({n: zf.read(n) for n in zf.namelist()})
    docs = [d for n, d in members.items() if n.endswith(".doc")]
    if docs:  # LibreOffice present: a real Word 97 file
        assert docs[0][:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    else:
        assert any("LibreOffice not found" in line for line in demo.lines)

    auto = email.message_from_bytes(next(folder.glob("*-autoreply.eml")).read_bytes())
    assert auto["Auto-Submitted"] == "auto-replied"


def test_the_service_found_them(demo: DemoRun) -> None:
    with demo.app.sessions() as s:
        findings = {f.code for f in s.scalars(select(m.Finding))}
        cases = list(s.scalars(select(m.Case)))
        messages = list(s.scalars(select(m.Message)))
        units = {u.name for u in s.scalars(select(m.Unit))}
    expected = {
        "SUBJECT_FORMAT",
        "UNIT_UNKNOWN",
        "CONTACT_MISSING",
        "CLOUD_LINK",
        "FORM_SCAN_MISSING",
        "PHOTO_TOO_LARGE",
        "PHOTO_CAPTION_MISSING",
        "VIDEO_TOO_LONG",
        "INTRO_TOO_LONG",
    }
    assert expected <= findings, expected - findings
    assert "ARCHIVE_UNREADABLE" not in findings  # the big photo is big, not a zip bomb
    assert {"北京市", "河北省", "江苏省", "浙江省", "广东省", "新疆生产建设兵团"} <= units
    assert {c.category for c in cases if c.status != "superseded"} >= {
        "park",
        "enterprise",
        "community",
        "individual",
    }
    assert any(c.status == "superseded" for c in cases)  # the resubmitted Beijing case
    assert any(msg.kind == "auto_reply" and msg.state == "ignored" for msg in messages)
    assert not any(msg.state == "quarantined" for msg in messages)


def test_report_shows_the_season(demo: DemoRun) -> None:
    index = demo.app.settings.reports / REPORT_DATE.isoformat() / "index.html"
    html = index.read_text(encoding="utf-8")
    assert '<div class="n">11</div>' in html  # eleven days before the 2023 deadline
    assert "2023-12-24 16:02" in html  # the cloud link's expiry, for staff
    assert "lowcarbon2023@qq.example" in html  # the unknown sender
    assert "PHOTO_TOO_LARGE" in html and "VIDEO_TOO_LONG" in html
    assert list((index.parent / "thumbs").glob("*.jpg"))


def test_second_run_ingests_nothing_twice(demo: DemoRun) -> None:
    with demo.app.sessions() as s:
        before = len(list(s.scalars(select(m.Message))))
    lines: list[str] = []
    assert run_demo(demo.app, lines.append) == 0
    assert any("Using the sample season already in" in line for line in lines)
    assert any(f"{before} duplicate" in line for line in lines), lines
    with demo.app.sessions() as s:
        assert len(list(s.scalars(select(m.Message)))) == before


def test_demo_refuses_to_send_for_real(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update({"INTAKE_DATA_DIR": str(tmp_path / "var"), "INTAKE_DRY_RUN": "false"})
    result = subprocess.run(
        [sys.executable, "-m", "intake.cli", "demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert "dry_run" in result.stderr
    assert not (tmp_path / "var" / "demo").exists()
