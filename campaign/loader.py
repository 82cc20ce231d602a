"""Reading a campaign file (TOML) and its list of earlier selected cases.

Every file goes through `campaign.validation.check_campaign` first: a file with a problem is
refused with a `CampaignError` naming each key and line, by `intake campaign check` and by
every command that loads it (`intake run` included).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from campaign.model import (
    DEFAULT_OPTION_WORDS,
    Campaign,
    Category,
    FormField,
    FormSpec,
    Limits,
    Office,
    SelectedCase,
    Unit,
)
from campaign.selected import SelectedListError, read_selected_cases
from campaign.validation import Problem, check_campaign

BUNDLED = Path(__file__).parent / "bundled"
BUNDLED_CAMPAIGN = BUNDLED / "2023.toml"
# A three-category call with other limits: proves that a new call needs no code.
EXAMPLE_CAMPAIGN = BUNDLED / "example-3cat.toml"


class CampaignError(ValueError):
    """The campaign file is missing a key or holds a value of the wrong shape."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def read_campaign_file(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed TOML and its text; a file that is not TOML is a `CampaignError`."""
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CampaignError(f"cannot read campaign file {path}: {exc}") from exc


def problems_of(path: Path) -> list[Problem]:
    """Every problem of a campaign file (empty when it is good), as `intake campaign check` lists
    them.  A file that cannot be parsed at all raises `CampaignError`."""
    raw, text = read_campaign_file(path)
    problems = check_campaign(raw, text)
    selected = raw.get("previously_selected")
    if isinstance(selected, str) and selected and not (path.parent / selected).is_file():
        problems.append(
            Problem(
                "previously_selected",
                next(
                    (
                        n
                        for n, ln in enumerate(text.splitlines(), 1)
                        if ln.startswith("previously_selected")
                    ),
                    None,
                ),
                f"no file {path.parent / selected}",
            )
        )
    return problems


def load_campaign(path: Path, *, selected_file: Path | None = None) -> Campaign:
    """Read and check a campaign file.  `selected_file` (the office's imported list of earlier
    selected cases, if it has imported one) is added to the file's own list."""
    raw, _ = read_campaign_file(path)
    problems = problems_of(path)
    if problems:
        listed = "; ".join(str(p) for p in problems)
        raise CampaignError(f"campaign file {path} is invalid: {listed}", tuple(problems))
    selected: tuple[SelectedCase, ...] = ()
    try:
        if raw.get("previously_selected"):
            selected = read_selected_cases(path.parent / raw["previously_selected"])
        if selected_file is not None and selected_file.is_file():
            selected += read_selected_cases(selected_file)
    except SelectedListError as exc:
        raise CampaignError(f"cannot read previously selected cases: {exc}") from exc
    return Campaign(
        id=raw["id"],
        title=raw.get("title", raw["id"]),
        deadline=datetime.fromisoformat(str(raw["deadline"])),
        timezone=raw.get("timezone", "Asia/Shanghai"),
        subject_format=raw.get("subject_format", "{unit}"),
        units=tuple(
            Unit(u["name"], tuple(u.get("aliases", ())), u.get("abbr")) for u in raw["units"]
        ),
        categories=tuple(
            Category(c["key"], c["label"], tuple(str(x) for x in c.get("criteria", ())))
            for c in raw["categories"]
        ),
        limits=Limits(**raw.get("limits", {})),
        office=Office(**raw.get("office", {})),
        subject_keywords=tuple(raw.get("subject_keywords", ())),
        call_keywords=tuple(str(k) for k in raw.get("call_keywords", ())),
        call_form_labels=tuple(str(k) for k in raw.get("call_form_labels", ())),
        previously_selected=selected,
        ineligible_years=tuple(raw.get("ineligible_years", ())),
        guidance_reply=bool(raw.get("guidance_reply", False)),
        form=_form(raw.get("form")),
        source=path,
    )


def _form(raw: Mapping[str, Any] | None) -> FormSpec:
    if raw is None:
        return FormSpec()
    default = FormSpec()
    fields = tuple(
        FormField(
            key=f["key"],
            label=f.get("label", f["key"]),
            aliases=tuple(f.get("aliases", ())),
            required=bool(f.get("required", False)),
            fallback_aliases=tuple(f.get("fallback_aliases", ())),
        )
        for f in raw["fields"]
    )
    return FormSpec(
        fields=fields,
        hints=tuple(raw.get("hints", default.hints)),
        option_words=tuple(raw.get("option_words", DEFAULT_OPTION_WORDS)),
    )
