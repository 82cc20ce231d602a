"""A file's bytes as the parsers hand them on: held in memory, or already in the blob store.

Owns `Payload` (what an attachment or archive member holds), the `Sink` it may be written to
(the service passes its `store.blobs.BlobStore`; parsers never pick a store themselves) and
`Spool`, which keeps a file in memory while it is small and moves it into the sink once it
grows.  Why: a 144 MB message with one 100 MB video in a zip peaked at 539 MB, holding the
decoded zip, the member read in 1 MiB chunks and their join at once (issue 13).  With a sink,
large bodies and members go to disk chunk by chunk and are hashed on the way; only their first
and last bytes (for sniffing) stay in memory.  Without one (tests, tools) everything stays in
memory, as before.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO, Protocol

# What stays in memory of a stored file: magic numbers sit in the first bytes, and a zip's
# member names in its central directory at the end (`parsers.sniff` looks at 4 KiB and 64 KiB).
HEAD = 4 * 1024
TAIL = 64 * 1024
# Smaller files stay in memory even with a sink: cheap to hold, and most of them (forms,
# captions) are read whole anyway.  Photos of a few MB go to the store they would reach anyway.
SPOOL_MAX = 1024 * 1024


class SinkFailed(OSError):
    """The sink could not take a file (disk full, store gone): the service's failure, not the
    message's, so the readers that turn a message's damage into defects let it through."""


class Writer(Protocol):
    """One blob being written: bytes in, then `commit` (its sha256) or `abort`."""

    def write(self, data: bytes, /) -> object: ...

    def commit(self) -> str: ...

    def abort(self) -> None: ...


class Sink(Protocol):
    """Where large files go as they are read (`store.blobs.BlobStore`)."""

    def writer(self) -> Writer: ...

    def path_for(self, digest: str) -> Path: ...


class Payload:
    """A file's bytes: in memory (`data`), or stored by sha256 at `path` with its ends kept."""

    __slots__ = ("_data", "head", "path", "sha256", "size", "tail")

    def __init__(
        self,
        size: int,
        *,
        data: bytes | None = None,
        path: Path | None = None,
        sha256: str | None = None,
        head: bytes = b"",
        tail: bytes = b"",
    ) -> None:
        self.size = size
        self._data = data
        self.path = path
        self.sha256 = sha256
        self.head = data[:HEAD] if data is not None else head
        self.tail = b"" if data is not None else tail

    @classmethod
    def of(cls, data: bytes) -> Payload:
        return cls(len(data), data=data)

    @property
    def stored(self) -> bool:
        return self._data is None

    def read(self) -> bytes:
        """The whole file as bytes: only for files read whole anyway (forms, lists, photos)."""
        if self._data is not None:
            return self._data
        assert self.path is not None
        return self.path.read_bytes()

    def open(self) -> BinaryIO:
        """A seekable binary stream over the file, for readers that take one (zipfile, py7zr)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self.path is not None
        return self.path.open("rb")

    def sample(self) -> bytes:
        """Enough bytes to tell the type: the file itself if small, else its first 4 KiB and
        last 64 KiB joined (`sniff_type` and `archive_format` look no further; the zip document
        check opens the file itself)."""
        if self._data is not None:
            return self._data
        if self.size <= HEAD + TAIL:
            return self.read()
        return self.head + self.tail

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        where = f"stored {self.sha256}" if self.stored else "in memory"
        return f"Payload({self.size} bytes, {where})"


class Spool:
    """Bytes written in chunks: kept in memory up to `SPOOL_MAX`, then moved into the sink.

    Without a sink everything stays in memory.  `finish` gives the `Payload`; `abort` (or an
    exception in between) leaves nothing behind in the sink.
    """

    def __init__(self, sink: Sink | None, spool_max: int | None = None) -> None:
        self.sink = sink
        self.spool_max = SPOOL_MAX if spool_max is None else spool_max
        self.size = 0
        self._chunks: list[bytes] = []
        self._head = bytearray()
        self._tail = bytearray()
        self._writer: Writer | None = None

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self._writer is None:
            self._chunks.append(chunk)
            if self.sink is None or self.size <= self.spool_max:
                return
            try:
                self._writer = self.sink.writer()
            except OSError as exc:
                raise SinkFailed(f"blob store: {exc}") from exc
            held, self._chunks = self._chunks, []
            for piece in held:
                self._to_writer(piece)
            return
        self._to_writer(chunk)

    def _to_writer(self, chunk: bytes) -> None:
        assert self._writer is not None
        try:
            self._writer.write(chunk)
        except OSError as exc:
            raise SinkFailed(f"blob store: {exc}") from exc
        if len(self._head) < HEAD:
            self._head += chunk[: HEAD - len(self._head)]
        self._tail += chunk[-TAIL:]
        del self._tail[:-TAIL]

    def finish(self) -> Payload:
        if self._writer is None:
            data = b"".join(self._chunks)
            self._chunks = []
            return Payload.of(data)
        assert self.sink is not None
        try:
            digest = self._writer.commit()
        except OSError as exc:
            raise SinkFailed(f"blob store: {exc}") from exc
        self._writer = None
        return Payload(
            self.size,
            path=self.sink.path_for(digest),
            sha256=digest,
            head=bytes(self._head),
            tail=bytes(self._tail),
        )

    def abort(self) -> None:
        self._chunks = []
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
