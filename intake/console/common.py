"""What every route shares: the console's state, who is logged in, CSRF tokens, rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from intake.app import App
from intake.console.auth import LoginLimiter, new_csrf_token
from store import models as m


@dataclass(frozen=True)
class State:
    app: App
    env: Environment
    limiter: LoginLimiter


def state(request: Request) -> State:
    raw = request.app.state.console
    return State(raw["app"], raw["env"], raw["limiter"])


def current_user(request: Request) -> str | None:
    """The logged-in account's name; None without a session or when the account is gone."""
    name, uid = request.session.get("user"), request.session.get("uid")
    if not isinstance(name, str) or not isinstance(uid, int):
        return None
    with state(request).app.sessions() as session:
        account = session.get(m.StaffAccount, uid)
        if account is None or account.name != name:
            request.session.clear()
            return None
    return name


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


def local_path(value: str | None, default: str = "/") -> str:
    """A path on this site only: never `//host` or a scheme (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    return value


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    env = state(request).env
    html = env.get_template(template).render(
        user=request.session.get("user"),
        csrf=csrf_token(request),
        campaign=state(request).app.campaign,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, text: str, back: str = "/") -> HTMLResponse:
    return render(request, "console_error.html.j2", status=status, text=text, back=local_path(back))


Page = Callable[[Request, str], Response]


def page(fn: Page) -> Callable[[Request], Response]:
    """A GET page: without a session it redirects to the login page (and back afterwards)."""

    def wrapper(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return fn(request, user)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper
