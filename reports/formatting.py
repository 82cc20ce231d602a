"""How numbers, times and submitted text read on every page we write: video lengths, local
times, sizes, and a unit's text flattened to one line.

One place for each, so the report, the workbook and the notices agree.  Where they differ on
purpose (what "unknown" reads as, a Chinese date for a unit, an ISO-like one for staff) the
caller says so through a parameter.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from validators.base import Audience

# Staff read times like this in the report and the workbook.
STAFF_TIME = "%Y-%m-%d %H:%M"
# Units read them like this in a notice.
UNIT_TIME = "%Y年%m月%d日 %H:%M"
_MB = 1024 * 1024
# Who acts on a finding, as the badge on a page and the tag in the workbook say it.
AUDIENCE_LABELS = {Audience.UNIT: "需补正", Audience.ADVICE: "提示", Audience.STAFF: "工作人员"}


def clock(seconds: float | None, unknown: str = "—") -> str:
    """Whole seconds as a player shows them, as VIDEO_TOO_LONG reports them: 185.4 → 3:05.

    `unknown` stands for a length that could not be read (None, or not a number).
    """
    if seconds is None or not math.isfinite(seconds):
        return unknown
    whole = math.floor(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def minutes(seconds: float) -> str:
    """A length limit in words: whole minutes as `3 分钟`, anything else as m:ss."""
    if seconds % 60 == 0:
        return f"{int(seconds) // 60} 分钟"
    return f"{clock(seconds, '时长未知')}（分:秒）"


def local_time(
    value: datetime | None, tz: ZoneInfo | str, fmt: str = STAFF_TIME, unknown: str = "—"
) -> str:
    """An aware time in the campaign's zone; `unknown` when there is none."""
    if value is None:
        return unknown
    return value.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz).strftime(fmt)


def human_size(n: int | None) -> str:
    """A file size in the unit that suits it: 12 B, 340.2 KB, 5.0 MB."""
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def mb(size: int) -> str:
    """A size limit as a bare number of MB (`5`, `2.5`); the text around it says `MB`.

    Not `human_size`: a limit the call states in MB must read in MB whatever its size.
    """
    return f"{size / _MB:.2f}".rstrip("0").rstrip(".")


_SPACES = re.compile(r"\s+")


def one_line(value: str | None, limit: int = 300) -> str:
    """Submitted text flattened for display: no control characters, no line breaks, bounded."""
    if not value:
        return ""
    cleaned = "".join(
        # Cs: lone surrogates from undecodable bytes would make the UTF-8 body unencodable.
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch
        for ch in value
    )
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
