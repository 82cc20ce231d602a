"""Real videos and sound files made by ffmpeg, so each test or demo case shows what it holds.

Videos come from a real ffmpeg at 2 fps and low resolution (a 200-second mp4 takes about 0.3 s)
and are cached for the process, since many tests want the same few lengths.  ffmpeg is started
through `programs.run` like every other program: with a timeout, its process group killed when
time runs out.  `-fflags +bitexact` and no metadata keep the bytes the same from run to run.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from programs.run import ProgramMissing, run
from samples.photos import make_jpeg

FFMPEG_TIMEOUT = 60


def _ffmpeg(args: list[str], out_name: str) -> bytes:
    """Run ffmpeg with `args` and return the file it wrote; ProgramMissing without ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ProgramMissing("ffmpeg is not installed")
    with tempfile.TemporaryDirectory(prefix="media-builder-") as tmp:
        out = Path(tmp) / out_name
        done = run(
            [ffmpeg, "-nostdin", "-v", "error", "-y", *args, str(out)], timeout=FFMPEG_TIMEOUT
        )
        if not done.ok:
            reason = "timed out" if done.timed_out else f"exited {done.returncode}"
            raise RuntimeError(f"ffmpeg {reason}: {done.tail()}")
        return out.read_bytes()


@functools.lru_cache(maxsize=16)
def _mp4_bytes(seconds: float, width: int, height: int, crf: int | None) -> bytes:
    quality = ["-crf", str(crf)] if crf is not None else []
    # fmt: off
    return _ffmpeg(
        [
            "-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=2:duration={seconds}",
            "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
            "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", *quality, "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "8k",
            "-fflags", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart",
        ],
        "video.mp4",
    )
    # fmt: on


def make_mp4(
    path_or_none: Path | None,
    seconds: float,
    width: int = 320,
    height: int = 240,
    *,
    crf: int | None = None,
) -> bytes:
    """An H.264/AAC mp4 of that length; also written to `path_or_none` when given.

    `crf` trades picture quality for size (38 keeps a three-minute demo video under a MB).
    """
    data = _mp4_bytes(float(seconds), width, height, crf)
    if path_or_none is not None:
        Path(path_or_none).write_bytes(data)
    return data


@functools.lru_cache(maxsize=4)
def _audio_bytes(seconds: float, cover: bool) -> bytes:
    if not cover:
        return _ffmpeg(
            ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds), "-c:a", "aac"],
            "audio.m4a",
        )
    with tempfile.TemporaryDirectory(prefix="media-builder-") as tmp:
        art = Path(tmp) / "cover.jpg"
        art.write_bytes(make_jpeg(64, 64))
        # An mp3 with cover art: ffprobe lists the art as a video stream (attached_pic).
        # fmt: off
        return _ffmpeg(
            [
                "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
                "-i", str(art),
                "-t", str(seconds),
                "-map", "0", "-map", "1",
                "-c:a", "libmp3lame", "-c:v", "mjpeg", "-disposition:v", "attached_pic",
            ],
            "audio.mp3",
        )
        # fmt: on


def make_audio_only(
    path_or_none: Path | None, seconds: float = 3, cover_art: bool = False
) -> bytes:
    """Sound without pictures: an m4a, or an mp3 with cover art when `cover_art`."""
    data = _audio_bytes(float(seconds), cover_art)
    if path_or_none is not None:
        Path(path_or_none).write_bytes(data)
    return data
