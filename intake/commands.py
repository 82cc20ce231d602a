"""`intake run` and `intake poll` as the operator starts them: configuration checks, logging,
stop signals, the one-line poll summary, and the exit codes cron and the supervisor act on.
"""

from __future__ import annotations

import logging
import sys
import threading

from intake import imap, logs
from intake.app import App
from intake.config import ConfigError
from intake.faults import EXIT_INPUT_FAILED, EXIT_OK, EXIT_USAGE
from intake.service import Service, install_stop_signals

log = logging.getLogger(__name__)


def run_command(app: App, verbose: bool = False) -> int:
    """`intake run`: the service, until SIGTERM/SIGINT."""
    try:
        imap.require_configured(app.settings)
        service = Service(app)
    except ConfigError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(app.settings, verbose=verbose)
    try:
        app.engine  # noqa: B018 - migrate before the first job, not inside it
    except Exception:
        # The database is not up (yet): exit non-zero, and let the supervisor restart us.
        log.exception("service.database_unavailable")
        return EXIT_INPUT_FAILED
    return service.run()


def poll_command(app: App, verbose: bool = False) -> int:
    """`intake poll`: one poll cycle, for cron.  SIGTERM stops it after the message in hand."""
    try:
        imap.require_configured(app.settings)
    except ConfigError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logs.configure(app.settings, verbose=verbose)
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        result = imap.Poller(app, stop=stop).poll()
    except Exception as exc:  # the database, most likely: logged, and cron sees status 1
        log.exception("poll.crashed")
        # The details are in the (secret-scrubbed) log line just written.
        print(f"intake: poll failed ({type(exc).__name__}); see the log", file=sys.stderr)
        return EXIT_INPUT_FAILED
    finally:
        restore()
    print(poll_summary(result))
    if result.login_refused:
        return EXIT_USAGE
    if result.status == "failed" or result.counts.get("quarantined"):
        return EXIT_INPUT_FAILED
    return EXIT_OK


def poll_summary(result: imap.PollResult) -> str:
    if result.status == "skipped":
        return f"{result.source}: another poll is running; skipped"
    parts = [f"{n} {k}" for k, n in sorted(result.counts.items())]
    line = f"{result.source}: {result.fetched} new message{'s' if result.fetched != 1 else ''}"
    if parts:
        line += " (" + ", ".join(parts) + ")"
    if result.resync:
        line += "; UIDVALIDITY changed, mailbox resynchronised"
    if result.reconnects:
        line += f"; reconnected {result.reconnects}×"
    if result.status == "stopped":
        line += "; stopped early by a signal"
    if result.error:
        line += f"; FAILED: {result.error}"
    return line


def requeue_command(app: App, message: int | None, quarantined: bool) -> int:
    """`intake requeue`: put quarantined messages back and process them now (once the cause
    is removed); exit 1 when one ends quarantined again."""
    if (message is None) == (not quarantined):
        print("intake: give --message ID or --quarantined", file=sys.stderr)
        return EXIT_USAGE
    try:
        counts = app.pipeline.requeue(message)
    except LookupError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    total = sum(counts.values())
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"requeued {total} message{'s' if total != 1 else ''}" + (f": {parts}" if parts else ""))
    return EXIT_INPUT_FAILED if counts.get("quarantined") else EXIT_OK
