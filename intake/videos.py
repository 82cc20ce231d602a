"""Videos over the blob store's copies: ffprobe for what they hold, ffmpeg for a poster frame.

Both run as programs (`programs.ffprobe`, `programs.ffmpeg`) in a small thread pool, because
process start-up dominates (FIELD-NOTES: ~53 ms per ffprobe); `parsers.videos` reads the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from parsers.model import VideoError, VideoInfo
from parsers.videos import parse_ffprobe
from programs import ffmpeg, ffprobe
from programs.ffprobe import ProbeFailure

T = TypeVar("T")

_ERRORS = {
    ProbeFailure.MISSING_FILE: VideoError.MISSING_FILE,
    ProbeFailure.TOOL_MISSING: VideoError.TOOL_MISSING,
    ProbeFailure.TIMEOUT: VideoError.TIMEOUT,
    ProbeFailure.UNREADABLE: VideoError.UNREADABLE,
}


def probe_video(path: Path, timeout: float = 30) -> VideoInfo:
    """Run ffprobe on one file, killing it after `timeout` seconds. Never raises."""
    report = ffprobe.probe(path, timeout=timeout)
    if isinstance(report, ProbeFailure):
        return VideoInfo(error=_ERRORS[report])
    return parse_ffprobe(report)


def probe_videos(paths: Iterable[Path], timeout: float = 30, workers: int = 2) -> list[VideoInfo]:
    """probe_video over many files, in input order."""
    return _in_pool(lambda p: probe_video(p, timeout), list(paths), workers)


def poster_frames(
    paths: Iterable[Path], timeout: float = 30, workers: int = 2
) -> list[bytes | None]:
    """A JPEG still of each video (None where ffmpeg made none), in input order."""
    return _in_pool(lambda p: ffmpeg.poster_frame(p, timeout=timeout), list(paths), workers)


def _in_pool(work: Callable[[Path], T], paths: Sequence[Path], workers: int) -> list[T]:
    # Threads suffice: the work is a subprocess.
    if len(paths) <= 1 or workers <= 1:
        return [work(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="video") as pool:
        return list(pool.map(work, paths))
