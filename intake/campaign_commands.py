"""`intake campaign check FILE` and `intake selected import FILE`: the campaign's two commands.

- `campaign check` lists every problem of a campaign file, each with its line and key (the
  same words `intake run` refuses an invalid campaign with), and exits 2 if there is one.
- `selected import` reads the office's list of cases selected in earlier years (xlsx or CSV,
  columns found by header: 年份, 推荐单位, 案例名称, 申报单位), says what it read and what it
  skipped, and stores it under the data folder (`Settings.selected_file`), where every command
  adds it to the campaign's own list.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from campaign import (
    CampaignError,
    SelectedListError,
    load_campaign,
    problems_of,
    read_selected_table,
    write_selected_csv,
)
from intake.app import App
from intake.faults import EXIT_INPUT_FAILED, EXIT_OK, EXIT_USAGE

# Commands that run without loading the configured campaign (they check or feed it).
NO_CAMPAIGN_NEEDED = {"campaign"}


def add_parsers(sub: Any) -> None:
    """Register `campaign check` and `selected import` on the `intake` subparsers."""
    p = sub.add_parser("campaign", help="check a campaign file before using it")
    inner = p.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    q = inner.add_parser(
        "check",
        help="list every problem of a campaign file (key and line); exit 2 on any",
        description="Checks a campaign file: missing keys, categories without a key or label, "
        "limits that contradict each other (min > max), a unit alias shared by two units, the "
        "form's fields.  Exit 0 when it is good, 2 when it has a problem.",
    )
    q.add_argument("file", type=Path, metavar="FILE")
    p = sub.add_parser("selected", help="the list of cases selected in earlier years")
    inner = p.add_subparsers(dest="selected_command", required=True, metavar="ACTION")
    q = inner.add_parser(
        "import",
        help="store the office's list (xlsx or csv; columns 年份, 推荐单位, 案例名称, 申报单位)",
        description="Reads the list, prints what it read and what it skipped, and stores it "
        "under the data folder, replacing any list imported before.  PREVIOUSLY_SELECTED "
        "compares cases with it from then on (`intake retriage` re-checks stored cases).",
    )
    q.add_argument("file", type=Path, metavar="FILE")


def cmd_campaign(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        problems = problems_of(path)
    except CampaignError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if problems:
        for problem in problems:
            print(f"{path}:{problem}", file=sys.stderr)
        print(f"intake: {path}: {len(problems)} problem(s); fix them first", file=sys.stderr)
        return EXIT_USAGE
    try:
        campaign = load_campaign(path)
    except CampaignError as exc:  # e.g. its list of selected cases cannot be read
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    labels = "、".join(c.label for c in campaign.categories)
    limits = campaign.limits
    print(f"{path}: ok — {campaign.title}")
    print(f"  deadline   {campaign.deadline.isoformat()}")
    print(f"  categories {len(campaign.categories)}: {labels}")
    print(f"  units      {len(campaign.units)}")
    print(
        f"  limits     {limits.cases_per_category_min}–{limits.cases_per_category_max} cases "
        f"per category, {limits.photos_min}–{limits.photos_max} photos, at most "
        f"{limits.videos_max} videos of {limits.video_max_seconds:g} s, intro ≤ "
        f"{limits.intro_max_chars} 字"
    )
    extra = [f.label for f in campaign.form.added]
    if extra:
        print(f"  form adds  {'、'.join(extra)}")
    return EXIT_OK


def cmd_selected(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        table = read_selected_table(path)
    except SelectedListError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for line in table.skipped:
        print(f"skipped {line}")
    if not table.cases:
        print(f"intake: {path}: no case read; nothing stored", file=sys.stderr)
        return EXIT_INPUT_FAILED
    years = Counter(c.year for c in table.cases)
    per_year = ", ".join(f"{n} of {y}" for y, n in sorted(years.items()))
    target = write_selected_csv(app.settings.selected_file, table.cases)
    print(f"read {len(table.cases)} case(s) ({per_year}), skipped {len(table.skipped)} row(s)")
    print(f"stored in {target}")
    missing = [y for y in app.campaign.ineligible_years if y not in years]
    if missing:
        print(f"note: the list has no case of {', '.join(map(str, missing))}")
    return EXIT_OK
