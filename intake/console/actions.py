"""The console's POST routes: login, logout and every action on findings, messages and replies.

Each action checks the session (401 without one) and the form's CSRF token (403), does its work
in `intake.console.work` (one transaction with its audit row, run off the event loop), and
redirects to the page where the result shows (303).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from intake.console.attach import MAX_FILES, Upload, attach_files
from intake.console.auth import csrf_ok, new_csrf_token, verify
from intake.console.common import current_user, error_page, local_path, render, state
from intake.console.work import ActionError, Back, NotFound, Work
from intake.reply_actions import Action
from store.audit import record

FIELD_MAX = 64 * 1024
REPLY_ACTIONS: dict[str, Action] = {
    "approve": "approve",
    "hold": "hold",
    "cancel": "cancel",
    "requeue": "requeue",
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


async def _form(request: Request) -> FormData:
    return await request.form(max_files=MAX_FILES, max_fields=50, max_part_size=FIELD_MAX)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _guard(request: Request) -> tuple[str, FormData] | Response:
    """(user, form) for a logged-in POST with the right CSRF token, else the refusal."""
    user = await run_in_threadpool(current_user, request)
    if user is None:
        return PlainTextResponse("login required", status_code=401)
    form = await _form(request)
    if not csrf_ok(request.session.get("csrf"), form.get("csrf")):
        return PlainTextResponse("CSRF token missing or wrong", status_code=403)
    return user, form


def _done(back: Back) -> Response:
    return RedirectResponse(quote(back.path, safe="/"), status_code=303)


async def _run(
    request: Request, fn: Callable[..., Back], *args: object, back: str = "/"
) -> Response:
    try:
        result: Back = await run_in_threadpool(fn, *args)
    except NotFound:
        return error_page(request, 404, "要处理的对象不存在。", back)
    except ActionError as exc:
        return error_page(request, 409, str(exc), back)
    return _done(result)


# -- login --------------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    form = await _form(request)
    name, password = _text(form, "username").strip(), _text(form, "password")
    nxt = local_path(_text(form, "next"))
    limiter, app = state(request).limiter, state(request).app
    address = _client(request)
    if limiter.blocked(name, address):
        return render(
            request, "console_login.html.j2", status=429, next=nxt, logged_in=False,
            error="登录失败次数过多，请 15 分钟后再试。",
        )  # fmt: skip

    def check() -> int | None:
        with app.sessions() as session, session.begin():
            account = verify(session, name, password)
            if account is None:
                return None
            account.last_login_at = datetime.now(UTC)
            record(
                session, account.name, "staff.login", f"staff:{account.name}", "", address=address
            )
            return account.id

    uid = await run_in_threadpool(check)
    if uid is None:
        limiter.failed(name, address)
        return render(
            request, "console_login.html.j2", status=401, next=nxt, logged_in=False,
            error="用户名或密码不正确。",
        )  # fmt: skip
    limiter.succeeded(name)
    # A fresh session: nothing from before the login survives (session fixation).
    request.session.clear()
    request.session.update({"user": name, "uid": uid, "csrf": new_csrf_token()})
    return RedirectResponse(nxt, status_code=303)


async def logout(request: Request) -> Response:
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# -- actions ------------------------------------------------------------------------------------


def _finding_action(method: str) -> Callable[[Request], Awaitable[Response]]:
    """POST /findings/{id}/<method>: waive or restore one finding, with the form's note."""

    async def handler(request: Request) -> Response:
        guarded = await _guard(request)
        if isinstance(guarded, Response):
            return guarded
        user, form = guarded
        work = Work(state(request).app)
        return await _run(
            request, getattr(work, method), user, request.path_params["id"],
            _text(form, "note"), back=local_path(_text(form, "back")),
        )  # fmt: skip

    return handler


def _message_action(method: str, field: str) -> Callable[[Request], Awaitable[Response]]:
    """POST /messages/{id}/<field>: set one thing about a message (its unit, its kind)."""

    async def handler(request: Request) -> Response:
        guarded = await _guard(request)
        if isinstance(guarded, Response):
            return guarded
        user, form = guarded
        pk = request.path_params["id"]
        work = Work(state(request).app)
        return await _run(
            request, getattr(work, method), user, pk, _text(form, field), _text(form, "note"),
            back=f"/messages/{pk}",
        )  # fmt: skip

    return handler


waive = _finding_action("waive")
restore = _finding_action("restore")
assign_unit = _message_action("assign_unit", "unit")
set_kind = _message_action("set_kind", "kind")


async def attach(request: Request) -> Response:
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    user, form = guarded
    pk = request.path_params["id"]
    uploads = []
    for item in form.getlist("files"):
        if isinstance(item, UploadFile):
            uploads.append(Upload(item.filename or "upload.bin", await item.read()))
    return await _run(
        request, attach_files, state(request).app, user, pk, uploads, back=f"/messages/{pk}"
    )


async def reply_action(request: Request) -> Response:
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    user, form = guarded
    pk, name = request.path_params["id"], request.path_params["action"]
    work = Work(state(request).app)
    note = _text(form, "note")
    back = local_path(_text(form, "back"))
    if name == "close":
        outcome = _text(form, "outcome")
        if outcome not in ("sent", "not_sent"):
            return error_page(request, 400, "请选择“已送达”或“未送达”。", back)
        action: Action = "close_sent" if outcome == "sent" else "close_not_sent"
        return await _run(request, work.reply, user, pk, action, note, back=back)
    if name not in REPLY_ACTIONS:
        return PlainTextResponse("not found", status_code=404)
    checked = _text(form, "checked") == "yes"
    return await _run(
        request, lambda: work.reply(user, pk, REPLY_ACTIONS[name], note, checked=checked), back=back
    )
