"""PyAV: what a video holds, read in-process by FFmpeg's libraries, in a worker with a timeout.

An ffprobe process per video costs ~50 ms of start-up; PyAV (`av`, whose wheels bundle FFmpeg's
libraries) reads the same header in a few milliseconds.  A hostile file may still hang a
demuxer, so the reading happens in a long-lived worker process: a probe that outlasts its
timeout kills that worker (a fresh one starts for the next file), never the service.

The answer has the shape of ffprobe's JSON report (`format`, `streams`), so `parsers.videos`
reads both the same way.  `programs.ffprobe` stays the fallback when PyAV is not installed.

The same worker decodes each video's first picture for its poster: an ffmpeg process per video
cost ~50 ms to start and up to 60 MB each, two at a time in each ingest worker (measured on the
benchmark season); `programs.ffmpeg` stays the fallback for posters too.
"""

from __future__ import annotations

import atexit
import base64
import functools
import importlib.util
import io
import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from programs.ffprobe import ProbeFailure
from programs.run import die_with_parent, kill_group

_START_TIMEOUT = 60.0
POSTER_WIDTH = 480


@functools.cache
def available() -> bool:
    """True when PyAV is installed here (ffprobe is the fallback)."""
    # Found, not imported: importing loads FFmpeg's libraries (~18 MB) into the caller, every
    # ingest worker among them, when only the probe process needs them.
    return importlib.util.find_spec("av") is not None


def report(path: str) -> dict[str, Any] | str:
    """ffprobe-shaped report of one file, or a ProbeFailure value; runs inside the worker."""
    import av  # noqa: PLC0415 - only the worker process loads FFmpeg's libraries

    try:
        # "file:" + an absolute path keeps "-x.mp4" or "concat:…" a plain file; the whitelist
        # stops a playlist inside from opening anything else.
        container = av.open("file:" + os.path.abspath(path), options={"protocol_whitelist": "file"})
    except Exception:  # noqa: BLE001 - any refusal by the demuxer means an unreadable file
        return ProbeFailure.UNREADABLE.value
    with container:
        attached = getattr(av.stream.Disposition, "attached_pic", None)
        streams = []
        for s in container.streams:
            ctx = s.codec_context
            duration = (
                float(s.duration * s.time_base)
                if s.duration is not None and s.time_base is not None
                else None
            )
            streams.append(
                {
                    "codec_type": s.type,
                    # The codec's name as ffprobe gives it ("mp3"), not the decoder's ("mp3float").
                    "codec_name": ctx.codec.canonical_name if ctx is not None else None,
                    "width": getattr(ctx, "width", None) if s.type == "video" else None,
                    "height": getattr(ctx, "height", None) if s.type == "video" else None,
                    "duration": duration,
                    "disposition": {
                        "attached_pic": int(bool(attached and s.disposition & attached))
                    },
                }
            )
        duration_us = container.duration
        return {
            "format": {
                "format_name": container.format.name,
                "duration": duration_us / 1_000_000 if duration_us else None,
            },
            "streams": streams,
        }


def poster(path: str) -> str | None:
    """The first picture of the first video stream, 480 px wide, as base64 JPEG; runs inside
    the worker.  None when there is no picture to be had."""
    import av  # noqa: PLC0415 - only the worker process loads FFmpeg's libraries

    try:
        container = av.open("file:" + os.path.abspath(path), options={"protocol_whitelist": "file"})
    except Exception:  # noqa: BLE001 - the probe says why; a poster is only a convenience
        return None
    with container:
        if not container.streams.video:
            return None
        for frame in container.decode(video=0):
            image = frame.to_image()
            width = min(POSTER_WIDTH, image.width)
            height = max(2, round(image.height * width / image.width / 2) * 2)
            out = io.BytesIO()
            image.resize((width, height)).save(out, "JPEG", quality=80)
            return base64.b64encode(out.getvalue()).decode("ascii")
    return None


def _serve() -> None:
    """The worker's loop: one JSON request a line in (an absolute path to probe, or
    `{"poster": path}`), one JSON answer a line out."""
    import av  # noqa: F401, PLC0415 - loaded before "ready", so start-up is not probe time

    out = sys.stdout
    out.write('"ready"\n')
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        answer: dict[str, Any] | str | None
        try:
            if isinstance(request, dict):
                answer = {"jpeg": poster(request["poster"])}
            else:
                answer = report(request)
        except Exception:  # noqa: BLE001 - an unexpected failure is an unreadable file
            answer = ProbeFailure.UNREADABLE.value
        out.write(json.dumps(answer) + "\n")
        out.flush()


class Prober:
    """One worker process probing files one at a time; killed and replaced when one hangs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def probe(self, path: Path, *, timeout: float) -> dict[str, Any] | ProbeFailure:
        """The report on one file, or why there is none (TIMEOUT when the worker was killed)."""
        answer = self._ask(os.path.abspath(path), path, timeout)
        if isinstance(answer, ProbeFailure):
            return answer
        return ProbeFailure(answer) if isinstance(answer, str) else answer

    def poster(self, path: Path, *, timeout: float) -> bytes | None | ProbeFailure:
        """A JPEG of the video's first picture (None when it has none), or why the worker
        could not answer."""
        answer = self._ask({"poster": os.path.abspath(path)}, path, timeout)
        if isinstance(answer, ProbeFailure):
            return answer
        if not isinstance(answer, dict):
            return ProbeFailure.UNREADABLE
        jpeg = answer.get("jpeg")
        return base64.b64decode(jpeg) if isinstance(jpeg, str) else None

    def _ask(self, request: object, path: Path, timeout: float) -> Any:
        if not os.path.exists(path):
            return ProbeFailure.MISSING_FILE
        with self._lock:
            try:
                proc = self._ensure()
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
            except OSError:
                self._stop()
                return ProbeFailure.TOOL_MISSING
            line = self._read_line(proc, timeout)
            if line is None:
                self._stop()
                return ProbeFailure.TIMEOUT
            if not line:
                # The worker died on this file (a crash inside FFmpeg): the file's fault.
                self._stop()
                return ProbeFailure.UNREADABLE
        return json.loads(line)

    def close(self) -> None:
        with self._lock:
            self._stop()

    @staticmethod
    def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes | None:
        """One line of the worker's answer; None when it did not come within `timeout`."""
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        return proc.stdout.readline() if ready else None

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "programs.pyav_probe"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads touched before exec
            )
        except OSError as exc:
            raise OSError(f"cannot start the PyAV worker: {exc}") from exc
        self._proc = proc
        # Start-up (Python, FFmpeg's libraries) must not eat the first probe's time.
        if self._read_line(proc, _START_TIMEOUT) != b'"ready"\n':
            self._stop()
            raise OSError("the PyAV worker did not start")
        return proc

    def _stop(self) -> None:
        if self._proc is not None:
            kill_group(self._proc)
        self._proc = None


_shared: Prober | None = None
_shared_lock = threading.Lock()


def shared() -> Prober:
    """This process's prober (one worker per process, started on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Prober()
            atexit.register(_shared.close)
        return _shared


if __name__ == "__main__":
    _serve()
