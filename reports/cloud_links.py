"""Cloud links for staff: every CLOUD_LINK finding with its expiry, soonest first.

Webmail replaces big files with a download link that expires (usually in 30 days); staff must
fetch each one in time.  The expiry is read from the finding's structured data, which the
CLOUD_LINK rule writes (`expires_at`, ISO-8601 with offset or None; `never_expires`), never
parsed back out of the Chinese detail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reports.daily_views import CloudLinkView, MessageView
from reports.formatting import STAFF_TIME
from store import models as m

# A link expiring this many days after the report day (or sooner) is fetched today.
URGENT_DAYS = 3
NEVER_EXPIRES = "无限期"


def cloud_links(
    findings: Sequence[m.Finding],
    message_views: Mapping[int, MessageView],
    day: date,
    tz: ZoneInfo,
) -> list[CloudLinkView]:
    """Every CLOUD_LINK, soonest expiry first, then links that never expire, then unknown ones."""
    rows: list[tuple[tuple[int, float], CloudLinkView]] = []
    for f in findings:
        if f.code != "CLOUD_LINK" or f.message_id is None:
            continue
        when, never = cloud_link_expiry(f.data, tz)
        if when is not None:
            shown: str | None = when.strftime(STAFF_TIME)
            key = (0, when.timestamp())
        else:
            shown, key = (NEVER_EXPIRES, (1, 0.0)) if never else (None, (2, 0.0))
        urgent = when is not None and when.date() <= day + timedelta(days=URGENT_DAYS)
        rows.append((key, CloudLinkView(message_views[f.message_id], f.detail, shown, urgent)))
    rows.sort(key=lambda row: row[0])
    return [view for _, view in rows]


def cloud_link_expiry(data: Mapping[str, Any] | None, tz: ZoneInfo) -> tuple[datetime | None, bool]:
    """(when the link expires in the report's time zone, whether it never does) from `data`.

    CLOUD_LINK stores `expires_at` as ISO-8601 with an offset (None when the mail did not say)
    and `never_expires` (QQ's 无限期).  A time without an offset is taken as local time; one
    that does not parse counts as unknown: the link is listed all the same.
    """
    data = data or {}
    never = bool(data.get("never_expires"))
    raw = data.get("expires_at")
    if never or not isinstance(raw, str):
        return None, never
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None, False
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.astimezone(tz), False
