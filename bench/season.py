"""Season-sized benchmark: 32 units × 4 categories × 3 cases, ingested on the embedded default.

    .venv/bin/python bench/season.py [--out DIR] [--doc-every 3] [--runs 3]

Measures the floor of the same season first (`bench/floor.py`), then prints the ingest's wall
time and its ratio to the floor, the peak RSS of the largest process and of the whole process
tree, the shares of time in conversion and probing, `intake retriage` against the ingest, the
first daily report, and the peak memory of ingesting one ~100 MB message.  The mail comes from
`samples.big_season`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from samples.big_season import big_message, write_big_season  # noqa: E402


def generate(folder: Path, doc_every: int) -> int:
    from campaign import load_campaign

    campaign = load_campaign(ROOT / "campaign" / "bundled" / "2023.toml")
    return write_big_season(folder, campaign, doc_every)


# Loaded by every Python of the ingest's process tree (worker processes included), through
# PYTHONPATH: times conversion and probing and appends one line per call to $BENCH_TIMES.
SITECUSTOMIZE = r"""
import importlib.abc, importlib.util, os, sys, time
_out = os.environ.get("BENCH_TIMES")


def timed(fn, key):
    def inner(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            with open(_out, "a") as fh:
                fh.write(f"{key} {time.perf_counter() - t}\n")
    return inner


class _PatchReading(importlib.abc.MetaPathFinder):
    # Patches `intake.reading` when a process imports it, and imports nothing itself: the
    # converter host and the probe worker must weigh what they weigh without the benchmark.
    def find_spec(self, name, path, target=None):
        if name != "intake.reading":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.convert_to_docx = timed(module.convert_to_docx, "convert")
            module.probe_videos = timed(module.probe_videos, "probe")

        spec.loader.exec_module = exec_module
        return spec


if _out:
    sys.meta_path.insert(0, _PatchReading())
"""


def run_intake(data_dir: Path, argv: list[str]) -> dict[str, float]:
    """`intake ARGV` in a child whose process tree times conversion and probing; its figures,
    with the peak RSS of the largest process and of the whole process tree (converter and
    workers included), sampled every 0.1 s."""
    probe = r"""
import json, sys, time, resource
from intake.cli import main
t = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"total": time.perf_counter() - t, "code": code,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      file=sys.stderr)
"""
    hooks = data_dir.parent / "bench-hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    times = data_dir.parent / f"bench-times-{time.monotonic_ns()}.txt"
    env = dict(
        os.environ,
        INTAKE_DATA_DIR=str(data_dir),
        BENCH_TIMES=str(times),
        PYTHONPATH=os.pathsep.join(
            p for p in (str(hooks), str(ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    )
    proc = psutil.Popen(
        [sys.executable, "-c", probe, *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    largest = tree = tree_pss = 0
    while proc.poll() is None:
        try:
            family = [proc, *proc.children(recursive=True)]
            rss, pss = [], []
            for p in family:
                with contextlib.suppress(psutil.Error):
                    info = p.memory_full_info()
                    rss.append(info.rss)
                    pss.append(info.pss)
            largest, tree = max(largest, max(rss, default=0)), max(tree, sum(rss))
            tree_pss = max(tree_pss, sum(pss))
        except psutil.Error:
            pass
        time.sleep(0.1)
    err = proc.stderr.read() if proc.stderr else ""
    figures: dict[str, float] = json.loads(err.strip().splitlines()[-1])
    figures["convert"] = figures["probe"] = 0.0
    if times.exists():
        for line in times.read_text().splitlines():
            key, seconds = line.split()
            figures[key] += float(seconds)
    figures["largest_mb"] = max(largest / 2**20, figures["maxrss_kb"] / 1024)
    # RSS counts the pages of shared libraries (Python, FFmpeg, LibreOffice) once in every
    # process; PSS shares them out, so its sum is what the tree really holds.
    figures["tree_mb"] = tree / 2**20
    figures["tree_pss_mb"] = tree_pss / 2**20
    return figures


def run_floor(mail: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "floor.py"), str(mail), "--json"],
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--doc-every", type=int, default=3, help="every Nth form is a .doc")
    ap.add_argument("--runs", type=int, default=3, help="measure this many times; medians")
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
    child("big")
    runs = [one_run(work / f"run-{i}", mail, big, n_cases) for i in range(args.runs)]
    f = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"median of {args.runs} run(s):")
    print(
        f"floor: {f['floor']:.1f} s (read+hash {f['floor_read']:.1f} s, photos "
        f"{f['floor_photos']:.1f} s, videos {f['floor_videos']:.1f} s, .doc "
        f"{f['floor_convert']:.1f} s)"
    )
    print(
        f"ingest: {f['ingest']:.1f} s, {n_cases / f['ingest']:.2f} cases/s, "
        f"{f['ingest_ratio']:.2f}× the floor (target ≤ 1.5×), {f['workers']:.0f} workers; "
        f"per run: " + ", ".join(f"{r['ingest']:.1f} s ({r['ingest_ratio']:.2f}×)" for r in runs)
    )
    print(
        f"peak memory: largest process {f['largest_mb']:.0f} MB, whole tree {f['tree_mb']:.0f} "
        f"MB RSS summed, {f['tree_pss_mb']:.0f} MB PSS summed (target < 600 MB)"
    )
    for key in ("convert", "probe"):
        # Summed over the worker processes: the share is of their total busy time.
        print(f"time in {key}: {f[key]:.1f} s summed over workers ({f[key + '_share']:.0%})")
    print(
        f"retriage: {f['retriage']:.1f} s, {f['retriage_ratio']:.2f}× the ingest (target ≤ 0.3×); "
        "per run: " + ", ".join(f"{r['retriage_ratio']:.2f}×" for r in runs)
    )
    print(f"first report: {f['report']:.2f} s (target ≤ 2 s)")
    msg_mb = (big / "big.eml").stat().st_size / 1e6
    print(
        f"100 MB message ({msg_mb:.0f} MB on disk): {f['big']:.1f} s, largest process "
        f"{f['big_largest_mb']:.0f} MB (target < 300 MB), whole tree {f['big_tree_mb']:.0f} MB "
        f"RSS, {f['big_tree_pss_mb']:.0f} MB PSS (target < 600 MB)"
    )


def one_run(work: Path, mail: Path, big: Path, n_cases: int) -> dict[str, float]:
    """One measurement of everything, the floor first, in fresh folders."""
    floor = run_floor(mail)
    ingest = run_intake(work / "var", ["ingest", str(mail)])
    workers = float(int(os.environ.get("INTAKE_WORKERS") or os.cpu_count() or 1))
    retriage = run_intake(work / "var", ["retriage"])
    report = run_intake(work / "var", ["report"])
    figures = run_intake(work / "var-big", ["ingest", str(big)])
    out = {
        "floor": floor["total"],
        "floor_read": floor["read"],
        "floor_photos": floor["photos"],
        "floor_videos": floor["videos"],
        "floor_convert": floor["convert"],
        "ingest": ingest["total"],
        "ingest_ratio": ingest["total"] / floor["total"],
        "workers": workers,
        "largest_mb": ingest["largest_mb"],
        "tree_mb": ingest["tree_mb"],
        "tree_pss_mb": ingest["tree_pss_mb"],
        "retriage": retriage["total"],
        "retriage_ratio": retriage["total"] / ingest["total"],
        "report": report["total"],
        "big": figures["total"],
        "big_largest_mb": figures["largest_mb"],
        "big_tree_mb": figures["tree_mb"],
        "big_tree_pss_mb": figures["tree_pss_mb"],
    }
    for key in ("convert", "probe"):
        out[key] = ingest[key]
        out[key + "_share"] = ingest[key] / (ingest["total"] * max(1.0, workers))
    print(
        f"  run: floor {out['floor']:.1f} s, ingest {out['ingest']:.1f} s, retriage "
        f"{out['retriage']:.1f} s, report {out['report']:.2f} s, big {out['big_largest_mb']:.0f} MB",
        flush=True,
    )
    return out


if __name__ == "__main__":
    main()
