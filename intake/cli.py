"""The `intake` command."""

from __future__ import annotations

import argparse
import getpass
import io
import json
import logging
import smtplib
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from intake import faults
from intake.app import App
from intake.campaign_commands import NO_CAMPAIGN_NEEDED, add_parsers, cmd_campaign, cmd_selected
from intake.commands import poll_command, requeue_command, run_command
from intake.config import load_settings, settings_help
from intake.console.auth import AccountError, add_account, remove_account
from intake.daily_job import send_daily_report, write_daily_report
from intake.faults import EXIT_INPUT_FAILED, EXIT_OK, EXIT_USAGE, check_paths
from intake.leftovers import clean_leftovers
from intake.logs import configure_console, reported_by_caller
from intake.progress import Progress
from intake.reply_actions import ReplyActionError, act_on_reply
from intake.sending import send_queued
from intake.sources import collect
from intake.status import status_command
from intake.workers import ingest_files, retriage_all
from reports.export import export_data, write_cases_csv


def cmd_ingest(app: App, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths]
    try:
        files, skipped = collect(paths)
    except FileNotFoundError as exc:
        print(f"intake: no such file or folder: {exc}", file=sys.stderr)
        return EXIT_USAGE
    pipeline = app.pipeline
    pipeline.replies = not args.no_replies
    with Progress(len(files), "ingest", "file") as progress:
        counts = ingest_files(app, files, app.settings.workers, progress.update)
    # Work left by a dead run, after the new mail (see intake.claims).
    pipeline.resume_stale(counts)
    total = sum(counts.values())
    parts = [
        f"{counts[k]} {k}"
        for k in (
            "processed",
            "ignored",
            "duplicate",
            "deferred",
            "quarantined",
            "failed",
            "unreadable",
        )
        if counts[k]
    ]
    line = f"ingested {total} message{'s' if total != 1 else ''}"
    if parts:
        line += ": " + ", ".join(parts)
    if skipped:
        line += f" (skipped {len(skipped)} files that are not mail)"
    print(line)
    failed = counts["quarantined"] + counts["failed"] + counts["unreadable"]
    return EXIT_INPUT_FAILED if failed else EXIT_OK


def cmd_retriage(app: App, args: argparse.Namespace) -> int:
    with Progress(app.pipeline.count_retriage(), "retriage", "message") as progress:
        count = retriage_all(app, app.settings.workers, progress.update)
    print(f"re-triaged {count} submission{'s' if count != 1 else ''}")
    return EXIT_OK


def cmd_export(app: App, args: argparse.Namespace) -> int:
    out: Path | None = args.out
    if args.format == "xlsx":
        # Imported here: openpyxl is ~13 MB, and every `intake ingest` or `intake run` parent
        # would otherwise carry it beside its workers for an export it never makes.
        from reports.xlsx import write_xlsx

        today = datetime.now(ZoneInfo(app.settings.timezone)).date()
        target = out or app.settings.reports / f"export-{today.isoformat()}.xlsx"
        with app.sessions() as session:
            write_xlsx(session, app.campaign, target)
        print(target)
        return EXIT_OK
    with app.sessions() as session:
        data = export_data(session, app.campaign)
    if args.format == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        buf = io.StringIO()
        write_cases_csv(data, buf)
        text = buf.getvalue()
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        # A BOM lets Excel open the Chinese CSV correctly; JSON readers do not want one.
        out.write_text(text, encoding="utf-8-sig" if args.format == "csv" else "utf-8")
        print(out)
    return EXIT_OK


def iso_date(text: str) -> date:
    return date.fromisoformat(text)


def cmd_report(app: App, args: argparse.Namespace) -> int:
    if args.out is None:
        faults.require_folder("reports_dir", app.settings.reports)
    index = write_daily_report(app, args.date, args.out)
    print(f"report: {index}")
    if args.no_email:
        return EXIT_OK
    try:
        sent = send_daily_report(app, index, args.date)
    except (OSError, smtplib.SMTPException) as exc:
        print(f"intake: report written but not mailed: {exc}", file=sys.stderr)
        return EXIT_INPUT_FAILED
    if sent:
        print(f"mailed to staff: {sent}")
    return EXIT_OK


