"""Real photos and videos made by code, so each test shows what its file holds.

Videos come from a real ffmpeg at 2 fps and low resolution (a 200-second mp4 takes about 0.3 s)
and are cached for the session, since many tests want the same few lengths.
"""

from __future__ import annotations

import functools
import io
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

_JPEG_SEGMENT_MAX = 0xFFFF + 2  # marker (2) + length field counting itself (2) + 65533 data


def _picture(width: int, height: int) -> Image.Image:
    # Bands and shapes give the encoder real work and make truncation land inside scan data.
    im = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(im)
    for i in range(0, max(width, height), 37):
        draw.line((i, 0, 0, i), fill=(i % 256, 80, 200), width=3)
    draw.ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4), outline=(255, 40, 40))
    return im


def _com_segments(total: int) -> bytes:
    """JPEG COM segments adding exactly `total` bytes (total must be 0 or >= 4)."""
    if total == 0:
        return b""
    if total < 4:
        raise ValueError("a JPEG comment segment takes at least 4 bytes")
    sizes: list[int] = []
    remaining = total
    while remaining:
        size = min(remaining, _JPEG_SEGMENT_MAX)
        if 0 < remaining - size < 4:  # leave a remainder that still fits a segment
            size = remaining - 4
        sizes.append(size)
        remaining -= size
    return b"".join(
        b"\xff\xfe" + struct.pack(">H", size - 2) + b"\x00" * (size - 4) for size in sizes
    )


def make_jpeg(
    width: int = 640, height: int = 480, size_bytes: int | None = None, quality: int = 85
) -> bytes:
    """A real JPEG; `size_bytes` pads it with comment segments to exactly that many bytes."""
    buf = io.BytesIO()
    _picture(width, height).save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    if size_bytes is None:
        return data
    pad = size_bytes - len(data)
    if pad < 0:
        raise ValueError(f"a {width}x{height} JPEG is already {len(data)} bytes")
    # After SOI, where any decoder skips COM segments.
    return data[:2] + _com_segments(pad) + data[2:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png(
    width: int = 640, height: int = 480, size_bytes: int | None = None, mode: str = "RGB"
) -> bytes:
    """A real PNG; `size_bytes` pads it with a private ancillary chunk to exactly that size."""
    buf = io.BytesIO()
    _picture(width, height).convert(mode).save(buf, "PNG")
    data = buf.getvalue()
    if size_bytes is None:
        return data
    pad = size_bytes - len(data)
    if pad == 0:
        return data
    if pad < 12:
        raise ValueError(f"a {width}x{height} PNG is {len(data)} bytes; cannot pad by {pad}")
    ihdr_end = 8 + 8 + 13 + 4
    # Lower-case first letter = ancillary: decoders skip it; "prVt" is no registered chunk.
    return data[:ihdr_end] + _png_chunk(b"prVt", b"\x00" * (pad - 12)) + data[ihdr_end:]


def truncated_jpeg() -> bytes:
    """A JPEG cut off mid-scan, as an interrupted download leaves it; verify() passes it."""
    data = make_jpeg(800, 600, quality=95)
    return data[: len(data) * 6 // 10]


@functools.lru_cache(maxsize=4)
def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit PNG of width × height pixels that compresses to a few hundred KB or less."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    rows_per_feed = max(1, 4_000_000 // len(row))
    idat = bytearray()
    for start in range(0, height, rows_per_feed):
        idat += z.compress(row * min(rows_per_feed, height - start))
    idat += z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", bytes(idat))
        + _png_chunk(b"IEND", b"")
    )


def make_gif(width: int = 64, height: int = 48) -> bytes:
    buf = io.BytesIO()
    _picture(width, height).convert("P").save(buf, "GIF")
    return buf.getvalue()


def heic_header() -> bytes:
    """The start of an iPhone HEIC file (ftyp box, brand heic); Pillow cannot read HEIC here."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + b"\x00" * 64


def _ffmpeg(args: list[str], out_name: str) -> bytes:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is not installed")
    with tempfile.TemporaryDirectory(prefix="media-builder-") as tmp:
        out = Path(tmp) / out_name
        subprocess.run(
            [ffmpeg, "-nostdin", "-v", "error", "-y", *args, str(out)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return out.read_bytes()


@functools.lru_cache(maxsize=16)
def _mp4_bytes(seconds: float, width: int, height: int) -> bytes:
    return _ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size={width}x{height}:rate=2:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=8000:cl=mono",
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "8k",
            "-movflags",
            "+faststart",
        ],
        "video.mp4",
    )


def make_mp4(
    path_or_none: Path | None, seconds: float, width: int = 320, height: int = 240
) -> bytes:
    """An H.264/AAC mp4 of that length; also written to `path_or_none` when given."""
    data = _mp4_bytes(float(seconds), width, height)
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
        return _ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                "anullsrc=r=8000:cl=mono",
                "-i",
                str(art),
                "-t",
                str(seconds),
                "-map",
                "0",
                "-map",
                "1",
                "-c:a",
                "libmp3lame",
                "-c:v",
                "mjpeg",
                "-disposition:v",
                "attached_pic",
            ],
            "audio.mp3",
        )


def make_audio_only(
    path_or_none: Path | None, seconds: float = 3, cover_art: bool = False
) -> bytes:
    """Sound without pictures: an m4a, or an mp3 with cover art when `cover_art`."""
    data = _audio_bytes(float(seconds), cover_art)
    if path_or_none is not None:
        Path(path_or_none).write_bytes(data)
    return data
