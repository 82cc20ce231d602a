"""`intake ingest` in worker processes: on SQLite without lock errors, and two `intake`
processes racing over the same mail on one PostgreSQL, every message processed once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from samples.cases import case_zip, submission
from store import models as m
from tests.conftest import _reset_pg

UNITS = ["北京市", "天津市", "河北省", "山西省", "广东省", "湖南省"]


def write_mail(folder: Path) -> None:
    folder.mkdir(parents=True)
    for i, unit in enumerate(UNITS):
        raw = submission(
            unit,
            # The first case lacks its contact: a finding for retriage to find again.
            zips=[case_zip(unit, f"案例{i}", fields={"联系人": ""} if i == 0 else {})],
            message_id=f"<race-{i}@example.gov.cn>",
            sender=("联系人", f"unit{i}@example.gov.cn"),  # each its own reply quota
        )
        (folder / f"{i}.eml").write_bytes(raw)


def start(
    tmp_path: Path, mail: Path, db_url: str, workers: int, command: str = "ingest"
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(
        INTAKE_DATA_DIR=str(tmp_path / "var"),
        INTAKE_DATABASE_URL=db_url,
        INTAKE_WORKERS=str(workers),
        # Cold conversions: these forms are .docx, and each worker would start its own server.
        INTAKE_CONVERTER="cold",
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "intake.cli",
            command,
            *([str(mail)] if command == "ingest" else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def counts(db_url: str) -> tuple[int, int, int, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            messages = conn.scalar(select(func.count()).select_from(m.Message))
            processed = conn.scalar(
                select(func.count()).select_from(m.Message).where(m.Message.state == "processed")
            )
            cases = conn.scalar(select(func.count()).select_from(m.Case))
            replies = conn.scalar(select(func.count()).select_from(m.Reply))
    finally:
        engine.dispose()
    return messages or 0, processed or 0, cases or 0, replies or 0


def test_workers_on_sqlite_process_every_message(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    write_mail(mail)
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    proc = start(tmp_path, mail, url, workers=3)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "locked" not in err
    assert f"ingested {len(UNITS)} messages: {len(UNITS)} processed" in out
    assert counts(url) == (len(UNITS), len(UNITS), len(UNITS), len(UNITS))
    before = findings(url)
    assert any(code == "FIELD_MISSING" for code, _, _ in before)
    # Re-judged in worker processes: the same findings, none lost or doubled.
    proc = start(tmp_path, mail, url, workers=3, command="retriage")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert f"re-triaged {len(UNITS)} submissions" in out
    assert findings(url) == before


def findings(db_url: str) -> list[tuple[str, int | None, int | None]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(m.Finding.code, m.Finding.message_id, m.Finding.case_id))
            return sorted((code, msg, case) for code, msg, case in rows)
    finally:
        engine.dispose()


def test_two_intake_processes_racing_on_postgresql_process_each_message_once(
    tmp_path: Path, pg_server: str
) -> None:
    mail = tmp_path / "mail"
    write_mail(mail)
    # Both start at once over the same files, each with two workers.
    _reset_pg(pg_server)
    first, second = (start(tmp_path, mail, pg_server, workers=2) for _ in range(2))
    results = [p.communicate(timeout=600) for p in (first, second)]
    for proc, (_, err) in zip((first, second), results, strict=True):
        assert proc.returncode == 0, err
    outs = " ".join(out for out, _ in results)
    processed = sum(
        int(word)
        for out, _ in results
        for word, nxt in zip(out.split(), out.split()[1:], strict=False)
        if nxt.startswith("processed")
    )
    assert processed == len(UNITS), outs
    # One message row, one case and one reply per message: nothing done twice.
    assert counts(pg_server) == (len(UNITS), len(UNITS), len(UNITS), len(UNITS))
