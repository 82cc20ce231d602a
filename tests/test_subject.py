"""Subject → unit matching and the deviations staff see, against the bundled 2023 campaign."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from campaign import Campaign, load_campaign
from parsers.model import Deviation, SubjectDeviation
from parsers.subject import find_unit_in_names
from parsers.subject import match_subject as match_subject_typed
from validators.rules.subject_format import deviation_texts

CAMPAIGN_FILE = Path(__file__).resolve().parents[1] / "campaign/bundled/2023.toml"


# The parser's deviations are typed; the tests below read them as staff see them, worded by the
# SUBJECT_FORMAT rule. `match_subject` and `SubjectMatch` here are that worded view.
@dataclass(frozen=True)
class SubjectMatch:
    unit: str | None
    deviations: tuple[str, ...] = ()


def match_subject(subject: str, campaign: Campaign) -> SubjectMatch:
    typed = match_subject_typed(subject, campaign)
    return SubjectMatch(typed.unit, deviation_texts(typed.deviations))


# Each unit with the short name people write instead.
SHORT = {
    "北京市": "北京",
    "天津市": "天津",
    "河北省": "河北",
    "山西省": "山西",
    "内蒙古自治区": "内蒙古",
    "辽宁省": "辽宁",
    "吉林省": "吉林",
    "黑龙江省": "黑龙江",
    "上海市": "上海",
    "江苏省": "江苏",
    "浙江省": "浙江",
    "安徽省": "安徽",
    "福建省": "福建",
    "江西省": "江西",
    "山东省": "山东",
    "河南省": "河南",
    "湖北省": "湖北",
    "湖南省": "湖南",
    "广东省": "广东",
    "广西壮族自治区": "广西",
    "海南省": "海南",
    "重庆市": "重庆",
    "四川省": "四川",
    "贵州省": "贵州",
    "云南省": "云南",
    "西藏自治区": "西藏",
    "陕西省": "陕西",
    "甘肃省": "甘肃",
    "青海省": "青海",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "新疆生产建设兵团": "兵团",
}

# FIELD-NOTES "The 32 submitting units", in the call's order.
UNITS = list(SHORT)

TITLE = "低碳发展典型案例申报材料"


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(CAMPAIGN_FILE)


def test_the_campaign_has_the_32_units(campaign: Campaign) -> None:
    assert [u.name for u in campaign.units] == UNITS


@pytest.mark.parametrize("unit", UNITS)
def test_full_name_in_convention_has_no_deviation(campaign: Campaign, unit: str) -> None:
    assert match_subject(campaign.subject_for(unit), campaign) == (
        match_subject(f"{unit}{TITLE}", campaign)
    )
    result = match_subject(f"{unit}{TITLE}", campaign)
    assert result.unit == unit
    assert result.deviations == ()


@pytest.mark.parametrize(("unit", "short"), sorted(SHORT.items()))
def test_short_name_finds_unit_and_says_so(campaign: Campaign, unit: str, short: str) -> None:
    result = match_subject(f"{short}{TITLE}", campaign)
    assert result.unit == unit
    assert result.deviations == (f"使用了简称“{short}”",)


@pytest.mark.parametrize(
    "prefix",
    ["回复：", "回复:", "答复:", "答复：", "转发：", "转发:", "Re:", "RE：", "re: ", "Fw:", "FW：",
     "Fwd:", "FWD: ", "Re[2]:", "回复：Re: 转发：", "Fw: Fw: Re: "],
)  # fmt: skip
def test_reply_and_forward_prefixes_are_stripped(campaign: Campaign, prefix: str) -> None:
    result = match_subject(f"{prefix}江苏省{TITLE}", campaign)
    assert result.unit == "江苏省"
    assert result.deviations == ("带有“回复/转发”前缀",)


@pytest.mark.parametrize("tag", ["[外部邮件]", "【外部邮件】", "[EXTERNAL] ", "【外部邮件】[SPAM]"])
def test_gateway_tags_are_dropped_silently(campaign: Campaign, tag: str) -> None:
    # The tag is added by a mail gateway, not by the unit: nothing to tell anyone about.
    assert match_subject(f"{tag}浙江省{TITLE}", campaign).deviations == ()
    assert match_subject(f"{tag}浙江省{TITLE}", campaign).unit == "浙江省"


def test_tag_and_prefix_in_any_order(campaign: Campaign) -> None:
    result = match_subject(f"[外部邮件] 回复：【外部邮件】转发: 浙江省{TITLE}", campaign)
    assert result == SubjectMatch("浙江省", ("带有“回复/转发”前缀",))


def test_senders_own_bracket_is_not_a_gateway_tag(campaign: Campaign) -> None:
    result = match_subject(f"[第1部分]浙江省{TITLE}", campaign)
    assert result == SubjectMatch("浙江省", ("多余内容：第1部分",))


def test_bracket_naming_the_unit_is_not_a_tag(campaign: Campaign) -> None:
    result = match_subject(f"【湖南省】{TITLE}", campaign)
    assert result.unit == "湖南省"
    assert result.deviations == ()


@pytest.mark.parametrize(
    "subject",
    [
        f"Re: 新疆生产建设兵团{TITLE}",
        f"新疆兵团{TITLE}",
        f"兵团{TITLE}",
        f"新疆生产建设兵团生态环境局{TITLE}",
        f"兵团生态环境局关于报送{TITLE}的函",
    ],
)
def test_bingtuan_is_its_own_unit_never_xinjiang(campaign: Campaign, subject: str) -> None:
    assert match_subject(subject, campaign).unit == "新疆生产建设兵团"


@pytest.mark.parametrize(
    "subject", [f"新疆{TITLE}", f"新疆自治区{TITLE}", f"新疆维吾尔自治区{TITLE}"]
)
def test_xinjiang_alone_is_the_region(campaign: Campaign, subject: str) -> None:
    assert match_subject(subject, campaign).unit == "新疆维吾尔自治区"


def test_full_width_and_spaces_and_half_width_brackets(campaign: Campaign) -> None:
    result = match_subject("  广 西 壮 族 自 治 区 (低碳发展典型案例申报材料)", campaign)
    assert result == SubjectMatch("广西壮族自治区", ())
    # Full-width latin and colon, and a full-width space, from a Chinese IME.
    result = match_subject("ＲＥ：　四川省低碳发展典型案例申报材料", campaign)
    assert result == SubjectMatch("四川省", ("带有“回复/转发”前缀",))


@pytest.mark.parametrize("year", ["2023年", "2023", "【2023年】", "2023年度", "(2023)"])
def test_year_is_ignored_but_reported(campaign: Campaign, year: str) -> None:
    result = match_subject(f"{year}河南省{TITLE}", campaign)
    assert result.unit == "河南省"
    assert result.deviations == ("包含年份",)


def test_year_after_the_unit(campaign: Campaign) -> None:
    assert match_subject(f"河南省2023年{TITLE}", campaign) == SubjectMatch("河南省", ("包含年份",))


def test_template_placeholder_copied_verbatim_names_no_unit(campaign: Campaign) -> None:
    result = match_subject(f"XX省（区、市）{TITLE}", campaign)
    assert result.unit is None
    assert "保留了模板文字“XX省（区、市）”" in result.deviations
    assert "未写明报送单位" in result.deviations


def test_template_half_replaced(campaign: Campaign) -> None:
    result = match_subject(f"山东省（区、市）{TITLE}", campaign)
    assert result == SubjectMatch("山东省", ("保留了模板文字“XX省（区、市）”",))


def test_part_markers_after_the_title_follow_the_convention(campaign: Campaign) -> None:
    # Issue 11: a part marker splits one submission; it is not a deviation.
    result = match_subject(f"转发：2023年 宁夏 {TITLE}（第1/3部分）", campaign)
    assert result.unit == "宁夏回族自治区"
    assert result.deviations == ("带有“回复/转发”前缀", "包含年份", "使用了简称“宁夏”")
    for marker in ("（1/2）", "(2/2)", "（园区、企业）", "（社区类）", " 2", "（第2部分）"):
        assert match_subject(f"北京市{TITLE}{marker}", campaign) == SubjectMatch("北京市", ())
    # Other words after the title still are.
    assert match_subject(f"北京市{TITLE}（补充）", campaign).deviations == ("多余内容：补充",)


def test_letter_style_subject_reports_the_surrounding_words(campaign: Campaign) -> None:
    result = match_subject(f"北京市生态环境局关于报送{TITLE}的函", campaign)
    assert result == SubjectMatch("北京市", ("多余内容：生态环境局关于报送、的函",))


def test_missing_title_is_named(campaign: Campaign) -> None:
    result = match_subject("吉林省低碳典型案例", campaign)
    assert result == SubjectMatch("吉林省", (f"缺少“{TITLE}”",))


def test_unit_after_title(campaign: Campaign) -> None:
    result = match_subject(f"{TITLE}——云南省", campaign)
    assert result == SubjectMatch("云南省", ("单位名称不在主题开头",))


def test_two_units_pick_the_first_and_say_so(campaign: Campaign) -> None:
    result = match_subject(f"天津市、河北省{TITLE}", campaign)
    assert result.unit == "天津市"
    assert result.deviations == ("主题中出现多个单位：天津市、河北省",)


def test_same_unit_twice_is_not_two_units(campaign: Campaign) -> None:
    result = match_subject(f"上海市（上海）{TITLE}", campaign)
    assert result.unit == "上海市"
    assert not any("多个单位" in d for d in result.deviations)


def test_one_character_abbreviation_only_at_start_before_title(campaign: Campaign) -> None:
    assert match_subject(f"粤{TITLE}", campaign) == SubjectMatch("广东省", ("使用了单字简称“粤”",))
    assert match_subject(f"Re: 沪{TITLE}", campaign).unit == "上海市"
    # 新, 青, 吉 begin ordinary words; without the call's wording right after, no unit.
    assert match_subject("新年快乐", campaign).unit is None
    assert match_subject("青年志愿者低碳活动", campaign).unit is None
    assert match_subject(f"关于粤{TITLE}", campaign).unit is None


def test_full_name_wins_over_abbreviation(campaign: Campaign) -> None:
    # 京 would say 北京市; the subject names 天津 and that is what counts.
    assert match_subject(f"京津冀天津市{TITLE}", campaign).unit == "天津市"


@pytest.mark.parametrize("subject", ["", "   ", "Re: "])
def test_empty_subject(campaign: Campaign, subject: str) -> None:
    result = match_subject(subject, campaign)
    assert result.unit is None
    assert result.deviations


def test_unrelated_subject_has_no_unit(campaign: Campaign) -> None:
    result = match_subject("自动回复：您好，我已休假", campaign)
    assert result.unit is None
    assert "未写明报送单位" in result.deviations


def test_longest_alias_first_inner_mongolia(campaign: Campaign) -> None:
    assert match_subject(f"内蒙{TITLE}", campaign) == SubjectMatch(
        "内蒙古自治区", ("使用了简称“内蒙”",)
    )
    assert match_subject(f"内蒙古{TITLE}", campaign) == SubjectMatch(
        "内蒙古自治区", ("使用了简称“内蒙古”",)
    )


# -- file names --------------------------------------------------------------------------------


def test_unit_from_file_names(campaign: Campaign) -> None:
    names = [
        "北京市XX推荐材料.zip",
        "北京市XX推荐表.doc",
        "北京市XX照片（厂区全景）.jpg",
        "说明.txt",
    ]
    assert find_unit_in_names(names, campaign) == "北京市"


def test_unit_from_paths_and_short_names(campaign: Campaign) -> None:
    names = ["兵团案例1/推荐表.docx", "兵团案例1/照片1.jpg", "新疆兵团推荐名单.pdf"]
    assert find_unit_in_names(names, campaign) == "新疆生产建设兵团"


def test_majority_wins(campaign: Campaign) -> None:
    names = ["湖北省A推荐表.doc", "湖北省B推荐表.doc", "湖南省合作单位简介.pdf"]
    assert find_unit_in_names(names, campaign) == "湖北省"


def test_tie_is_ambiguous(campaign: Campaign) -> None:
    assert find_unit_in_names(["湖北省A推荐表.doc", "湖南省B推荐表.doc"], campaign) is None


def test_no_unit_in_names(campaign: Campaign) -> None:
    assert find_unit_in_names(["推荐表.docx", "IMG_0001.JPG"], campaign) is None
    assert find_unit_in_names([], campaign) is None


def test_abbreviations_do_not_count_in_file_names(campaign: Campaign) -> None:
    # 新 and 青 start ordinary words in file names (新建文件夹, 青年); only names count.
    assert find_unit_in_names(["新建文件夹/青年志愿者.jpg"], campaign) is None


def test_deviations_are_typed_with_what_they_are_about(campaign: Campaign) -> None:
    result = match_subject_typed(f"转发：2023年 宁夏 {TITLE}（第1/3部分）", campaign)
    assert result.deviations == (
        SubjectDeviation(Deviation.REPLY_PREFIX),
        SubjectDeviation(Deviation.YEAR),
        SubjectDeviation(Deviation.SHORT_NAME, ("宁夏",)),
    )
    several = match_subject_typed(f"天津市、河北省{TITLE}", campaign)
    assert several.deviations == (SubjectDeviation(Deviation.SEVERAL_UNITS, ("天津市", "河北省")),)
