"""A big message is held once, as it arrived: memory independent of its attachments (issue 13).

The raw bytes stay in memory (they arrive as bytes from IMAP); the decoded zip and the video in
it go to the blob store in chunks.  Before that change a 144 MB message with a 100 MB video
peaked at 539 MB, 380 MB over a small message: the zip decoded, and the member read in chunks
and joined, all at once.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from intake.workers import WorkerPool, ingest_raw_in_order
from samples.archives import make_zip
from samples.mail import build_submission
from samples.videos import make_mp4
from tests.conftest import make_app

# VmHWM, not ru_maxrss: Linux starts a child's ru_maxrss from the parent's peak (vfork and exec
# carry it over), so a pytest process that once held 300 MB would hide the child's own figure.
PROBE = """
import re, sys
from pathlib import Path
from intake.cli import main
code = main(["ingest", "--no-replies", sys.argv[1]])
peak = re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)
print(int(peak) * 1024, code)
"""
MiB = 1024 * 1024


def ingest(var: Path, mail: Path) -> int:
    """Peak RSS in bytes of an `intake ingest` of `mail` in a child of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env["INTAKE_DATA_DIR"] = str(var)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(mail)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    peak, code = done.stdout.split()[-2:]
    assert code == "0"
    return int(peak)


def video_message(video: bytes, message_id: str) -> bytes:
    zipped = make_zip({"北京市大案例推荐材料/北京市大案例视频.mp4": video}, gbk_names=True)
    return build_submission(
        attachments=[("北京市大案例推荐材料.zip", zipped)], message_id=message_id
    )


def test_big_message_is_held_once_and_its_video_stored_whole(tmp_path: Path) -> None:
    # The same message with a 1 KiB video measures everything but the big bytes (imports,
    # the database, the rules), so the bound holds on any machine.
    small = tmp_path / "small.eml"
    small.write_bytes(video_message(os.urandom(1024), "<small@x>"))
    video = os.urandom(60 * MiB)  # incompressible, like video: the zip is as big
    big = tmp_path / "big.eml"
    big.write_bytes(video_message(video, "<big@x>"))
    size = big.stat().st_size

    var = tmp_path / "var-big"
    extra = ingest(var, big) - ingest(tmp_path / "var-small", small)

    # Held once (the raw bytes), plus working buffers; the old code held it 3.7 times.
    assert extra < size + 32 * MiB, (
        f"{extra / MiB:.0f} MiB over a small message, {size / MiB:.0f} MiB mail"
    )
    with sqlite3.connect(var / "intake.db") as db:
        rows = db.execute("select sha256, size from files where role = 'video'").fetchall()
    digest = hashlib.sha256(video).hexdigest()
    assert rows == [(digest, len(video))]
    stored = var / "blobs" / digest[:2] / digest[2:4] / digest
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest


# Imported by `intake ingest`'s processes before and never used there: alembic (a schema
# already current needs none), openpyxl (xlsx lists and exports only), the console's web
# stack, PyAV (FFmpeg's libraries belong in the probe process only).  About 50 MB in each
# process, for a tree whose budget is 600 MB.
UNUSED = ("alembic", "openpyxl", "starlette", "uvicorn", "av")
LOADED = f"sorted({{m.split('.')[0] for m in __import__('sys').modules}} & set({UNUSED!r}))"


def test_ingest_processes_do_not_import_what_they_never_use(tmp_path: Path) -> None:
    # The parent's modules, in a fresh interpreter: pytest's own holds all of them by now.
    parent = subprocess.run(
        [sys.executable, "-c", f"import intake.cli; print({LOADED})"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert parent.stdout.strip() == "[]"
    app = make_app(tmp_path, converter="cold")
    raw = video_message(make_mp4(None, 1), "<video@x>")
    with WorkerPool(app, 1) as pool:
        # After a message with a video, which the worker has probed.
        assert list(ingest_raw_in_order(pool, [(raw, "test", "video", None)])) == ["processed"]
        assert pool.submit(eval, LOADED).result(timeout=120) == []
    app.engine.dispose()
