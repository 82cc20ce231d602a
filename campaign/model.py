"""One year's call as plain data: units, categories, limits, office, earlier selected cases.

The bottom of the house: every other package reads a `Campaign`; this package imports nothing
of ours.  `campaign.loader` reads it from TOML."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Unit:
    name: str
    aliases: tuple[str, ...] = ()
    abbr: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    # The call's review criteria (评审参考标准) for this category; experts score each one.
    criteria: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    cases_per_category_min: int = 2
    cases_per_category_max: int = 3
    photos_min: int = 3
    photos_max: int = 5
    photo_max_bytes: int = 5 * 1024 * 1024
    videos_max: int = 3
    video_max_seconds: float = 180.0
    intro_max_chars: int = 2000


@dataclass(frozen=True)
class Office:
    name: str = ""
    contact: str = ""
    phone: str = ""
    email: str = ""
    signature: str = ""


@dataclass(frozen=True)
class SelectedCase:
    year: int
    unit: str
    name: str
    applicant: str


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    deadline: datetime
    timezone: str
    subject_format: str
    units: tuple[Unit, ...]
    categories: tuple[Category, ...]
    limits: Limits
    office: Office = Office()
    subject_keywords: tuple[str, ...] = ()
    # Words that mark a message as this call's (subject, body, file names, Word forms), and the
    # form labels of which a Word document must carry several to be this call's form.
    call_keywords: tuple[str, ...] = ()
    call_form_labels: tuple[str, ...] = ()
    previously_selected: tuple[SelectedCase, ...] = ()
    ineligible_years: tuple[int, ...] = ()
    guidance_reply: bool = False
    source: Path | None = field(default=None, compare=False)

    def unit(self, name: str) -> Unit | None:
        return next((u for u in self.units if u.name == name), None)

    def category_label(self, key: str | None) -> str:
        return next((c.label for c in self.categories if c.key == key), "")

    def subject_for(self, unit: str) -> str:
        return self.subject_format.format(unit=unit)
