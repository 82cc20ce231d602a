"""The shape every rule shares: a code, a severity, a level, who acts, Chinese text and a check.

A rule's reason and fix are templates (`str.format`) filled from the campaign by `Rule.texts`:
the words a template may use are `campaign_words`' keys, so no call's number is written in a rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from campaign import Campaign


class Severity(StrEnum):
    ERROR = "error"  # a deficiency the unit must fix
    WARNING = "warning"  # for staff


class Audience(StrEnum):
    """Who must act on a finding: the one decision notices, case status and the report share."""

    UNIT = "unit"  # the unit must fix it: the case is deficient, the answer a deficiency notice
    ADVICE = "advice"  # told to the unit as a suggestion; blocks nothing
    STAFF = "staff"  # our side or staff's call (converter missing, a link to fetch): never sent


class Level(StrEnum):
    MESSAGE = "message"
    UNIT = "unit"
    CASE = "case"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    level: Level
    detail: str = ""
    file: str | None = None
    # What the detail says, as data for staff's tools (e.g. a cloud link's `expires_at`).
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One occurrence of a rule's problem: what was found, and in which file."""

    detail: str = ""
    file: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


F = TypeVar("F")


def number(value: float) -> str:
    """`3.0` → `3`, `2.5` → `2.5`: a limit as a clerk writes it."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def duration_words(seconds: float) -> str:
    """`180` → `3 分钟`, `90` → `1 分 30 秒`, `45` → `45 秒`."""
    whole = math.floor(seconds)
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} 秒"
    return f"{minutes} 分钟" if not rest else f"{minutes} 分 {rest} 秒"


def campaign_words(campaign: Campaign) -> dict[str, str]:
    """The call-specific words a rule's reason or fix may name, e.g. `{photos_min}`, `{categories}`."""
    limits = campaign.limits
    years = "、".join(str(y) for y in campaign.ineligible_years)
    return {
        "cases_min": str(limits.cases_per_category_min),
        "cases_max": str(limits.cases_per_category_max),
        "photos_min": str(limits.photos_min),
        "photos_max": str(limits.photos_max),
        "photo_max_mb": number(limits.photo_max_bytes / (1024 * 1024)),
        "videos_max": str(limits.videos_max),
        "video_max": duration_words(limits.video_max_seconds),
        "intro_max_chars": str(limits.intro_max_chars),
        "categories": "、".join(c.label for c in campaign.categories),
        # `（2021、2022 年）`, or nothing when the call names no years.
        "ineligible_years": f"（{years} 年）" if years else "",
    }


@dataclass(frozen=True)
class Rule(Generic[F]):
    code: str
    severity: Severity
    level: Level
    # What is wrong and how to fix it, in the plain Chinese a provincial clerk reads.
    reason: str
    fix: str
    check: Callable[[F], Iterable[Hit]]
    # Who acts on it.  Problems on our side (converter missing, link not followed) are STAFF's
    # and never go to the unit.
    audience: Audience = Audience.UNIT

    def texts(self, campaign: Campaign) -> tuple[str, str]:
        """(reason, fix) with the campaign's limits and category labels filled in."""
        words = campaign_words(campaign)
        return self.reason.format(**words), self.fix.format(**words)

    @property
    def staff_only(self) -> bool:
        return self.audience is Audience.STAFF

    def run(self, facts: F) -> list[Finding]:
        return [
            Finding(self.code, self.severity, self.level, hit.detail, hit.file, hit.data)
            for hit in self.check(facts)
        ]
