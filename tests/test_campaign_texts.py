"""Issue 10: every rule's reason, fix and detail says the campaign's numbers and categories.

Each rule's texts are rendered under two campaigns whose limits share no number; a text that
shows a number or a category of the other campaign fails.  Details come from sample facts
whose own numbers (counts found, sizes) belong to neither campaign.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from campaign import BUNDLED_CAMPAIGN, EXAMPLE_CAMPAIGN, Campaign, Category, Limits, load_campaign
from parsers.form import read_form
from parsers.form_ticks import read_ticks
from parsers.model import Contact, FormData, PhotoInfo, VideoInfo
from samples.forms import make_form_docx
from validators.base import campaign_words
from validators.facts import CaseFacts, FileFacts, MessageFacts, UnitCase, UnitFacts
from validators.registry import all_rules, judge_case, judge_message, judge_unit

C2023 = load_campaign(BUNDLED_CAMPAIGN)
EXAMPLE = load_campaign(EXAMPLE_CAMPAIGN)
# A call that shares no limit number with 2023: 7–9 cases, 13–14 photos of 17 MB, 19 videos of
# 23 minutes, 2900 字; categories 园区、基地、社区; years 2019.
ODD = replace(
    C2023,
    limits=Limits(7, 9, 13, 14, 17 * 1024 * 1024, 19, 23 * 60, 2900),
    categories=(
        Category("park", "园区"),
        Category("base", "基地"),
        Category("community", "社区"),
    ),
    ineligible_years=(2019,),
)
# Numbers the sample facts carry (found counts and sizes): in neither campaign's limits.
FACT_NUMBERS = {"31", "29", "37", "00", "4001", "41", "8"}


def numbers(campaign: Campaign) -> set[str]:
    """Every number the campaign's limits may be written as."""
    limits = campaign.limits
    out = {
        str(limits.cases_per_category_min),
        str(limits.cases_per_category_max),
        str(limits.photos_min),
        str(limits.photos_max),
        str(limits.videos_max),
        str(limits.intro_max_chars),
        str(int(limits.video_max_seconds)),
        str(int(limits.video_max_seconds) // 60),
        campaign_words(campaign)["photo_max_mb"],
        *(str(y) for y in campaign.ineligible_years),
    }
    return out


def labels(campaign: Campaign) -> set[str]:
    return {c.label for c in campaign.categories}


def foreign(text: str, own: Campaign, other: Campaign) -> list[str]:
    """Numbers and category labels in `text` that belong to `other` and not to `own`."""
    found = set(re.findall(r"(?<![A-Za-z0-9])\d+", text)) - FACT_NUMBERS
    bad = sorted((found & numbers(other)) - numbers(own))
    bad += sorted(w for w in labels(other) - labels(own) if w in text)
    return bad


PAIRS = [(C2023, ODD), (ODD, C2023), (EXAMPLE, C2023), (C2023, EXAMPLE)]


@pytest.mark.parametrize(("own", "other"), PAIRS, ids=["2023", "odd", "example", "2023-vs-ex"])
def test_every_rule_text_is_the_campaigns(own: Campaign, other: Campaign) -> None:
    for rule in all_rules():
        reason, fix = rule.texts(own)
        assert "{" not in reason + fix, rule.code
        assert not foreign(reason + "\n" + fix, own, other), (rule.code, reason, fix)


def test_2023_texts_are_unchanged() -> None:
    texts = {rule.code: rule.texts(C2023) for rule in all_rules()}
    assert texts["PHOTO_COUNT"][1] == "请按要求提供 3–5 张照片（JPG 或 PNG），每张附照片说明"
    assert texts["CATEGORY_QUOTA"] == (
        "某类别的推荐案例数量不在 2–3 个之间",
        "每个类别推荐 2–3 个案例",
    )
    assert (
        texts["CATEGORY_UNMARKED"][1]
        == "请在推荐表“类别”栏中所属类别（园区、企业、社区、个人之一）处打“√”"
    )
    assert texts["VIDEO_COUNT"][1] == "请保留不超过 3 个视频后重新发送该案例"
    assert texts["PREVIOUSLY_SELECTED"][0] == (
        "该案例已入选往年（2021、2022 年）绿色低碳典型案例，不再参与本年度推选"
    )
    assert texts["INTRO_TOO_LONG"][1].startswith("请将推荐表中的案例简介压缩到 2000 字以内")


def sample_case(campaign: Campaign) -> CaseFacts:
    photos = [
        FileFacts(
            f"照片{'甲乙丙丁戊己庚辛壬癸'[i % 10]}.jpg",
            f"p/{i}",
            "photo",
            1000,
            "x",
            None,
            PhotoInfo("JPEG"),
        )
        for i in range(31)
    ]
    photos[0] = replace(photos[0], size=41 * 1024 * 1024)
    videos = [
        FileFacts("视频.mp4", f"v/{i}", "video", 1000, "y", video=VideoInfo(duration_s=37 * 60))
        for i in range(29)
    ]
    form = FormData(fields={"案例名称": "某案例"}, categories=["park", "community"])
    form.other_categories = ["个人"]
    return CaseFacts(
        campaign, "北京市", "k", "某案例", [*photos, *videos], form, "表.docx", intro_chars=4001
    )


@pytest.mark.parametrize(("own", "other"), PAIRS, ids=["2023", "odd", "example", "2023-vs-ex"])
def test_details_from_sample_facts_are_the_campaigns(own: Campaign, other: Campaign) -> None:
    case = judge_case(sample_case(own))
    codes = {f.code for f in case}
    assert {
        "PHOTO_COUNT",
        "VIDEO_COUNT",
        "VIDEO_TOO_LONG",
        "PHOTO_TOO_LARGE",
        "INTRO_TOO_LONG",
    } <= codes
    assert {"FIELD_MISSING", "CATEGORY_MULTIPLE", "CATEGORY_NOT_IN_CALL"} <= codes
    unit = judge_unit(UnitFacts(own, "北京市", [UnitCase("甲", "park", 1)], has_list=True))
    assert [f.code for f in unit] == ["CATEGORY_QUOTA"] * len(own.categories)
    message = judge_message(
        MessageFacts(
            own,
            "submission",
            "北京",
            "北京市",
            (),
            Contact("张伟", "13912345678", "a@b.cn"),
            1,
            [],
            [],
            None,
        )
    )
    for f in [*case, *unit, *message]:
        # 个人 here is what the sample form ticked, not a category of either call.
        detail = f.detail.replace("个人", "")
        assert not foreign(detail, own, other), (f.code, f.detail)


def test_field_missing_names_the_campaigns_label() -> None:
    facts = sample_case(C2023)
    detail_2023 = [f.detail for f in judge_case(facts) if f.code == "FIELD_MISSING"]
    detail_ex = [
        f.detail for f in judge_case(replace(facts, campaign=EXAMPLE)) if f.code == "FIELD_MISSING"
    ]
    assert "申报单位（个人）" in detail_2023
    assert "申报单位" in detail_ex and not any("个人" in d for d in detail_ex)


# -- tick detection: a tick beside an option is that option --------------------------------------

THREE = EXAMPLE.category_labels
WORDS = EXAMPLE.form.option_words


@pytest.mark.parametrize(
    "text",
    [
        "☐园区 ☐企业 ☐社区 ☑个人",
        "园区□ 企业□ 社区□ 个人√",
        "园区（ ）企业（ ）社区（ ）个人（√）",
        "√个人",
    ],
)
def test_a_tick_beside_a_missing_option_stays_with_it(text: str) -> None:
    assert read_ticks(text, THREE, WORDS) == ([], ["个人"])


def test_options_printed_on_the_form_are_read_even_unknown_ones() -> None:
    assert read_ticks("□园区 □企业 □社区 ☑示范基地", THREE, WORDS) == ([], ["示范基地"])
    assert read_ticks("☐园区 ☐企业 ☑社区 ☐个人", THREE, WORDS) == (["community"], [])


@pytest.mark.parametrize(
    "tick",
    [
        "typed-√",
        "typed-☑",
        "font-wingdings2",
        "sym-wingdings2",
        "content-control",
        "deleted-others",
    ],
)
def test_the_individual_form_under_a_three_category_call(tick: str) -> None:
    data = make_form_docx(tick=tick, category="individual")
    form = read_form(data, THREE, EXAMPLE.form)
    assert (form.categories, form.other_categories) == ([], ["个人"])
    facts = CaseFacts(EXAMPLE, "北京市", "k", "n", [], form, "表.docx")
    found = {f.code: f for f in judge_case(facts)}
    assert "CATEGORY_UNMARKED" not in found and "CATEGORY_MULTIPLE" not in found
    assert "个人" in found["CATEGORY_NOT_IN_CALL"].detail
    # Under 2023 the same form is simply an 个人 case.
    assert read_form(data, C2023.category_labels, C2023.form).categories == ["individual"]
