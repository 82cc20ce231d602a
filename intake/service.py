"""The unattended service behind `intake run` (started by `intake.commands`).

Three jobs on an APScheduler 3 `BackgroundScheduler`, in the campaign office's time zone:

| job | when | does |
|---|---|---|
| poll | every `poll_minutes`, and at once on start | fetch new mail, ingest it (`intake.imap`) |
| send | every `send_minutes`, and right after a poll that took in mail | deliver queued replies |
| report | daily at `report_time` local | write (and optionally mail) the daily report |

Every job has `max_instances=1` (no overlapping runs of a job in this process; `intake.locks`
keeps other processes out of the mailbox) and `coalesce=True` (runs missed while the machine
slept collapse into one).  A daily report missed while the service was down is written once on
start, as soon as the day's report time has passed; the state file remembers which day's
report was last written.

SIGTERM or SIGINT sets a stop event: the poll finishes the message in hand and stops before the
next one, running jobs end, the scheduler shuts down, and the process exits 0.  A second signal
exits at once; the database rolls back whatever transaction was open, and that message is
claimed again (within its attempt limit) on the next start.

Job outcomes go to the log (one JSON event per line) and to `<data_dir>/service-state.json`
(`intake.job_state`), which `intake status` shows beside the IMAP heartbeat stored in the
database.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from datetime import time as dtime
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from intake import daily_job, idle, imap, sending
from intake.app import App
from intake.config import ConfigError, Settings
from intake.job_state import STATE_FILE, StateFile
from intake.logs import event

if TYPE_CHECKING:
    from intake.console.server import BackgroundConsole

log = logging.getLogger(__name__)

# Replies are the unit's "within minutes" promise; check the queue at least this often.
SEND_MINUTES_MAX = 5.0
# A report that is late because the machine slept is still wanted the same day.
REPORT_GRACE_S = 12 * 3600
JOBS = ("poll", "send", "report")


def parse_report_time(value: str) -> dtime:
    try:
        hour, minute = (int(p) for p in value.strip().split(":", 1))
        return dtime(hour, minute)
    except ValueError as exc:
        raise ConfigError(f"report_time must be HH:MM, not {value!r}") from exc


class Service:
    def __init__(
        self,
        app: App,
        *,
        send_minutes: float | None = None,
        poller: imap.Poller | None = None,
    ) -> None:
        self.app = app
        self.settings: Settings = app.settings
        try:
            self.tz = ZoneInfo(self.settings.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown timezone {self.settings.timezone!r}") from exc
        self.report_at = parse_report_time(self.settings.report_time)
        if self.settings.poll_minutes <= 0:
            raise ConfigError("poll_minutes must be above 0")
        self.send_minutes = send_minutes or min(self.settings.poll_minutes, SEND_MINUTES_MAX)
        self.stop_event = threading.Event()
        self.poller = poller or imap.Poller(app, keep_workers=True)
        # The poll must see the service's stop: it finishes the message in hand, then returns.
        self.poller.stop = self.stop_event
        self.state = StateFile(self.settings.data_dir / STATE_FILE)
        self.scheduler = BackgroundScheduler(
            timezone=self.tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._poll_again = threading.Event()
        self._polling = threading.Lock()
        self._idle_thread: threading.Thread | None = None
        # The staff console, served beside the jobs when `web = true`.
        self._console: BackgroundConsole | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        imap.require_configured(self.settings)
        # Migrate now, once: jobs start in pool threads and must not race to do it.
        self.app.engine  # noqa: B018
        now = datetime.now(self.tz)
        # misfire_grace_time=None: however late (the machine slept), run once (coalesce).
        self.scheduler.add_job(
            self.poll_job,
            IntervalTrigger(minutes=self.settings.poll_minutes, timezone=self.tz),
            id="poll",
            name="poll",
            next_run_time=now,
        )
        self.scheduler.add_job(
            self.send_job,
            IntervalTrigger(minutes=self.send_minutes, timezone=self.tz),
            id="send",
            name="send",
            next_run_time=now,
        )
        self.scheduler.add_job(
            self.report_job,
            CronTrigger(hour=self.report_at.hour, minute=self.report_at.minute, timezone=self.tz),
            id="report",
            name="report",
            misfire_grace_time=REPORT_GRACE_S,
        )
        if self.report_missed(now):
            self.scheduler.modify_job("report", next_run_time=now)
        self.state.update(
            lambda d: d.update(
                pid=os.getpid(),
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                stopped_at=None,
            )
        )
        self.scheduler.start()
        if self.settings.imap_idle:
            self._idle_thread = threading.Thread(
                target=idle.idle_loop,
                args=(self.settings, self.wake_poll, self.stop_event),
                name="imap-idle",
                daemon=True,
            )
            self._idle_thread.start()
        if self.settings.web:
            # Imported only when served: the web stack is ~10 MB that `intake ingest` and
            # `intake poll`, which reach this module through intake.commands, never use.
            from intake.console.server import BackgroundConsole

            self._console = BackgroundConsole(self.app)
            self._console.start()
        event(
            log,
            "service.started",
            poll_minutes=self.settings.poll_minutes,
            send_minutes=self.send_minutes,
            report_time=self.settings.report_time,
            timezone=self.settings.timezone,
            idle=self.settings.imap_idle,
            source=self.poller.source,
        )

    def shutdown(self) -> None:
        """Stop taking work, let running jobs finish (the poll stops after its message)."""
        self.stop_event.set()
        if self._console is not None:
            self._console.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self._idle_thread is not None:
            self._idle_thread.join(timeout=30)
        self.poller.close()
        self.state.update(
            lambda d: d.update(stopped_at=datetime.now(UTC).isoformat(timespec="seconds"))
        )
        event(log, "service.stopped")

    def run(self) -> int:
        """Block until SIGTERM/SIGINT; the `intake run` command."""
        install_stop_signals(self.stop_event)
        self.start()
        try:
            while not self.stop_event.wait(1.0):
                pass
            event(log, "service.stopping")
        finally:
            self.shutdown()
        return 0

    # -- jobs --------------------------------------------------------------------------------

    def wake_poll(self) -> None:
        """New mail announced (IDLE): poll now, or again right after the running poll."""
        self._poll_again.set()
        if not self._polling.locked() and self.scheduler.running:
            self.scheduler.modify_job("poll", next_run_time=datetime.now(self.tz))

    def poll_job(self) -> imap.PollResult | None:
        result = None
        with self._polling:
            took_mail = False
            while not self.stop_event.is_set():
                self._poll_again.clear()
                try:
                    result = self.poller.poll()
                except Exception as exc:
                    log.exception("poll job failed")
                    self.state.job_done("poll", False, error=repr(exc))
                    return None
                took_mail |= bool(result.counts.get("processed"))
                self.state.job_done(
                    "poll",
                    result.status in ("ok", "stopped", "skipped"),
                    detail={"status": result.status, "counts": dict(result.counts)},
                    error=result.error,
                )
                if result.status != "ok" or not self._poll_again.is_set():
                    break
        if took_mail and not self.stop_event.is_set():
            # Answer new submissions now rather than at the next send tick.
            self.scheduler.modify_job("send", next_run_time=datetime.now(self.tz))
        return result

    def send_job(self) -> None:
        started = time.monotonic()
        app = self.app
        try:
            # Looked up on the module at each run, so that a test can stand in for the sender.
            summary = sending.send_queued(app.sessions, app.blobs, self.settings, app.campaign)
        except Exception as exc:
            log.exception("send job failed")
            self.state.job_done("send", False, error=repr(exc))
            return
        # `ok` is false when a reply failed or the run could not connect.
        ok = summary.ok
        line = summary.line()
        event(
            log,
            "send.done",
            logging.INFO if ok else logging.WARNING,
            result=line,
            seconds=round(time.monotonic() - started, 3),
        )
        self.state.job_done("send", ok, detail=line, error=None if ok else str(line))

    def report_job(self) -> None:
        day = datetime.now(self.tz).date()
        try:
            # Writes the report, then mails it to staff when a list is configured.
            written = daily_job.run_daily_report(self.app, day)
        except Exception as exc:
            log.exception("report job failed")
            self.state.job_done("report", False, error=repr(exc))
            return
        detail = _plain_detail(written)
        event(log, "report.written", date=day.isoformat(), result=detail)
        self.state.job_done("report", True, detail=detail)
        self.state.update(lambda d: d.update(last_report_date=day.isoformat()))

    def report_missed(self, now: datetime) -> bool:
        """Today's report time has passed and no report was written today (we were down)."""
        local = now.astimezone(self.tz)
        if local.time() < self.report_at:
            return False
        return bool(self.state.read().get("last_report_date") != local.date().isoformat())

    def next_runs(self) -> dict[str, datetime | None]:
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}


def _plain_detail(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain_detail(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_detail(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return _plain_detail(asdict(value))
    return str(value)


def install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set `stop`; a second one exits at once (open transactions roll back).
    Returns a function that puts the previous handlers back."""
    count = 0

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        if count > 1:
            event(log, "service.forced_exit", logging.WARNING, signal=signum)
            logging.shutdown()
            os._exit(128 + signum)
        event(log, "service.signal", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
