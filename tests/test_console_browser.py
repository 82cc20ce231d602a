"""The staff console in a real browser: Debian's chromium through chromedriver and Selenium.

Logs in, opens a case (its video element and poster), waives a finding and sees the case's
status change, assigns a unit to mail from an unknown sender, attaches a zip fetched from a
cloud link, and approves a held deficiency notice that the test SMTP server then receives.
Nothing downloads a browser: the driver is /usr/bin/chromedriver, never Selenium Manager.
"""

from __future__ import annotations

import email
import os
import shutil
from collections.abc import Iterator
from email.policy import default as default_policy
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from intake.app import App
from intake.sending import send_queued
from samples.cases import case_zip
from store import models as m
from tests.console_helpers import PASSWORD, USER, add_user, console, ingest_console_season
from tests.test_send_smtp import Handler, free_port, smtp_app

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT_S = 60


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are not installed (scripts/bootstrap)")
        pytest.skip("chromium or chromium-driver not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    handler, port = Handler(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def wait_for(driver: WebDriver, what: str, check: object) -> None:
    # While a POST's answer replaces the page, an element read a moment ago may belong to the
    # old document: Chromium then says "Node … does not belong to the document". Poll again.
    WebDriverWait(
        driver,
        WAIT_S,
        ignored_exceptions=(
            NoSuchElementException,
            StaleElementReferenceException,
            WebDriverException,
        ),
    ).until(lambda d: check(d), message=what)  # type: ignore[operator]


def test_staff_act_in_the_browser(
    tmp_path: Path, smtp: tuple[Handler, int], browser: WebDriver
) -> None:
    handler, port = smtp
    app: App = smtp_app(
        tmp_path, f"sqlite:///{tmp_path / 'intake.db'}", port, reply_review="deficiency"
    )
    season = ingest_console_season(app)
    add_user(app)
    with app.sessions() as s:
        held = s.scalar(select(m.Reply).where(m.Reply.message_id == season.bj))
        assert held is not None and held.state == "held" and held.kind == "deficiency"
        held_id = held.id
        video = s.scalar(
            select(m.File).where(m.File.case_id == season.scan_case, m.File.role == "video")
        )
        assert video is not None and video.probe.get("poster_sha256")
    d = browser
    with console(app) as base:
        # Log in: the page asked for comes back after the login form.
        d.get(f"{base}/cases/{season.scan_case}")
        assert "/login" in d.current_url
        d.find_element(By.ID, "username").send_keys(USER)
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "login").click()
        wait_for(d, "the case page", lambda d: d.current_url.endswith(f"/cases/{season.scan_case}"))

        # The case: its video plays in the page, with the poster frame made at ingest.
        element = d.find_element(By.TAG_NAME, "video")
        assert element.get_attribute("src") == f"{base}/files/{video.id}"
        assert element.get_attribute("poster") == f"{base}/files/{video.id}/poster"
        assert element.get_attribute("controls") is not None
        cookies = {c["name"]: c["value"] for c in d.get_cookies()}
        poster = httpx.get(f"{base}/files/{video.id}/poster", cookies=cookies)
        assert poster.status_code == 200 and poster.content.startswith(b"\xff\xd8\xff")
        assert d.find_element(By.ID, "case-status").text == "待补正"

        # Waive the missing scan: the case is complete at once.
        row = d.find_element(By.XPATH, "//tr[contains(., 'FORM_SCAN_MISSING')]")
        row.find_element(By.NAME, "note").send_keys("盖章扫描件已通过机要寄送")
        row.find_element(By.CSS_SELECTOR, "button.waive").click()
        wait_for(
            d, "status complete", lambda d: d.find_element(By.ID, "case-status").text == "齐全"
        )
        assert "已豁免：盖章扫描件已通过机要寄送" in d.page_source

        # Mail from a QQ address with no unit: staff know it is 河北省.
        d.get(f"{base}/messages/{season.stranger}")
        assert d.find_element(By.ID, "unit").text == "未识别"
        Select(d.find_element(By.ID, "unit-select")).select_by_visible_text("河北省")
        d.find_element(By.ID, "assign-unit").click()
        wait_for(d, "unit assigned", lambda d: d.find_element(By.ID, "unit").text == "河北省")

        # The cloud-link materials, downloaded by staff, attached as a zip.
        name, data = case_zip("浙江省", "绿色工厂", category="enterprise", videos=0)
        upload = tmp_path / name
        upload.write_bytes(data)
        d.get(f"{base}/messages/{season.cloud}")
        d.find_element(By.ID, "attach-files").send_keys(str(upload))
        d.find_element(By.ID, "attach").click()
        wait_for(
            d,
            "the upload's message page",
            lambda d: (
                "/messages/" in d.current_url
                and not d.current_url.endswith(f"/messages/{season.cloud}")
            ),
        )
        assert "绿色工厂" in d.page_source
        assert f"/messages/{season.cloud}" in d.page_source  # names the original

        # The held deficiency notice: approved on the overview, then sent by the service.
        d.get(f"{base}/")
        d.find_element(By.CSS_SELECTOR, f"#reply-{held_id} button.reply-approve").click()
        wait_for(d, "approved", lambda d: not d.find_elements(By.ID, f"reply-{held_id}"))

    with app.sessions() as s:
        assert s.get_one(m.Reply, held_id).state == "queued"
        case = s.get_one(m.Case, season.scan_case)
        assert case.unit is not None and case.status == "complete"
        stranger = s.get_one(m.Message, season.stranger)
        assert stranger.unit is not None and stranger.unit.name == "河北省"
        link = s.scalar(
            select(m.Finding).where(
                m.Finding.message_id == season.cloud, m.Finding.code == "CLOUD_LINK"
            )
        )
        assert link is not None and link.waived and "上传" in link.waived
        actions = [a.action for a in s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))]
    assert {"finding.waive", "message.unit", "message.attach", "reply.approve"} <= set(actions)
    summary = send_queued(app.sessions, app.blobs, app.settings, app.campaign)
    assert summary.ok, summary.line()
    to_bj = [r for r in handler.received if "zhangsan@sthjj.beijing.gov.cn" in r.rcpt_tos]
    assert len(to_bj) == 1
    mail = email.message_from_bytes(to_bj[0].content, policy=default_policy)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    # Rendered again on approval: the waived finding is not repeated to the unit.
    assert "盖章" not in body.get_content()
