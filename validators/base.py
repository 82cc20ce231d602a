"""The shape every rule shares: a code, a severity, a level, Chinese text and a check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar


class Severity(StrEnum):
    ERROR = "error"  # a deficiency the unit must fix
    WARNING = "warning"  # for staff


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


@dataclass(frozen=True)
class Hit:
    """One occurrence of a rule's problem: what was found, and in which file."""

    detail: str = ""
    file: str | None = None


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
    # Problems on our side (converter missing, link not followed) never go to the unit.
    staff_only: bool = False

    def run(self, facts: F) -> list[Finding]:
        return [
            Finding(self.code, self.severity, self.level, hit.detail, hit.file)
            for hit in self.check(facts)
        ]
