"""The Starlette application: routes, sessions, security headers, the upload bound, templates.

Routes that outside checks rely on are listed in README ("Staff console").  Every page needs a
session except `/login` and `/healthz`; without one, pages redirect to `/login`, and actions
and files answer 401.  Every POST but `/login` must carry the session's CSRF token (403).
"""

from __future__ import annotations

from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intake.app import App
from intake.console import actions, pages
from intake.console.auth import LoginLimiter, session_secret, warm_up
from reports.charts import COLOURS
from reports.formatting import clock, human_size

SESSION_COOKIE = "intake_console"
# No script at all; styles are inline in the report's look; media only from here.
CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class BodyLimit:
    """Refuse request bodies over `limit` bytes (413), by Content-Length and while reading."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await PlainTextResponse("上传内容过大", status_code=413)(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise TooLarge
            return message

        try:
            await self.app(scope, bounded, send)
        except TooLarge:
            await PlainTextResponse("上传内容过大", status_code=413)(scope, receive, send)


class TooLarge(Exception):
    pass


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in (
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"no-store"),
                ):
                    if key not in names:
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [PackageLoader("intake.console", "templates"), PackageLoader("reports", "templates")]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = human_size
    env.filters["clock"] = clock
    env.globals["colours"] = COLOURS
    env.globals["console"] = ""
    return env


def create_app(app: App, *, limiter: LoginLimiter | None = None) -> Starlette:
    """The console over `app` (its settings, database, blobs and pipeline)."""
    settings = app.settings
    app.engine  # noqa: B018 - migrate now, not on the first request
    warm_up()
    state: dict[str, Any] = {
        "app": app,
        "env": environment(),
        "limiter": limiter or LoginLimiter(),
    }
    routes = [
        Route("/healthz", pages.healthz),
        Route("/login", pages.login_page, methods=["GET"]),
        Route("/login", actions.login, methods=["POST"]),
        Route("/logout", actions.logout, methods=["POST"]),
        Route("/", pages.overview),
        Route("/units/{name}", pages.unit_page),
        Route("/messages/{id:int}", pages.message_page),
        Route("/cases/{id:int}", pages.case_page),
        Route("/files/{id:int}", pages.file_download),
        Route("/files/{id:int}/poster", pages.poster),
        Route("/audit", pages.audit_page),
        Route("/findings/{id:int}/waive", actions.waive, methods=["POST"]),
        Route("/findings/{id:int}/restore", actions.restore, methods=["POST"]),
        Route("/messages/{id:int}/unit", actions.assign_unit, methods=["POST"]),
        Route("/messages/{id:int}/kind", actions.set_kind, methods=["POST"]),
        Route("/messages/{id:int}/attach", actions.attach, methods=["POST"]),
        Route("/replies/{id:int}/{action}", actions.reply_action, methods=["POST"]),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(BodyLimit, limit=settings.web_upload_max_mb * 1024 * 1024),
        Middleware(
            SessionMiddleware,
            secret_key=session_secret(settings),
            session_cookie=SESSION_COOKIE,
            max_age=int(settings.web_session_hours * 3600),
            same_site="strict",
            https_only=settings.web_base_url.startswith("https://"),
        ),
    ]
    web = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    web.state.console = state
    return web


async def _not_found(request: Request, exc: Exception) -> Response:
    return HTMLResponse("<!DOCTYPE html><title>404</title><p>没有这个页面。</p>", status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("method not allowed", status_code=405)
