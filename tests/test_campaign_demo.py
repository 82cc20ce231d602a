"""Issue 10, done when: the demo's sample mail (samples/season.py + samples/generate.py) run under
the bundled 2023 campaign and under the three-category example campaign.

Under the example no 个人 category appears in notices, report or workbook (the word is only
there where the CATEGORY_NOT_IN_CALL finding names what the form ticked), every limit a reply
states is the example's, and each 个人 form is flagged.  Under 2023 the same mail reads as before.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.policy import default as default_policy
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from campaign import BUNDLED_CAMPAIGN, EXAMPLE_CAMPAIGN, Campaign
from intake.app import App
from intake.demo import REPORT_DATE, run_demo
from samples.season import season
from store import models as m
from tests.conftest import make_app

# What the flagged forms' findings say; the only place 个人 may stand under the example call.
TICKED_INDIVIDUAL = "勾选了“个人”"


@dataclass
class Run:
    app: App
    campaign: Campaign
    replies: list[str]
    report: str
    workbook: Path


@pytest.fixture(
    scope="module", params=[BUNDLED_CAMPAIGN, EXAMPLE_CAMPAIGN], ids=["2023", "example"]
)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("campaign-demo")
    app = make_app(root, campaign=str(request.param))
    run_demo(app, lambda line: None)
    replies: list[str] = []
    for path in sorted(app.settings.outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        replies.extend(
            part.get_content() for part in msg.walk() if part.get_content_type() == "text/plain"
        )
    report = (app.settings.reports / REPORT_DATE.isoformat() / "index.html").read_text("utf-8")
    workbook = app.settings.reports / f"export-{REPORT_DATE.isoformat()}.xlsx"
    yield Run(app, app.campaign, replies, report, workbook)
    app.engine.dispose()


def is_example(run: Run) -> bool:
    return run.campaign.id == "example-3cat"


def test_replies_state_the_campaigns_limits(run: Run) -> None:
    limits = run.campaign.limits
    assert run.replies
    text = "\n".join(run.replies)
    allowed = {
        f"{limits.photos_min}–{limits.photos_max}",
        f"{limits.cases_per_category_min}–{limits.cases_per_category_max}",
    }
    ranges = set(re.findall(r"\d+–\d+", text))
    assert ranges and ranges <= allowed, ranges
    assert f"每类 {limits.cases_per_category_min}–{limits.cases_per_category_max} 个" in text
    for n in re.findall(r"不超过 (\d+) 个视频", text):
        assert int(n) == limits.videos_max
    for n in re.findall(r"(\d+) 字以内", text):
        assert int(n) == limits.intro_max_chars
    for n in re.findall(r"上限 (\d+) 字", text):
        assert int(n) == limits.intro_max_chars
    minutes = int(limits.video_max_seconds) // 60
    for clock in re.findall(r"上限 (\d+):00", text):
        assert int(clock) == minutes


def test_no_individual_category_under_the_example(run: Run) -> None:
    places = {"replies": "\n".join(run.replies), "report": run.report}
    wb = load_workbook(run.workbook, read_only=True)
    places["xlsx"] = "\n".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    )
    sheets = wb.sheetnames
    wb.close()
    labels = [c.label for c in run.campaign.categories]
    assert sheets[1 : 1 + len(labels)] == [f"{label}类" for label in labels]
    if not is_example(run):
        assert "个人类" in sheets and "申报单位（个人）" in places["xlsx"]
        return
    assert "个人类" not in sheets
    for where, text in places.items():
        rest = text.replace(TICKED_INDIVIDUAL, "")
        # The case page shows the form's own category cell as the unit filled it in.
        rest = re.sub(r"<dt>类别</dt>\s*<dd>[^<]*</dd>", "", rest)
        assert "个人" not in rest, (
            where,
            rest[max(0, rest.find("个人") - 200) : rest.find("个人") + 80],
        )


def test_individual_forms_are_flagged_under_the_example(run: Run) -> None:
    names = {c.name for mail in season() for c in mail.cases if c.category == "individual"}
    assert names, "the sample season has 个人 forms"
    with run.app.sessions() as s:
        cases = s.scalars(select(m.Case).where(m.Case.name.in_(names))).all()
        flagged = {
            f.case_id: f.detail
            for f in s.scalars(select(m.Finding).where(m.Finding.code == "CATEGORY_NOT_IN_CALL"))
        }
        assert {c.name for c in cases} == names
        if is_example(run):
            assert {c.id for c in cases} == set(flagged)
            assert all(TICKED_INDIVIDUAL in flagged[c.id] for c in cases)
            assert all(c.category is None and c.status == "deficient" for c in cases)
        else:
            assert not flagged
            assert all(c.category == "individual" for c in cases)


def test_report_matrix_follows_the_campaign(run: Run) -> None:
    matrix = run.report[run.report.index('id="matrix"') : run.report.index('id="not-heard"')]
    for category in run.campaign.categories:
        assert category.label in matrix
    limits = run.campaign.limits
    assert f"每类要求 {limits.cases_per_category_min}–{limits.cases_per_category_max} 个" in matrix
