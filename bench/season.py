"""Season-sized benchmark: 32 units × 4 categories × 3 cases, ingested on the embedded default.

    .venv/bin/python bench/season.py [--out DIR] [--doc-every 3]

Prints cases per second, peak memory, and the share of time spent in LibreOffice and ffprobe,
then the peak memory of ingesting one ~100 MB message.  The mail comes from `samples.big_season`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from samples.big_season import big_message, write_big_season  # noqa: E402


def generate(folder: Path, doc_every: int) -> int:
    from campaign import load_campaign

    campaign = load_campaign(ROOT / "campaign" / "bundled" / "2023.toml")
    return write_big_season(folder, campaign, doc_every)


def run_ingest(data_dir: Path, mail: Path) -> tuple[float, dict[str, float], int]:
    """Ingest in a child process that times LibreOffice and ffprobe calls; returns its figures."""
    probe = r"""
import json, sys, time, resource
import intake.reading as r
spent = {"libreoffice": 0.0, "ffprobe": 0.0}
def timed(fn, key):
    def inner(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[key] += time.perf_counter() - t
    return inner
r.convert_to_docx = timed(r.convert_to_docx, "libreoffice")
r.probe_videos = timed(r.probe_videos, "ffprobe")
from intake.cli import main
t = time.perf_counter()
code = main(["ingest", sys.argv[1]])
spent["total"] = time.perf_counter() - t
spent["code"] = code
spent["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(spent), file=sys.stderr)
"""
    env = dict(os.environ, INTAKE_DATA_DIR=str(data_dir))
    done = subprocess.run(
        [sys.executable, "-c", probe, str(mail)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return figures["total"], figures, children


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--doc-every", type=int, default=3, help="every Nth form is a .doc")
    ap.add_argument("--generate", choices=["season", "big"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="season-"))
    mail, big = work / "mail", work / "big"
    if args.generate == "season":
        mail.mkdir(parents=True, exist_ok=True)
        print(generate(mail, args.doc_every))
        return
    if args.generate == "big":
        big.mkdir(parents=True, exist_ok=True)
        (big / "big.eml").write_bytes(big_message(100))
        return

    # Generation runs in a child of its own: a child's peak memory starts from its parent's
    # at fork, so a parent that held the generated mail would inflate every figure below.
    def child(kind: str) -> str:
        cmd = [
            sys.executable,
            __file__,
            "--generate",
            kind,
            "--out",
            str(work),
            "--doc-every",
            str(args.doc_every),
        ]
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

    t = time.perf_counter()
    n_cases = int(child("season").split()[-1])
    size = sum(p.stat().st_size for p in mail.iterdir())
    print(
        f"generated {n_cases} cases in {len(list(mail.iterdir()))} messages, "
        f"{size / 1e6:.0f} MB, in {time.perf_counter() - t:.1f} s"
    )
    total, figures, _ = run_ingest(work / "var", mail)
    print(f"ingest: {total:.1f} s, {n_cases / total:.2f} cases/s, exit {figures['code']}")
    print(f"peak memory (ingest process): {figures['maxrss_kb'] / 1024:.0f} MB")
    for key in ("libreoffice", "ffprobe"):
        print(f"time in {key}: {figures[key]:.1f} s ({figures[key] / total:.0%})")

    child("big")
    msg_mb = (big / "big.eml").stat().st_size / 1e6
    total, figures, _ = run_ingest(work / "var-big", big)
    print(
        f"100 MB message ({msg_mb:.0f} MB on disk): {total:.1f} s, "
        f"peak memory {figures['maxrss_kb'] / 1024:.0f} MB "
        f"({figures['maxrss_kb'] / 1024 / msg_mb:.1f}× its size)"
    )


if __name__ == "__main__":
    main()
