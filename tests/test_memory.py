"""A big message must not be held many times over (the stdlib parser once decoded 8×)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from samples.archives import make_zip
from samples.cases import submission
from samples.mail import build_submission

PROBE = """
import resource, sys
from intake.cli import main
code = main(["ingest", sys.argv[1]])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, code)
"""


def peak_rss(tmp_path: Path, mail: Path) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env["INTAKE_DATA_DIR"] = str(tmp_path / f"var-{mail.stem}")
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


def test_big_message_is_held_a_few_times_at_most(tmp_path: Path) -> None:
    small = tmp_path / "small.eml"
    small.write_bytes(submission("北京市"))
    payload = os.urandom(40 * 1024 * 1024)  # incompressible, like video
    big = tmp_path / "big.eml"
    big.write_bytes(
        build_submission(
            attachments=[
                (
                    "北京市大案例推荐材料.zip",
                    make_zip({"北京市大案例推荐材料/北京市大案例视频.mp4": payload}),
                )
            ],
            message_id="<big@x>",
        )
    )
    size = big.stat().st_size
    extra = peak_rss(tmp_path, big) - peak_rss(tmp_path, small)
    assert extra < 5 * size, f"{extra / 2**20:.0f} MiB extra for a {size / 2**20:.0f} MiB message"
