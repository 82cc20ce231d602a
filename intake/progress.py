"""Progress of a long command (`intake ingest`, `intake retriage`): a tqdm bar on a terminal,
otherwise a plain line on stderr at most every few seconds (cron mail and logs stay short)."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from tqdm import tqdm

PLAIN_EVERY = 5.0


class Progress:
    """Counts done items of `total`; use as a context manager."""

    def __init__(self, total: int, what: str, unit: str) -> None:
        self.total, self.what, self.unit = total, what, unit
        self.done = 0
        self._bar = (
            tqdm(total=total, unit=unit, desc=what, file=sys.stderr)
            if sys.stderr.isatty()
            else None
        )
        self._last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif time.monotonic() - self._last >= PLAIN_EVERY:
            self._last = time.monotonic()
            print(f"{self.what}: {self.done}/{self.total} {self.unit}s", file=sys.stderr)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
