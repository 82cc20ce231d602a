"""Videos over the blob store's copies: what they hold, and a poster frame.

Probing and poster frames run in-process through PyAV, in one worker process with a timeout
(`programs.pyav_probe`), because process start-up dominates (FIELD-NOTES: ~53 ms per process);
ffprobe and ffmpeg (`programs.ffprobe`, `programs.ffmpeg`, in a small thread pool) are the
fallback where PyAV is missing or its worker cannot start.  `parsers.videos` reads the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from parsers.model import VideoError, VideoInfo
from parsers.videos import parse_ffprobe
from programs import ffmpeg, ffprobe, pyav_probe
from programs.ffprobe import ProbeFailure

T = TypeVar("T")

_ERRORS = {
    ProbeFailure.MISSING_FILE: VideoError.MISSING_FILE,
    ProbeFailure.TOOL_MISSING: VideoError.TOOL_MISSING,
    ProbeFailure.TIMEOUT: VideoError.TIMEOUT,
    ProbeFailure.UNREADABLE: VideoError.UNREADABLE,
}


def _info(report: dict[str, Any] | ProbeFailure) -> VideoInfo:
    if isinstance(report, ProbeFailure):
        return VideoInfo(error=_ERRORS[report])
    return parse_ffprobe(report)


def probe_video(path: Path, timeout: float = 30) -> VideoInfo:
    """Run ffprobe on one file, killing it after `timeout` seconds. Never raises."""
    return _info(ffprobe.probe(path, timeout=timeout))


def probe_video_inprocess(path: Path, timeout: float = 30) -> VideoInfo:
    """Read one file with PyAV in the worker process; ffprobe when PyAV cannot. Never raises."""
    if not pyav_probe.available():
        return probe_video(path, timeout)
    report = pyav_probe.shared().probe(path, timeout=timeout)
    if report is ProbeFailure.TOOL_MISSING:
        return probe_video(path, timeout)
    return _info(report)


def probe_videos(paths: Iterable[Path], timeout: float = 30, workers: int = 2) -> list[VideoInfo]:
    """The in-process probe over many files, in input order (one worker: each takes ms)."""
    del workers  # kept for callers; the PyAV worker reads one file at a time
    return [probe_video_inprocess(p, timeout) for p in paths]


def poster_frames(
    paths: Iterable[Path], timeout: float = 30, workers: int = 2
) -> list[bytes | None]:
    """A JPEG still of each video (None where none could be made), in input order: decoded by
    the PyAV worker, or by ffmpeg processes where PyAV cannot."""
    paths = list(paths)
    if pyav_probe.available():
        posters = [pyav_probe.shared().poster(p, timeout=timeout) for p in paths]
        if ProbeFailure.TOOL_MISSING not in posters:
            return [p if isinstance(p, bytes) else None for p in posters]
    return _in_pool(lambda p: ffmpeg.poster_frame(p, timeout=timeout), paths, workers)


def _in_pool(work: Callable[[Path], T], paths: Sequence[Path], workers: int) -> list[T]:
    # Threads suffice: the work is a subprocess.
    if len(paths) <= 1 or workers <= 1:
        return [work(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="video") as pool:
        return list(pool.map(work, paths))
