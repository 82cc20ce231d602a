"""What was derived from a stored file, kept by the file's sha256: converted `.docx`, probes of
videos and photos.

The same bytes always convert and probe the same way, so `intake retriage` (and a resubmission
of the same file) reuses these instead of running LibreOffice or a probe again.  Only answers
that belong to the file are kept: a conversion that timed out or a probe that could not run is
our side's failure and is tried again next time.  Kept beside the blobs, under `derived/`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from parsers.model import PhotoError, PhotoInfo, VideoError, VideoInfo
from store.blobs import BlobStore, write_shared


class Derived:
    """Cached `.docx` conversions, video probes and decoded photos' facts of stored files."""

    def __init__(self, blobs: BlobStore) -> None:
        self.root = blobs.root / "derived"

    def _path(self, kind: str, sha256: str, suffix: str) -> Path:
        return self.root / kind / sha256[:2] / f"{sha256}{suffix}"

    def docx(self, sha256: str) -> bytes | None:
        try:
            return self._path("docx", sha256, ".docx").read_bytes()
        except OSError:
            return None

    def keep_docx(self, sha256: str, docx: bytes) -> None:
        write_shared(self._path("docx", sha256, ".docx"), docx)

    def video(self, sha256: str) -> VideoInfo | None:
        try:
            raw = json.loads(self._path("probe", sha256, ".json").read_text(encoding="utf-8"))
            error = raw.pop("error", None)
            return VideoInfo(**raw, error=VideoError(error) if error else None)
        except (OSError, ValueError, TypeError):
            return None

    def keep_video(self, sha256: str, info: VideoInfo) -> None:
        if info.error is not None and info.error.ours:
            return  # a timeout or a missing tool says nothing about the file
        data = asdict(info)
        data["error"] = info.error.value if info.error is not None else None
        write_shared(self._path("probe", sha256, ".json"), json.dumps(data).encode())

    def photo(self, sha256: str) -> PhotoInfo | None:
        try:
            raw = json.loads(self._path("photo", sha256, ".json").read_text(encoding="utf-8"))
            error = raw.pop("error", None)
            return PhotoInfo(**raw, error=PhotoError(error) if error else None)
        except (OSError, ValueError, TypeError):
            return None

    def keep_photo(self, sha256: str, info: PhotoInfo) -> None:
        # Decoding a photo has no "our side": the same bytes always give the same answer.
        data = asdict(info)
        data["error"] = info.error.value if info.error is not None else None
        write_shared(self._path("photo", sha256, ".json"), json.dumps(data).encode())
