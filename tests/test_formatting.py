"""The shared formatting helpers, with each caller's way of saying "unknown"."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from reports.formatting import UNIT_TIME, clock, human_size, local_time, mb, minutes


def test_clock_is_whole_seconds_with_the_callers_unknown() -> None:
    assert clock(185.4) == "3:05" and clock(59.999) == "0:59" and clock(600) == "10:00"
    assert clock(None) == "—"  # the daily report
    assert clock(None, "?") == "?"  # the workbook
    assert clock(float("nan"), "时长未知") == "时长未知"  # a notice


def test_minutes_for_limits() -> None:
    assert minutes(180) == "3 分钟"
    assert minutes(150) == "2:30（分:秒）"


def test_local_time_for_staff_and_for_units() -> None:
    when = datetime(2023, 12, 20, 1, 5, tzinfo=UTC)
    assert local_time(when, "Asia/Shanghai") == "2023-12-20 09:05"
    assert local_time(when, ZoneInfo("Asia/Shanghai"), UNIT_TIME) == "2023年12月20日 09:05"
    assert local_time(None, "Asia/Shanghai") == "—"
    assert local_time(None, "Asia/Shanghai", unknown="") == ""


def test_sizes() -> None:
    assert human_size(12) == "12 B" and human_size(5 * 1024 * 1024) == "5.0 MB"
    assert human_size(None) == "—"
    assert mb(5 * 1024 * 1024) == "5" and mb(int(2.5 * 1024 * 1024)) == "2.5"
