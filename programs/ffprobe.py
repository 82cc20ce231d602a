"""ffprobe: what a video file holds, as ffprobe's JSON report, or why there is none.

Plain argv rather than ffmpeg-python: `ffmpeg.probe()` has no timeout (and its `timeout=` kwarg
silently becomes ffprobe's network `-timeout` option), and nothing else is needed from the
library.  `parsers.videos` turns the report into a `VideoInfo`.
"""

from __future__ import annotations

import json
import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from programs.run import ProgramMissing, run

log = logging.getLogger(__name__)

FFPROBE = "ffprobe"


class ProbeFailure(StrEnum):
    """Why ffprobe gave no report.  The first three are our side, not the file's."""

    MISSING_FILE = "missing_file"
    TOOL_MISSING = "tool_missing"
    TIMEOUT = "timeout"
    # ffprobe ran and could not make sense of the file (or said nothing we could read).
    UNREADABLE = "unreadable"


def _argv(path: Path) -> list[str]:
    # "file:" + an absolute path keeps a name like "-x.mp4" or "concat:…" from being read as an
    # option or protocol; the whitelist stops a playlist inside from fetching URLs.
    return [
        FFPROBE,
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "file:" + os.path.abspath(path),
    ]


def probe(path: Path, *, timeout: float) -> dict[str, Any] | ProbeFailure:
    """ffprobe's `-show_format -show_streams` report on one file, killed after `timeout` s."""
    if not os.path.exists(path):
        return ProbeFailure.MISSING_FILE
    try:
        done = run(_argv(path), timeout=timeout)
    except ProgramMissing as exc:
        log.warning("ffprobe could not start: %s", exc)
        return ProbeFailure.TOOL_MISSING
    if done.timed_out:
        return ProbeFailure.TIMEOUT
    if done.returncode != 0:
        log.debug("ffprobe %s: %s", path, done.tail())
        return ProbeFailure.UNREADABLE
    try:
        report = json.loads(done.stdout.decode("utf-8", "replace"))
    except ValueError:
        return ProbeFailure.UNREADABLE
    return report if isinstance(report, dict) else ProbeFailure.UNREADABLE
