"""Shared by the console tests: a small season with something to act on, a console on a real
uvicorn server, and a logged-in HTTP client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from intake.app import App
from intake.console.auth import add_account
from intake.console.server import BackgroundConsole
from samples.archives import make_zip
from samples.cases import case_files, case_zip, submission
from samples.mail import build_submission
from store import models as m

SCRIPT_NAME = "<script>alert(1)</script>"
USER, PASSWORD = "wang", "a long enough password"
CLOUD_BODY = (
    "工作负责人：王五，电话 13812345678，邮箱 wangwu@zj.example\n"
    "从QQ邮箱发来的超大附件\n浙江省推荐材料.zip (1.2G, 2023年12月30日 10:00 到期)\n"
    "进入下载页面：https://mail.qq.com/cgi-bin/ftnExs_download?k=abc&t=exs_ftn_download\n"
)


@dataclass
class Season:
    bj: int  # 北京市: a case without its scan (deficient, with a video) and a `<script>` case
    scan_case: int
    script_case: int
    stranger: int  # a QQ address, no unit anywhere
    cloud: int  # 浙江省: the materials as a QQ large-attachment link


def ingest_console_season(app: App) -> Season:
    bj = submission(
        "北京市",
        [
            case_zip("北京市", "光伏园区", scan=False),
            case_zip("北京市", "储能企业", category="enterprise", videos=0,
                     fields={"案例名称": SCRIPT_NAME}),
        ],
        message_id="<bj-1@sthjj.beijing.example>",
    )  # fmt: skip
    assert app.pipeline.ingest(bj) == "processed"
    stranger = build_submission(
        subject="申报材料",
        sender=("", "stranger@qq.example"),
        attachments=[("材料.zip", case_files_zip("零碳工厂"))],
        message_id="<who@qq.example>",
    )
    assert app.pipeline.ingest(stranger) == "processed"
    cloud = build_submission(
        subject="浙江省低碳发展典型案例申报材料",
        sender=("王五", "wangwu@zj.example"),
        body=CLOUD_BODY,
        message_id="<zj-1@zj.example>",
    )
    assert app.pipeline.ingest(cloud) == "processed"
    with app.sessions() as s:
        ids = {
            msg.message_id: msg.id for msg in s.scalars(select(m.Message).order_by(m.Message.id))
        }
        cases = {c.name: c.id for c in s.scalars(select(m.Case))}
    return Season(
        bj=ids["bj-1@sthjj.beijing.example"],
        scan_case=cases["光伏园区"],
        script_case=cases[SCRIPT_NAME],
        stranger=ids["who@qq.example"],
        cloud=ids["zj-1@zj.example"],
    )


def case_files_zip(name: str) -> bytes:
    return make_zip(case_files("", name, folder="", videos=0))


def add_user(app: App, name: str = USER, password: str = PASSWORD) -> None:
    with app.sessions() as s, s.begin():
        add_account(s, name, password)


@contextmanager
def console(app: App) -> Iterator[str]:
    """The console on a free port of 127.0.0.1; yields its base URL."""
    server = BackgroundConsole(app, port=0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


@contextmanager
def login(base: str, name: str = USER, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
        answer = client.post("/login", data={"username": name, "password": password})
        assert answer.status_code == 303, answer.text
        yield client


def csrf_of(client: httpx.Client, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "no CSRF field in the page"
    return found.group(1)
