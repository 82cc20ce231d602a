"""`intake ingest` and `intake export` as a user runs them."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest

from samples.cases import submission
from samples.mail import build_submission
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]


def run(tmp_path: Path, *args: str, db_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env["INTAKE_DATA_DIR"] = str(tmp_path / "var")
    if db_url:
        env["INTAKE_DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "intake.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )


def test_ingest_eml_folder_maildir_mbox_and_export(tmp_path: Path, db_url: str) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a.eml").write_bytes(submission("北京市", message_id="<a@x>"))
    (folder / "notes.docx").write_bytes(b"not mail")
    md = mailbox.Maildir(tmp_path / "md", create=True)
    md.add(submission("天津市", message_id="<b@x>"))
    box = mailbox.mbox(tmp_path / "box.mbox", create=True)
    box.add(
        build_submission(
            subject="自动回复",
            extra_headers=[("Auto-Submitted", "auto-replied")],
            message_id="<c@x>",
        )
    )
    box.flush()

    done = run(
        tmp_path,
        "ingest",
        str(folder),
        str(tmp_path / "md"),
        str(tmp_path / "box.mbox"),
        db_url=db_url,
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "ingested 3 messages: 2 processed, 1 ignored (skipped 1 files that are not mail)"
    )

    again = run(tmp_path, "ingest", str(folder), db_url=db_url)
    assert again.stdout.strip().startswith("ingested 1 message: 1 duplicate")

    out = run(tmp_path, "export", "--format", "json", db_url=db_url)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    # Issue 14: the audit trail, an `id` on every row and `waived` on every finding.
    assert set(data) == {"campaign", "units", "messages", "cases", "replies", "audit"}
    assert data["campaign"] == "2023-green-low-carbon"
    assert {u["name"] for u in data["units"]} == {"北京市", "天津市"}
    assert set(data["units"][0]["cases"]) == {"park", "enterprise", "community", "individual"}
    # Ingest workers take the three files in parallel: the rows' order is theirs, the kinds are not.
    kinds = {msg["message_id"]: msg["kind"] for msg in data["messages"]}
    assert kinds == {"a@x": "submission", "b@x": "submission", "c@x": "auto_reply"}
    assert set(data["messages"][0]) == {
        "id",
        "message_id",
        "from",
        "subject",
        "received_at",
        "unit",
        "kind",
        "state",
        "findings",
    }
    case = data["cases"][0]
    assert set(case) == {
        "id",
        "unit",
        "category",
        "name",
        "applicant",
        "contact",
        "mobile",
        "address",
        "intro_chars",
        "order",
        "status",
        "message_id",
        "files",
        "findings",
    }
    assert set(case["files"][0]) == {
        "id", "name", "role", "size", "sha256", "caption", "duration_s"
    }  # fmt: skip
    for f in data["messages"][0]["findings"] + case["findings"]:
        assert set(f) == {"id", "code", "severity", "detail", "file", "waived"}


def test_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_setting = 1\n")
    done = run(tmp_path, "--config", str(bad), "export")
    assert done.returncode == 2 and "unknown settings" in done.stderr


def test_missing_path_exits_2(tmp_path: Path) -> None:
    assert run(tmp_path, "ingest", str(tmp_path / "nope")).returncode == 2


def test_quarantine_gives_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import intake.pipeline as pipeline_module
    from intake.cli import main

    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a.eml").write_bytes(submission("北京市", message_id="<a@x>"))
    (folder / "b.eml").write_bytes(build_submission(subject="咨询", message_id="<b@x>"))
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    # In this process, where the patch below applies (worker processes would not see it).
    monkeypatch.setenv("INTAKE_WORKERS", "1")
    monkeypatch.setattr(pipeline_module, "group_files", lambda *_: 1 / 0)
    assert main(["ingest", str(folder)]) == 1
    assert capsys.readouterr().out.strip() == "ingested 2 messages: 1 processed, 1 quarantined"


@pytest.mark.skipif(not (SHARED / "corpus" / "public").is_dir(), reason="shared corpus absent")
def test_public_corpus_ingests_without_a_crash(tmp_path: Path) -> None:
    done = run(tmp_path, "ingest", str(SHARED / "corpus" / "public"))
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "quarantined" not in done.stdout


def test_retriage_command(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a.eml").write_bytes(submission("北京市", message_id="<a@x>"))
    assert run(tmp_path, "ingest", str(folder)).returncode == 0
    before = json.loads(run(tmp_path, "export").stdout)
    done = run(tmp_path, "retriage")
    assert (done.returncode, done.stdout.strip()) == (0, "re-triaged 1 submission")
    assert json.loads(run(tmp_path, "export").stdout) == before


def test_backfill_without_replies(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a.eml").write_bytes(submission("北京市", message_id="<a@x>"))
    assert run(tmp_path, "ingest", "--no-replies", str(folder)).returncode == 0
    assert json.loads(run(tmp_path, "export").stdout)["replies"] == []
    (folder / "b.eml").write_bytes(submission("天津市", message_id="<b@x>"))
    assert run(tmp_path, "ingest", str(folder)).returncode == 0
    assert [r["kind"] for r in json.loads(run(tmp_path, "export").stdout)["replies"]] == ["receipt"]
