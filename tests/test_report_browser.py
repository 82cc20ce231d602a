"""The daily report in a real browser: Debian's chromium, headless.

Renders the index and a case page, takes screenshots (kept in the test's tmp dir), and checks
that the browser logged no console message and that every resource the page names is a file
beside it — nothing from the network.  Skipped where chromium is missing, except in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from intake.daily_job import write_daily_report
from tests.conftest import make_app
from tests.test_report import DAY, SCRIPT_NAME, ingest_season

BROWSER_TIMEOUT = 120


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/bootstrap installs it)")
        pytest.skip("chromium not installed")
    return binary


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    # Its own process group: a hung browser is killed with its renderer and GPU children.
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "HOME": str(profile)},
    )
    try:
        out, err = proc.communicate(timeout=BROWSER_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    chromium()
    root = tmp_path_factory.mktemp("browser")
    app = make_app(root)
    ids = ingest_season(app)
    index = write_daily_report(app, DAY)
    app.engine.dispose()
    assert ids
    yield index


def check_screenshot(path: Path, size: tuple[int, int]) -> None:
    assert path.is_file()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
    with Image.open(path) as im:
        assert im.size == size
        # A blank or error page is one or two colours; the report has text, tables, charts.
        colours = im.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50


@pytest.mark.parametrize(
    ("page", "size"),
    [("index.html", (1280, 2000)), ("case", (412, 1400))],
    ids=["index-laptop", "case-phone"],
)
def test_report_renders_in_chromium(
    report: Path, tmp_path: Path, page: str, size: tuple[int, int]
) -> None:
    target = report if page == "index.html" else sorted((report.parent / "cases").glob("*.html"))[0]
    shot = tmp_path / "shot.png"
    result = run_chromium(
        [f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", target.as_uri()],
        tmp_path / "profile",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    check_screenshot(shot, size)


def test_dom_has_no_console_errors_scripts_or_remote_resources(
    report: Path, tmp_path: Path
) -> None:
    result = run_chromium(
        ["--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri()], tmp_path / "profile"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "每日报告" in dom and "单位 × 类别" in dom
    # The browser parsed the attack as text: no script element, the name visible as typed.
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert SCRIPT_NAME not in dom
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', dom):
        assert not re.match(r"(?:[a-z]+:)?//", ref), ref
        assert (report.parent / ref).is_file(), ref
