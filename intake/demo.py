"""`intake demo`: run a sample season through the whole service and say where to look.

The first command a newcomer runs.  It has `samples.generate` write a small but realistic season
of submission mail (`samples.season` says what each mail holds and which faults it carries) to a
folder mailbox (`<data_dir>/demo/mail/*.eml`), then ingests it, writes the replies to the outbox
folder (dry-run only), writes the daily report and the expert workbook, and prints where to look.
A second run reuses the mail already generated and ingests nothing twice.  It also (re)creates
the staff console account `demo` with a random password and says how to open the console.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from intake.app import App
from intake.console.auth import add_account, remove_account
from intake.daily_job import write_daily_report
from intake.sending import send_queued
from intake.sources import collect, read_messages
from reports.xlsx import write_xlsx
from samples.generate import existing_season, generate_season
from samples.season import season
from store.models import StaffAccount

# The report is dated the day after the last sample mail: eleven days before the deadline.
REPORT_DATE = date(2023, 12, 20)

Note = Callable[[str], None]
DEMO_ACCOUNT = "demo"


def demo_account(app: App) -> str:
    """(Re)create the `demo` console account with a new random password, and return it."""
    password = secrets.token_urlsafe(12)
    with app.sessions() as session, session.begin():
        if session.scalar(select(StaffAccount).where(StaffAccount.name == DEMO_ACCOUNT)):
            remove_account(session, DEMO_ACCOUNT, actor="intake demo")
            session.flush()
        add_account(session, DEMO_ACCOUNT, password, actor="intake demo")
    return password


def run_demo(app: App, out: Note | None = None) -> int:
    """Generate, ingest, send (dry-run), report; print where to look.  Returns an exit status."""
    say: Note = out or (lambda line: print(line, flush=True))
    settings = app.settings
    if not settings.dry_run:
        # The samples carry made-up addresses; never let the demo send real mail.
        print(
            "intake: the demo only runs with dry_run = true (INTAKE_DRY_RUN=true)", file=sys.stderr
        )
        return 2
    started = time.monotonic()
    folder = settings.data_dir / "demo" / "mail"
    files = existing_season(folder)
    if files is None:
        say(f"Generating a sample season into {folder} …")
        generated = generate_season(folder)
        files = generated.files
        for line in generated.notes:
            say(f"  note: {line}")
    else:
        say(f"Using the sample season already in {folder}")
    for sample, path in zip(season(), files, strict=False):
        say(f"  {path.name:28} {sample.note}")

    found, _ = collect([folder])
    counts: Counter[str] = Counter()
    for path in found:
        for item in read_messages(path):
            counts[app.pipeline.ingest(item.raw, source="files", source_key=item.key)] += 1
    say(
        "Ingested: "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        + f" ({time.monotonic() - started:.1f} s)"
    )

    say(send_queued(app.sessions, app.blobs, settings, app.campaign).line())

    settings.outbox.mkdir(parents=True, exist_ok=True)
    index = write_daily_report(app, REPORT_DATE)
    workbook = settings.reports / f"export-{REPORT_DATE.isoformat()}.xlsx"
    with app.sessions() as session:
        write_xlsx(session, app.campaign, workbook)
    say(f"Done in {time.monotonic() - started:.1f} s.")
    say("")
    say(f"Daily report:  {index.resolve()}")
    say(f"Outbox:        {settings.outbox.resolve()}")
    say(f"Expert xlsx:   {workbook.resolve()}")
    say(f"Sample mail:   {folder.resolve()}")
    password = demo_account(app)
    say("")
    say("Staff console on the demo data:")
    say(f"  intake web          (then open http://{settings.web_host}:{settings.web_port}/)")
    say(f"  log in as {DEMO_ACCOUNT} with the password {password}")
    return 1 if counts.get("quarantined") else 0