def cmd_demo(app: App, args: argparse.Namespace) -> int:
    # The demo (sample generator, openpyxl) and the console (web server) are imported by their
    # own commands only: the parent of every `intake ingest` and `intake run` would carry them
    # beside its workers (issue 13's memory budget is the whole process tree).
    from intake.demo import run_demo

    return run_demo(app)


def cmd_send(app: App, args: argparse.Namespace) -> int:
    if app.settings.dry_run:
        faults.require_folder("outbox_dir", app.settings.outbox)
    with reported_by_caller(args.verbose, "intake.sending", "intake.transport"):
        summary = send_queued(app.sessions, app.blobs, app.settings, app.campaign)
    print(summary.line())
    if summary.unreachable is not None:
        return faults.report(summary.unreachable) or EXIT_INPUT_FAILED
    return EXIT_OK if summary.ok else EXIT_INPUT_FAILED


def cmd_run(app: App, args: argparse.Namespace) -> int:
    return run_command(app, verbose=args.verbose)


def cmd_poll(app: App, args: argparse.Namespace) -> int:
    return poll_command(app, verbose=args.verbose)


def cmd_status(app: App, args: argparse.Namespace) -> int:
    return status_command(app, check=args.check)


def cmd_web(app: App, args: argparse.Namespace) -> int:
    settings = app.settings
    print(f"staff console on http://{settings.web_host}:{settings.web_port}/ (Ctrl-C stops it)")
    from intake.console.server import serve  # see cmd_demo

    serve(app)
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file:
        return args.password_file.read_text(encoding="utf-8").strip("\r\n")
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise AccountError("the two passwords differ")
        return first
    return sys.stdin.readline().strip("\r\n")


def cmd_staff(app: App, args: argparse.Namespace) -> int:
    try:
        with app.sessions() as session, session.begin():
            if args.staff_command == "add":
                add_account(session, args.name, _read_password(args))
                print(f"account {args.name} added")
            else:
                remove_account(session, args.name)
                print(f"account {args.name} removed")
    except (AccountError, OSError) as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def cmd_replies(app: App, args: argparse.Namespace) -> int:
    actor = f"cli:{getpass.getuser()}"
    try:
        with app.sessions() as session, session.begin():
            reply = act_on_reply(
                session, args.id, "requeue", actor, unknown_checked=args.checked_not_delivered
            )
            print(f"reply {reply.id} to {reply.to_addr} queued again; `intake send` delivers it")
    except ReplyActionError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def cmd_requeue(app: App, args: argparse.Namespace) -> int:
    return requeue_command(app, args.message, args.quarantined)


# Commands that do the work a killed run may have left half done: they clean up first.
WORKING_COMMANDS = ("run", "poll", "ingest", "requeue", "demo")

