"""The shape every rule shares: a code, a severity, a level, who acts, Chinese text and a check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar


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

    @property
    def staff_only(self) -> bool:
        return self.audience is Audience.STAFF

    def run(self, facts: F) -> list[Finding]:
        return [
            Finding(self.code, self.severity, self.level, hit.detail, hit.file, hit.data)
            for hit in self.check(facts)
        ]
