"""Content-addressed blob store: every raw message and extracted file, stored once by sha256.

Files arrive whole (`put`) or in chunks (`writer`, hashed as they are written, so that a 100 MB
video is never one Python object: issue 13).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomically(target: Path, data: bytes) -> None:
    """Written, fsynced, then renamed: a reader (or a crash) never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_shared(target: Path, data: bytes) -> None:
    """Written via a temporary file and renamed, so a reader never sees half a page.

    Not `write_atomically`: `mkstemp` files are 0600, and a report folder is meant to be shared
    with staff (the umask decides).  No fsync: a report is cheap to write again.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class BlobWriter:
    """One blob written in chunks to a temporary file beside the store, hashed on the way.

    `commit` fsyncs and renames it into place under its sha256 (or drops it when that blob is
    there already); `abort`, or leaving a `with` block by an exception, removes it.  A killed
    process leaves a `.tmp-…` file, which `intake.leftovers` removes later.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        store.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=store.root, prefix=".tmp-")
        self.tmp = Path(tmp)
        self.fh = os.fdopen(fd, "wb")
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        self.size += len(data)
        return self.fh.write(data)

    def commit(self) -> str:
        digest = self.hasher.hexdigest()
        target = self.store.path_for(digest)
        try:
            if target.exists():
                self.fh.close()
                self.tmp.unlink(missing_ok=True)
                return digest
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.tmp, target)
        except BaseException:
            self.abort()
            raise
        return digest

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            self.abort()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        """Store bytes durably (written, fsynced, renamed into place) and return their sha256."""
        digest = sha256_hex(data)
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
        return digest

    def writer(self) -> BlobWriter:
        """A blob written in chunks (see `BlobWriter`); `commit` returns its sha256."""
        return BlobWriter(self)

    def get(self, digest: str) -> bytes:
        return self.path_for(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).exists()
