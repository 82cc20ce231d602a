"""ffmpeg: a poster frame (a small JPEG still) from a unit's video, for staff to glance at.

ffmpeg-python only builds the argv; the process runs through `programs.run`, which has the
timeout that ffmpeg-python's own `run()` lacks.  Like ffprobe, the input is "file:" + an absolute
path with the file protocol alone whitelisted, so a hostile name or playlist reads nothing else.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ffmpeg

from programs.run import ProgramMissing, run

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
JPEG_MAGIC = b"\xff\xd8\xff"


def poster_argv(path: Path) -> list[str]:
    """The ffmpeg command writing the first frame, 480 px wide, as one JPEG to stdout."""
    stream = ffmpeg.input("file:" + os.path.abspath(path), protocol_whitelist="file").output(
        "pipe:", vframes=1, format="image2", vcodec="mjpeg", vf="scale=480:-2"
    )
    argv: list[str] = stream.global_args("-v", "error", "-nostdin").compile(cmd=FFMPEG)
    return argv


def poster_frame(path: Path, *, timeout: float) -> bytes | None:
    """A JPEG of the video's first frame; None when there is none (or no ffmpeg). Never raises."""
    try:
        done = run(poster_argv(path), timeout=timeout)
    except ProgramMissing as exc:
        log.warning("ffmpeg could not start: %s", exc)
        return None
    if not done.ok or not done.stdout.startswith(JPEG_MAGIC):
        log.debug("no poster for %s: %s", path, "timed out" if done.timed_out else done.tail())
        return None
    return done.stdout