COMMANDS: dict[str, Callable[[App, argparse.Namespace], int]] = {
    "run": cmd_run,
    "poll": cmd_poll,
    "status": cmd_status,
    "send": cmd_send,
    "ingest": cmd_ingest,
    "export": cmd_export,
    "retriage": cmd_retriage,
    "report": cmd_report,
    "demo": cmd_demo,
    "campaign": cmd_campaign,
    "selected": cmd_selected,
    "web": cmd_web,
    "staff": cmd_staff,
    "replies": cmd_replies,
    "requeue": cmd_requeue,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake",
        description="Mail intake for the green low-carbon case call.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="TOML settings file (or INTAKE_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "run",
        help="the service: scheduled IMAP polling, reply sending, the daily report",
        description="Polls the inbox every poll_minutes (or at once on IMAP IDLE when imap_idle "
        "is set), sends queued replies, writes the daily report at report_time; logs one JSON "
        "event per line on stderr; stops cleanly on SIGTERM or SIGINT.",
    )
    sub.add_parser("poll", help="one IMAP poll cycle, then exit (for cron)")
    p = sub.add_parser("status", help="heartbeat, job outcomes and the units × categories table")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when polls fail or are overdue, mail is quarantined, or a folder, server or tool fails its check (each named)",
    )
    p = sub.add_parser("ingest", help="process .eml files, folders, Maildirs or mbox files")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--no-replies",
        action="store_true",
        help="queue no automatic replies (a backfill of mail that was answered before)",
    )
    p = sub.add_parser(
        "requeue",
        help="put quarantined messages back and process them (once the cause is removed)",
        description="Processes again a quarantined message (--message ID, the id in the export "
        "and the daily report) or every quarantined message (--quarantined), from its stored raw "
        "bytes.  Exit 1 when one is quarantined again.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--message", type=int, metavar="ID", help="the message's id")
    which.add_argument("--quarantined", action="store_true", help="every quarantined message")
    sub.add_parser("send", help="deliver queued replies (SMTP, or the outbox folder in dry-run)")
    sub.add_parser(
        "retriage", help="re-run all rules over stored files (after a rule or campaign change)"
    )
    p = sub.add_parser(
        "export",
        help="all units, messages, cases, files, findings, replies (json, csv) or the expert xlsx",
        description="json: everything, as SPEC.md shows, to stdout or --out.  csv: one row per "
        "case (files and findings flattened), to stdout or --out (written with a BOM for Excel).  "
        "xlsx: the expert workbook (a sheet per category with score columns for the review "
        "criteria, and a summary per unit), to --out or <reports_dir>/export-<date>.xlsx.",
    )
    p.add_argument("--format", choices=["json", "xlsx", "csv"], default="json")
    p.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of the default")
    p = sub.add_parser(
        "report",
        help="write the daily HTML report (and mail it to report_to, if set)",
        description="Writes <reports_dir>/<date>/index.html with a page per case.  When "
        "report_to is set it is mailed to staff (in dry-run: written to the outbox folder).",
    )
    p.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD", help="report day (default today)")
    p.add_argument("--out", type=Path, metavar="DIR", help="folder to write the report into")
    p.add_argument("--no-email", action="store_true", help="do not mail the report to staff")
    sub.add_parser(
        "demo",
        help="generate a sample season, ingest it, send (dry-run), report; print where to look",
        description="Writes a realistic sample season of mail to <data_dir>/demo/mail, ingests it, "
        "writes the replies to the outbox folder (dry-run only) and writes the daily report.",
    )
    add_parsers(sub)
    sub.add_parser(
        "web",
        help="serve the staff console (web_host:web_port, default 127.0.0.1:8470)",
        description="Serves the staff console until Ctrl-C or SIGTERM.  Create an account "
        "first with `intake staff add NAME`.",
    )
    p = sub.add_parser("staff", help="staff console accounts: add NAME, remove NAME")
    staff = p.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    p = staff.add_parser("add", help="add an account; the password comes from stdin or a file")
    p.add_argument("name")
    p.add_argument("--password-file", type=Path, metavar="F", help="read the password from F")
    p = staff.add_parser("remove", help="remove an account (its sessions end at once)")
    p.add_argument("name")
    p = sub.add_parser("replies", help="act on a stored reply: requeue ID")
    replies = p.add_subparsers(dest="replies_command", required=True, metavar="ACTION")
    p = replies.add_parser(
        "requeue",
        help="send a failed reply again (an `unknown` one only with the flag below)",
    )
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument(
        "--i-checked-it-was-not-delivered",
        dest="checked_not_delivered",
        action="store_true",
        help="the reply's state is unknown and you checked that the unit did not receive it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_console(verbose=args.verbose)
    try:
        settings = load_settings(args.config)
        check_paths(settings)
        app = App(settings)
        if args.command not in NO_CAMPAIGN_NEEDED:
            app.campaign  # noqa: B018 - fail fast with exit 2 on a broken campaign file
        if args.command in WORKING_COMMANDS:
            clean_leftovers(settings)
        return COMMANDS[args.command](app, args)
    except Exception as exc:
        # A setting that is wrong, or a server that is not there: one line, no traceback.
        status = faults.report(exc)
        if status is None:
            raise
        if args.verbose:
            logging.getLogger("intake").debug("details", exc_info=exc)
        return status


if __name__ == "__main__":
    sys.exit(main())
