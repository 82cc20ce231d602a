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
from intake.faults import EXIT_INPUT_FAILED, EXIT_OK, EXIT_USAGE, ServerUnreachable, report
from intake.imap_connection import imap_port
from intake.logs import event
from intake.service import Service, install_stop_signals
from store.db import DatabaseUnreachable

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
    if not wait_for_database(app):
        return EXIT_OK  # stopped by a signal while waiting
    return service.run()


def wait_for_database(app: App, first_wait: float = 1.0, max_wait: float = 60.0) -> bool:
    """Migrate before the first job; while the database server cannot be reached, log it and
    try again with a growing wait, as the poller does for IMAP (a database restarting under a
    running service, or started after it, is no reason to stop).  A URL that can never work
    raises (`DatabaseUrlInvalid`: exit 2).  False when stopped by SIGTERM/SIGINT meanwhile."""
    stop = threading.Event()
    restore = install_stop_signals(stop)
    wait = first_wait
    try:
        while True:
            try:
                app.engine  # noqa: B018
                return True
            except DatabaseUnreachable as exc:
                event(
                    log,
                    "database.unreachable",
                    logging.ERROR,
                    where=exc.where,
                    reason=exc.reason,
                    retry_in_s=wait,
                )
            if stop.wait(wait):
                return False
            wait = min(wait * 2, max_wait)
    finally:
        restore()


def poll_command(app: App, verbose: bool = False) -> int:
    """`intake poll`: one poll cycle, for cron.  SIGTERM stops it after the message in hand."""
    try:
        imap.require_configured(app.settings)
    except ConfigError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        # The poll's own events stay off the console: this command reports its outcome (the
        # summary on stdout, one line on stderr when the server cannot be used); `-v` shows all.
        with logs.reported_by_caller(verbose, "intake.imap", "intake.imap_source"):
            result = imap.Poller(app, stop=stop).poll()
    finally:
        restore()
    print(poll_summary(result))
    if result.status == "failed":
        server = imap_trouble(app, result)
        if server is not None:
            return report(server) or EXIT_INPUT_FAILED
        print(f"intake: poll failed: {result.error}", file=sys.stderr)
        return EXIT_INPUT_FAILED
    if result.counts.get("quarantined"):
        return EXIT_INPUT_FAILED
    return EXIT_OK


def imap_trouble(app: App, result: imap.PollResult) -> ServerUnreachable | None:
    """The IMAP server behind a failed poll, as one line names it; None for other failures."""
    s = app.settings
    where = f"{s.imap_host}:{imap_port(s)}"
    if result.login_refused:
        return ServerUnreachable(
            "IMAP", "imap_password", where, f"the server rejected the login of {s.imap_user!r}"
        )
    text = (result.error or "").lower()
    for needle, reason in (
        ("refused", "connection refused (is the server running?)"),
        ("timed out", "no answer (timed out)"),
        ("timeout", "no answer (timed out)"),
        ("name or service not known", "the host name cannot be resolved"),
        ("ssl", "TLS failed; check INTAKE_IMAP_SECURITY"),
        ("eof", "the server closed the connection"),
        ("abort", "the server closed the connection"),
    ):
        if needle in text:
            return ServerUnreachable("IMAP", "imap_host", where, reason)
    return None


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
