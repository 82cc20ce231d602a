"""The `intake` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from intake.app import App
from intake.config import ConfigError, load_settings
from intake.sources import collect, read_messages
from parsers.campaign import CampaignError

EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE = 0, 1, 2


def cmd_ingest(app: App, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    try:
        files, skipped = collect(paths)
    except FileNotFoundError as exc:
        print(f"intake: no such file or folder: {exc}", file=sys.stderr)
        return EXIT_USAGE
    counts: Counter[str] = Counter()
    pipeline = app.pipeline
    bar = tqdm(total=len(files), unit="file", disable=not sys.stderr.isatty(), file=sys.stderr)
    with bar:
        for path in files:
            try:
                for item in read_messages(path):
                    counts[pipeline.ingest(item.raw, source="files", source_key=item.key)] += 1
            except OSError as exc:
                logging.getLogger("intake").error("cannot read %s: %s", path, exc)
                counts["unreadable"] += 1
            bar.update(1)
    total = sum(counts.values())
    parts = [
        f"{counts[k]} {k}"
        for k in ("processed", "ignored", "duplicate", "quarantined", "unreadable")
        if counts[k]
    ]
    line = f"ingested {total} message{'s' if total != 1 else ''}"
    if parts:
        line += ": " + ", ".join(parts)
    if skipped:
        line += f" (skipped {len(skipped)} files that are not mail)"
    print(line)
    return EXIT_INPUT_FAILED if counts["quarantined"] or counts["unreadable"] else EXIT_OK


def cmd_export(app: App, args: argparse.Namespace) -> int:
    from reports.export import export_data

    with app.sessions() as session:
        data = export_data(session, app.campaign)
    if args.format == "json":
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    print(f"intake: export format {args.format} is not available yet", file=sys.stderr)
    return EXIT_USAGE


COMMANDS: dict[str, Callable[[App, argparse.Namespace], int]] = {
    "ingest": cmd_ingest,
    "export": cmd_export,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake", description="Mail intake for the green low-carbon case call."
    )
    parser.add_argument("--config", type=Path, help="TOML settings file (or INTAKE_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("ingest", help="process .eml files, folders, Maildirs or mbox files")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p = sub.add_parser("export", help="print all units, messages, cases, files, findings, replies")
    p.add_argument("--format", choices=["json", "xlsx", "csv"], default="json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        app = App(load_settings(args.config))
        app.campaign  # noqa: B018 - fail fast with exit 2 on a broken campaign file
    except (ConfigError, CampaignError) as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return COMMANDS[args.command](app, args)


if __name__ == "__main__":
    sys.exit(main())
