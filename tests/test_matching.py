"""validators.matching: lenient case names against the candidate list and earlier winners."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign import Campaign, SelectedCase, read_selected_cases
from parsers.candidates import CandidateEntry
from validators.matching import (
    find_previously_selected,
    match_candidate_order,
    name_score,
    normalize_name,
    same_applicant,
    same_case,
)

SELECTED_CSV = Path(__file__).resolve().parents[1] / "campaign/bundled/selected-2021-2022.csv"
# The rows these tests match against (invented, as the office's list would read); given here,
# since the bundled list ships no row it cannot source (issue 10).
ROWS = (
    SelectedCase(2021, "北京市", "城市副中心绿色低碳示范园区", "北京城市副中心管理委员会"),
    SelectedCase(2021, "江苏省", "零碳工厂数字化能源管理实践", "江苏某某新能源股份有限公司"),
    SelectedCase(2022, "浙江省", "社区垃圾分类与低碳生活实践", "杭州市某某社区居民委员会"),
    SelectedCase(2022, "广东省", "园区光伏一体化与储能示范", "广州某某产业园区管理有限公司"),
    SelectedCase(2022, "四川省", "个人低碳出行倡导十年", "张三"),
)


@pytest.fixture(scope="module")
def selected() -> tuple[SelectedCase, ...]:
    return ROWS


# -- normal form ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("江苏某某新能源股份有限公司零碳工厂", "江苏某某新能源有限公司零碳工厂"),
        ("江苏某某新能源有限责任公司零碳工厂", "江苏某某新能源公司零碳工厂"),
        ("某某集团有限公司绿色工厂", "某某公司绿色工厂"),
        ("某某集团绿色工厂", "某某集团股份有限公司绿色工厂"),
        ("园区光伏 一体化与储能示范", "园区光伏一体化与储能示范"),
        ("“零碳”工厂·数字化能源管理（实践）", "零碳工厂数字化能源管理实践"),
        ("《社区垃圾分类》与低碳生活实践", "社区垃圾分类与低碳生活实践"),
        ("ＸＸ园区ＣＯ２减排", "xx园区co2减排"),  # full-width letters and digits
        ("城市副中心绿色低碳示范园区案例", "城市副中心绿色低碳示范园区"),
        ("城市副中心绿色低碳示范园区项目推荐材料", "城市副中心绿色低碳示范园区"),
        ("1.城市副中心绿色低碳示范园区", "城市副中心绿色低碳示范园区"),
        ("（二）城市副中心绿色低碳示范园区", "城市副中心绿色低碳示范园区"),
        ("城市\u200b副中心\u3000绿色低碳示范园区", "城市副中心绿色低碳示范园区"),
    ],
)
def test_normalize_name_agrees_on_variants(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)
    assert same_case(a, b)


def test_normalize_name_examples() -> None:
    assert (
        normalize_name("1.《江苏某某新能源股份有限公司》零碳工厂 案例")
        == "江苏某某新能源公司零碳工厂"
    )
    assert normalize_name("2023年低碳园区") == "2023年低碳园区"  # a year is no order
    assert normalize_name("案例") == "案例"  # never stripped to nothing
    assert normalize_name("  ，。") == ""


# -- same case -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("园区光伏一体化与储能示范", "园区光伏一体化储能示范"),  # a character left out
        ("零碳工厂数字化能源管理实践", "零碳工厂的数字化能源管理与实践"),
        # The folder name carries the unit and the trailer; the list only the case name.
        ("北京市城市副中心绿色低碳示范园区推荐材料", "城市副中心绿色低碳示范园区"),
    ],
)
def test_same_case(a: str, b: str) -> None:
    assert same_case(a, b)
    assert same_case(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Same company, a different case.
        ("江苏某某新能源股份有限公司零碳工厂", "江苏某某新能源股份有限公司光伏屋顶"),
        ("零碳工厂数字化能源管理实践", "零碳工厂数字化碳资产管理实践"),
        # One character apart, but another category or number: another case.
        ("城市副中心绿色低碳示范园区", "城市副中心绿色低碳示范社区"),
        ("地铁1号线光伏示范", "地铁2号线光伏示范"),
        # Containment of a short name proves nothing.
        ("低碳社区", "某某市低碳社区建设与垃圾分类综合实践"),
        ("", ""),
    ],
)
def test_not_same_case(a: str, b: str) -> None:
    assert not same_case(a, b)
    assert not same_case(b, a)


def test_threshold_is_adjustable() -> None:
    a, b = "零碳工厂数字化能源管理实践", "零碳工厂数字化能源管控实践"
    assert 90 <= name_score(a, b) < 95
    assert same_case(a, b)
    assert not same_case(a, b, threshold=95)


def test_same_applicant() -> None:
    assert same_applicant("江苏某某新能源股份有限公司", "江苏某某新能源有限公司")
    assert same_applicant("某某集团", "某某集团有限公司")
    assert same_applicant("某某新能源", "某某新能源有限公司")
    assert same_applicant("杭州市某某社区居民委员会", "杭州市某某社区居委会")
    assert same_applicant("张三", " 张 三 ")
    assert not same_applicant("张三", "张三丰")
    assert not same_applicant("江苏某某新能源有限公司", "浙江某某新能源有限公司")
    assert not same_applicant("", "")


# -- previously selected -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "applicant", "unit", "expected"),
    [
        # Each shipped example, spelled as a unit might send it again.
        ("城市副中心 绿色低碳示范园区（案例）", None, "北京市", "城市副中心绿色低碳示范园区"),
        ("零碳工厂数字化能源管理的实践", "江苏某某新能源有限公司", "江苏", "零碳工厂数字化能源管理实践"),
        ("社区垃圾分类与低碳生活实践", "杭州市某某社区居委会", "浙江省", "社区垃圾分类与低碳生活实践"),
        ("园区光伏一体化储能示范项目", "广州某某产业园区管理有限公司", "广东省", "园区光伏一体化与储能示范"),
        ("个人低碳出行倡导十年", "张三", None, "个人低碳出行倡导十年"),
        # Reworded, held together by the same applicant.
        ("坚持低碳出行倡导十年", "张三", "四川省", "个人低碳出行倡导十年"),
        ("光伏一体化与储能示范园区建设", "广州某某产业园区管理有限公司", "广东省", "园区光伏一体化与储能示范"),
    ],
)  # fmt: skip
def test_shipped_examples_are_found(
    selected: tuple[SelectedCase, ...],
    name: str,
    applicant: str | None,
    unit: str | None,
    expected: str,
) -> None:
    hit = find_previously_selected(name, applicant, unit, selected, (2021, 2022))
    assert hit is not None and hit.name == expected


@pytest.mark.parametrize(
    ("name", "applicant", "unit"),
    [
        # A new case from a company that won before: the applicant alone is not enough.
        ("分布式光伏屋顶建设", "江苏某某新能源股份有限公司", "江苏省"),
        ("零碳工厂数字化碳资产管理实践", "江苏某某新能源股份有限公司", "江苏省"),
        # The reworded name without the same applicant is not enough either.
        ("坚持低碳出行倡导十年", "李四", "四川省"),
        ("光伏一体化与储能示范园区建设", None, "广东省"),
        # The same name from another unit is another case.
        ("城市副中心绿色低碳示范园区", None, "天津市"),
        ("社区垃圾分类与低碳生活实践", None, "新疆生产建设兵团"),
    ],
)
def test_near_misses_are_not_found(
    selected: tuple[SelectedCase, ...], name: str, applicant: str | None, unit: str | None
) -> None:
    assert find_previously_selected(name, applicant, unit, selected, (2021, 2022)) is None


def test_only_ineligible_years_count(selected: tuple[SelectedCase, ...]) -> None:
    name = "城市副中心绿色低碳示范园区"
    assert find_previously_selected(name, None, "北京市", selected, (2022,)) is None
    hit = find_previously_selected(name, None, "北京市", selected, (2021,))
    assert hit is not None and hit.year == 2021
    # No years configured: the list itself is the ineligible list.
    assert find_previously_selected(name, None, "北京市", selected, ()) is not None


def test_unit_agreement_is_lenient_about_suffixes() -> None:
    cases = [
        SelectedCase(2022, "广西壮族自治区", "北部湾绿色港口", "某港务公司"),
        SelectedCase(2022, "新疆维吾尔自治区", "戈壁光伏治沙", "某公司"),
    ]
    assert find_previously_selected("北部湾绿色港口", None, "广西", cases, (2022,)) == cases[0]
    assert find_previously_selected("戈壁光伏治沙", None, "新疆", cases, (2022,)) == cases[1]
    assert (
        find_previously_selected("戈壁光伏治沙", None, "新疆生产建设兵团", cases, (2022,)) is None
    )


def test_best_match_wins() -> None:
    cases = [
        SelectedCase(2021, "江苏省", "零碳工厂数字化能源管理实践二期", "甲公司"),
        SelectedCase(2022, "江苏省", "零碳工厂数字化能源管理实践", "甲公司"),
    ]
    hit = find_previously_selected(
        "零碳工厂数字化能源管理实践", None, "江苏省", cases, (2021, 2022)
    )
    assert hit == cases[1]


def test_bundled_campaign_ships_no_invented_winners(campaign: Campaign) -> None:
    # Issue 10: no row that cannot be sourced; the office imports its own list.
    assert read_selected_cases(SELECTED_CSV) == ()
    assert campaign.previously_selected == ()
    assert campaign.unchecked_years == (2021, 2022)
    assert (
        find_previously_selected("城市副中心绿色低碳示范园区", None, "北京市", (), (2021,)) is None
    )


# -- candidate order -----------------------------------------------------------------------------

ENTRIES = (
    CandidateEntry(1, "城市副中心绿色低碳示范园区", "北京城市副中心管理委员会", "园区", True),
    CandidateEntry(2, "中关村低碳产业园", "某某管理有限公司", "园区", True),
    CandidateEntry(1, "江苏某某新能源股份有限公司零碳工厂", "江苏某某新能源股份有限公司", "企业", True),
    CandidateEntry(2, "江苏某某新能源股份有限公司光伏屋顶", "江苏某某新能源股份有限公司", "企业", True),
)  # fmt: skip


@pytest.mark.parametrize(
    ("case_name", "order"),
    [
        ("城市副中心绿色低碳示范园区", 1),
        ("1.北京市城市副中心绿色低碳示范园区推荐材料", 1),  # a folder name
        ("中关村 低碳产业园（案例）", 2),
        ("江苏某某新能源有限公司零碳工厂", 1),
        ("江苏某某新能源有限公司光伏屋顶", 2),
        ("江苏某某新能源有限公司储能电站", None),  # same company, not on the list
        ("海淀区低碳社区", None),
        ("", None),
    ],
)
def test_match_candidate_order(case_name: str, order: int | None) -> None:
    assert match_candidate_order(case_name, ENTRIES) == order


def test_match_candidate_order_prefers_the_exact_name() -> None:
    entries = (
        CandidateEntry(1, "零碳工厂数字化能源管理实践二期", None, "企业", True),
        CandidateEntry(2, "零碳工厂数字化能源管理实践", None, "企业", True),
    )
    assert match_candidate_order("零碳工厂数字化能源管理实践", entries) == 2
