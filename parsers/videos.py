"""Videos: what ffprobe's report on a unit's file says — how long it runs, what it shows.

Pure: `programs.ffprobe` runs the program and hands the JSON here.  A problem comes back as a
`VideoError` in `VideoInfo.error`; the rules VIDEO_UNREADABLE and MEDIA_CHECK_UNAVAILABLE word it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from parsers.model import VideoError, VideoInfo


def _positive_float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def parse_ffprobe(report: dict[str, Any]) -> VideoInfo:
    """Turn ffprobe's JSON (`-show_format -show_streams`) into a VideoInfo."""
    fmt = report.get("format") or {}
    streams = [s for s in report.get("streams") or [] if isinstance(s, dict)]
    container = fmt.get("format_name") or None

    def is_picture(s: dict[str, Any]) -> bool:
        # An mp3's cover art is a one-frame "video" stream flagged attached_pic.
        return s.get("codec_type") == "video" and not (s.get("disposition") or {}).get(
            "attached_pic"
        )

    video = next((s for s in streams if is_picture(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _positive_float(fmt.get("duration"))
    if duration is None:
        durations = [d for s in streams if (d := _positive_float(s.get("duration"))) is not None]
        duration = max(durations, default=None)

    info = VideoInfo(
        duration_s=duration,
        container=container,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=_positive_int(video.get("width")) if video else None,
        height=_positive_int(video.get("height")) if video else None,
    )
    error: VideoError | None = None
    if video is None:
        error = VideoError.NO_PICTURE
    elif container and (container == "image2" or container.endswith("_pipe")):
        error = VideoError.IMAGE
    elif container == "gif":
        error = VideoError.GIF
    elif duration is None:
        error = VideoError.NO_DURATION
    return info if error is None else replace(info, error=error)
