"""The service's job heartbeats: `<data_dir>/service-state.json`, written by `intake.service`
after every job and on start and stop, read by `intake status`.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_FILE = "service-state.json"


class StateFile:
    """Job heartbeats in a small JSON file, written atomically (a reader never sees half)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def update(self, change: Callable[[dict[str, Any]], None]) -> None:
        with self._lock:
            data = self.read()
            change(data)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, ensure_ascii=False, indent=1, default=str)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def job_done(self, job: str, ok: bool, detail: Any = None, error: str | None = None) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")

        def change(data: dict[str, Any]) -> None:
            entry = data.setdefault("jobs", {}).setdefault(job, {})
            entry["last_run_at"] = now
            if ok:
                entry["last_ok_at"] = now
            else:
                entry["last_error_at"] = now
            if error is not None:
                entry["last_error"] = error
            if detail is not None:
                entry["last_detail"] = detail

        self.update(change)
