"""Reading a campaign file (TOML) and its list of earlier selected cases (CSV)."""

from __future__ import annotations

import csv
import tomllib
from datetime import datetime
from pathlib import Path

from campaign.model import Campaign, Category, Limits, Office, SelectedCase, Unit

BUNDLED = Path(__file__).parent / "bundled"
BUNDLED_CAMPAIGN = BUNDLED / "2023.toml"


class CampaignError(ValueError):
    """The campaign file is missing a key or holds a value of the wrong shape."""


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
        call_keywords=tuple(str(k) for k in raw.get("call_keywords", ())),
        call_form_labels=tuple(str(k) for k in raw.get("call_form_labels", ())),
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
