"""The floor of a season: the least work its mail costs, measured on the same files.

    .venv/bin/python bench/floor.py MAIL_FOLDER [--json]

Reads every `.eml`, decodes its attachments, decompresses and hashes every archive member,
decodes every photo (Pillow), probes every video in-process (PyAV, no worker), and converts
every `.doc`/`.wps` form in one warm LibreOffice (unoserver; its start-up is not counted, as a
warm converter is started once per service, not per season).  No database, no rules, no
replies: the service can only be slower than this.  `bench/season.py` runs it in the same run
as the ingest and prints the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers.archives import expand  # noqa: E402
from parsers.mail import parse_mail  # noqa: E402
from parsers.photos import probe_photo  # noqa: E402
from parsers.sniff import WordContainer, word_container  # noqa: E402
from programs import pyav_probe, unar  # noqa: E402
from programs.libreoffice import Document  # noqa: E402
from programs.warm_converter import WarmConverter, WarmUnavailable  # noqa: E402

_PHOTO = (".jpg", ".jpeg", ".png")
_VIDEO = (".mp4", ".mov", ".avi", ".wmv", ".mkv", ".flv", ".m4v")


def measure(mail: Path) -> dict[str, float]:
    """Seconds spent in each part of the floor, and their sum."""
    spent = {"read": 0.0, "photos": 0.0, "videos": 0.0, "convert": 0.0, "convert_start": 0.0}
    docs: list[Document] = []
    counts = {"messages": 0, "members": 0, "n_photos": 0, "n_videos": 0, "docs": 0}
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        video_path = Path(tmp) / "v"
        for eml in sorted(mail.glob("*.eml")):
            t = time.perf_counter()
            parsed = parse_mail(eml.read_bytes())
            files = expand([a for a in parsed.attachments if not a.inline], rar=unar.read_member)
            for f in files.files:
                hashlib.sha256(f.data).hexdigest()
            spent["read"] += time.perf_counter() - t
            counts["messages"] += 1
            for f in files.files:
                counts["members"] += 1
                name = f.path[-1].lower()
                if name.endswith(_PHOTO):
                    t = time.perf_counter()
                    probe_photo(f.data)
                    spent["photos"] += time.perf_counter() - t
                    counts["n_photos"] += 1
                elif name.endswith(_VIDEO):
                    t = time.perf_counter()
                    video_path.write_bytes(f.data)
                    pyav_probe.report(str(video_path))
                    spent["videos"] += time.perf_counter() - t
                    counts["n_videos"] += 1
                elif name.endswith((".doc", ".wps")):
                    kind = word_container(f.data)
                    if kind is not None and kind is not WordContainer.ZIP:
                        docs.append(Document(name, f.data, "doc"))
    counts["docs"] = len(docs)
    warm = WarmConverter(timeout=120)
    try:
        t = time.perf_counter()
        warm.convert([Document("warm-up.rtf", b"{\\rtf1\\ansi ok\\par}", "rtf")])
        spent["convert_start"] = time.perf_counter() - t
        t = time.perf_counter()
        warm.convert(docs)
        spent["convert"] = time.perf_counter() - t
    except WarmUnavailable as exc:
        print(f"floor: no warm converter ({exc}); conversion not counted", file=sys.stderr)
    finally:
        warm.close()
    total = spent["read"] + spent["photos"] + spent["videos"] + spent["convert"]
    return {**spent, "total": total, **{k: float(v) for k, v in counts.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mail", type=Path)
    ap.add_argument("--json", action="store_true", help="one JSON line, for bench/season.py")
    args = ap.parse_args()
    figures = measure(args.mail)
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"floor: {figures['total']:.1f} s for {figures['messages']:.0f} messages "
        f"({figures['members']:.0f} files): read+hash {figures['read']:.1f} s, "
        f"photos {figures['photos']:.1f} s, videos {figures['videos']:.1f} s, "
        f"{figures['docs']:.0f} .doc {figures['convert']:.1f} s "
        f"(+{figures['convert_start']:.1f} s converter start, not counted)"
    )


if __name__ == "__main__":
    main()
