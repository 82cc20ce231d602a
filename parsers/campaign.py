"""The campaign file: everything that belongs to one year's call, read from TOML."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


class CampaignError(ValueError):
    """The campaign file is missing a key or holds a value of the wrong shape."""


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


def load_campaign(path: Path) -> Campaign:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CampaignError(f"cannot read campaign file {path}: {exc}") from exc
    try:
        deadline = datetime.fromisoformat(str(raw["deadline"]))
        if deadline.tzinfo is None:
            raise CampaignError("deadline needs a time zone offset, e.g. 2023-12-31T23:59:59+08:00")
        units = tuple(
            Unit(u["name"], tuple(u.get("aliases", ())), u.get("abbr")) for u in raw["units"]
        )
        categories = tuple(
            Category(c["key"], c["label"], tuple(str(x) for x in c.get("criteria", ())))
            for c in raw["categories"]
        )
        limits = Limits(**raw.get("limits", {}))
        office = Office(**raw.get("office", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise CampaignError(f"campaign file {path}: {exc!r}") from exc
    selected: tuple[SelectedCase, ...] = ()
    if raw.get("previously_selected"):
        selected = read_selected_cases(path.parent / raw["previously_selected"])
    return Campaign(
        id=raw["id"],
        title=raw.get("title", raw["id"]),
        deadline=deadline,
        timezone=raw.get("timezone", "Asia/Shanghai"),
        subject_format=raw.get("subject_format", "{unit}"),
        units=units,
        categories=categories,
        limits=limits,
        office=office,
        subject_keywords=tuple(raw.get("subject_keywords", ())),
        previously_selected=selected,
        ineligible_years=tuple(raw.get("ineligible_years", ())),
        guidance_reply=bool(raw.get("guidance_reply", False)),
        source=path,
    )


def read_selected_cases(path: Path) -> tuple[SelectedCase, ...]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return tuple(
                SelectedCase(
                    int(r["year"]),
                    r["unit"].strip(),
                    r["name"].strip(),
                    (r.get("applicant") or "").strip(),
                )
                for r in csv.DictReader(fh)
            )
    except (OSError, KeyError, ValueError) as exc:
        raise CampaignError(f"cannot read previously selected cases {path}: {exc!r}") from exc
