"""Photo thumbnails for the daily report: small JPEGs made once per photo with Pillow.

Each is rendered into a shared cache (`<reports_dir>/.thumb-cache`) and hard-linked (or copied)
into the day's `thumbs/` folder, so a season's photos are decoded once, not every morning.  Ingest
renders them as it reads each photo (`render`), so even the first report only links files.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from reports.daily_views import Report
from store.blobs import BlobStore, write_shared

log = logging.getLogger(__name__)

CACHE_NAME = ".thumb-cache"
THUMB_SIZE = 240
# Photos bigger than this are not thumbnailed: a decompression bomb must not stall the report.
THUMB_MAX_PIXELS = 60_000_000


class Thumbnailer:
    """Small JPEG thumbnails, made once per photo and linked into each day's folder."""

    def __init__(self, blobs: BlobStore, folder: Path, cache: Path) -> None:
        self.blobs = blobs
        self.folder = folder
        self.cache = cache

    def make(self, sha256: str) -> str | None:
        """The thumbnail's path relative to the report folder, or None if not a readable image."""
        name = thumb_name(sha256)
        target = self.folder / name
        if target.exists():
            return f"thumbs/{name}"
        cached = self.cache / name
        if not cached.exists() and not self._render(sha256, cached):
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            os.link(cached, target)
        except OSError:  # another file system, or links not allowed: copy instead
            shutil.copyfile(cached, target)
        return f"thumbs/{name}"

    def _render(self, sha256: str, cached: Path) -> bool:
        if not self.blobs.exists(sha256):
            return False
        return render(self.blobs.get(sha256), cached)


def cache_folder(reports_dir: Path) -> Path:
    """The shared thumbnail cache of a reports folder (filled at ingest, read by each report)."""
    return reports_dir / CACHE_NAME


def render(data: bytes, cached: Path) -> bool:
    """Write the thumbnail of a photo's bytes to `cached`; False if it is not a readable image.

    Ingest calls this for every photo as it is read, so the first report only links files.
    """
    if cached.exists():
        return True
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its pixel limit; a bomb must fail here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > THUMB_MAX_PIXELS:
                    return False
                # JPEG decodes at 1/2…1/8 scale directly: a 5 MB photo costs a few ms.
                im.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))
                small = ImageOps.exif_transpose(im) or im
                small.thumbnail((THUMB_SIZE, THUMB_SIZE))
                buf = io.BytesIO()
                small.convert("RGB").save(buf, "JPEG", quality=72, optimize=True)
    except Exception as exc:  # unreadable photos are the rules' business, not the report's
        log.debug("no thumbnail for %s: %s", cached.name, exc)
        return False
    write_shared(cached, buf.getvalue())
    return True


def thumb_name(sha256: str) -> str:
    return f"{sha256[:32]}.jpg"


def attach_thumbnails(report: Report, thumbs: Thumbnailer) -> None:
    for case in report.cases:
        for photo in case.photos:
            photo.thumb = thumbs.make(photo.sha256)
