"""Cleaning up after runs that were killed: their temp folders and half-written files.

A SIGKILLed `intake` cannot remove what it had in hand: LibreOffice's temp folders
(`intake-soffice-<pid>-…`, removed once that process is gone) and the `.tmp-…` files that
`store.blobs` writes before renaming them into place (under the data folder; removed when older
than `TMP_AGE`, since a live writer renames its file within seconds).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from intake.config import Settings
from intake.logs import event
from programs import libreoffice

log = logging.getLogger(__name__)

# Older than this, a `.tmp-…` file belongs to no live writer (they rename within seconds).
TMP_AGE = 3600.0


def clean_leftovers(settings: Settings, now: float | None = None) -> int:
    """Remove the leftovers of earlier, killed runs; the number of files and folders removed."""
    removed = libreoffice.clean_leftovers()
    cutoff = (now or time.time()) - TMP_AGE
    roots = {settings.data_dir, settings.outbox, settings.reports}
    for root in roots:
        removed += _old_tmp_files(Path(root), cutoff)
    if removed:
        event(log, "leftovers.removed", count=removed)
    return removed


def _old_tmp_files(root: Path, cutoff: float) -> int:
    removed = 0
    try:
        found = list(root.rglob(".tmp-*"))
    except OSError:
        return 0
    for path in found:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:  # gone already, or not ours to remove: leave it
            continue
    return removed
