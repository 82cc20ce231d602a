"""Serving the console with uvicorn: in the foreground (`intake web`) or on a thread beside the
service (`intake run` with `web = true`, and the tests)."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from intake.app import App
from intake.console.app import create_app

log = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0


def _config(app: App, port: int | None = None) -> uvicorn.Config:
    settings = app.settings
    return uvicorn.Config(
        create_app(app),
        host=settings.web_host,
        port=settings.web_port if port is None else port,
        log_level="warning",
        access_log=False,
        server_header=False,
        # Bodies are bounded by the app (`BodyLimit`); slow clients are cut off here.
        timeout_keep_alive=5,
    )


def serve(app: App) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn's own handlers)."""
    uvicorn.Server(_config(app)).run()


class BackgroundConsole:
    """The console on a daemon thread; `stop()` ends it (the service calls it on shutdown)."""

    def __init__(self, app: App, port: int | None = None) -> None:
        self.server = uvicorn.Server(_config(app, port))
        self.thread = threading.Thread(target=self.server.run, name="console", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the staff console did not start (is the port in use?)")
            time.sleep(0.05)

    @property
    def port(self) -> int:
        sockets = [s for server in self.server.servers for s in server.sockets]
        return int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
