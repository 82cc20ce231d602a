"""Real photos and scans made by code (Pillow), so each test or demo case shows what it holds.

Test patterns (`make_jpeg`, `make_png`, `make_gif`) give the encoder real work; a `scene` is a
small made-up site photo (buildings, sun, ground) for the demo; `scan_pdf` is a stamped scan.
Broken and hostile pictures (`truncated_jpeg`, `bomb_png`, `heic_header`) are here too.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib

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


def _scene(width: int, height: int, seed: int) -> Image.Image:
    """A site photo of sorts: sky, sun, a row of buildings with windows, ground and a tree."""
    w, h = width, height
    sky = ((seed * 53) % 120 + 80, (seed * 31) % 90 + 140, 230)
    ground = (60 + (seed * 17) % 60, 140 + (seed * 7) % 80, 70)
    im = Image.new("RGB", (w, h), sky)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, h * 2 // 3, w, h), fill=ground)
    draw.ellipse((w - 110, 20, w - 40, 90), fill=(255, 214, 90))
    for i in range(4 + seed % 4):
        x = 30 + i * (w // 6)
        top = h // 3 + (seed * (i + 3) * 11) % (h // 4)
        draw.rectangle((x, top, x + w // 10, h * 2 // 3), fill=(90 + i * 20, 90, 110))
        for j in range(3):
            draw.rectangle(
                (x + 6, top + 8 + j * 18, x + w // 10 - 6, top + 14 + j * 18), fill="white"
            )
    draw.polygon(((20, h - 10), (w // 3, h * 2 // 3 + 10), (w // 2, h - 10)), fill=(40, 110, 50))
    return im


_TWO_BITS = bytes(i & 3 for i in range(256))


def _com_segments(total: int, filler: bytes | None = None) -> bytes:
    """JPEG COM segments adding exactly `total` bytes (total must be 0 or >= 4).

    The segments hold zeros, or the bytes of `filler` (at least `total` long) when given.
    """
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
    out = bytearray()
    for size in sizes:
        body = b"\x00" * (size - 4) if filler is None else filler[len(out) : len(out) + size - 4]
        out += b"\xff\xfe" + struct.pack(">H", size - 2) + body
    return bytes(out)


def make_jpeg(
    width: int = 640,
    height: int = 480,
    size_bytes: int | None = None,
    quality: int = 85,
    *,
    scene: int | None = None,
    compressible: bool = True,
) -> bytes:
    """A real JPEG; `size_bytes` pads it with comment segments to exactly that many bytes.

    `scene` draws the site photo of that seed instead of the test pattern.  Padding is zeros,
    or with `compressible=False` bytes of about 2 bits of entropy: zeros compress so well (over
    200:1) that the archive reader rightly takes a zip of a big photo for a bomb, and random
    bytes would bloat the mail.
    """
    picture = _picture(width, height) if scene is None else _scene(width, height, scene)
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    if size_bytes is None:
        return data
    pad = size_bytes - len(data)
    if pad < 0:
        raise ValueError(f"a {width}x{height} JPEG is already {len(data)} bytes")
    filler = None
    if not compressible:
        filler = random.Random(scene or 0).randbytes(pad).translate(_TWO_BITS)
    # After SOI, where any decoder skips COM segments.
    return data[:2] + _com_segments(pad, filler) + data[2:]


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


def scan_pdf(seed: int) -> bytes:
    """A 'stamped scan': a page of table lines with a red seal, as a one-page PDF."""
    im = Image.new("RGB", (420, 595), "white")
    draw = ImageDraw.Draw(im)
    for y in range(90, 520, 36):
        draw.line((40, y, 380, y), fill=(60, 60, 60), width=1)
    draw.line((40, 90, 40, 486), fill=(60, 60, 60))
    draw.line((380, 90, 380, 486), fill=(60, 60, 60))
    draw.line((130, 90, 130, 486), fill=(60, 60, 60))
    for i in range(6):
        draw.rectangle((150, 100 + 36 * i, 200 + (seed * 13 + i * 29) % 150, 112 + 36 * i), fill=0)
    draw.ellipse((260, 470, 360, 570), outline=(200, 30, 30), width=5)
    draw.regular_polygon((310, 520, 18), 5, fill=(200, 30, 30))
    buf = io.BytesIO()
    im.save(buf, "PDF", resolution=72.0)
    return buf.getvalue()
