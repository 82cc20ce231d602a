"""Serving the console with uvicorn: in the foreground (`intake web`) or on a thread beside the
service (`intake run` with `web = true`, and the tests)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from intake.app import App
from intake.config import SettingError
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


def check_address(host: str, port: int) -> None:
    """Fail with one line naming the setting when the console cannot listen where it is told
    (a port in use, an address this machine does not have), before uvicorn logs a traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SettingError(
            "web_host", f"{host!r} is not an address here ({exc.strerror})"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise SettingError(
                "web_port",
                f"cannot listen on {host}:{port}: {exc.strerror}",
                "choose a free port, or stop what listens there",
            ) from None


def serve(app: App) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn's own handlers)."""
    check_address(app.settings.web_host, app.settings.web_port)
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
