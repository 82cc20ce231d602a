"""Files of a message → cases, from real bytes: the roles are decided by name and content."""

from __future__ import annotations

import pytest

from campaign import Campaign
from parsers.archives import expand
from parsers.grouping import ROOT_KEY, case_name_from_hint, group_files
from parsers.model import Attachment, CaseGroup, Grouping
from parsers.payload import Payload
from samples.archives import make_zip
from samples.forms import make_form_docx
from samples.photos import make_jpeg
from samples.videos import make_mp4

PDF = b"%PDF-1.4\n% stamped scan\n%%EOF\n"


def _jpeg(n: int) -> bytes:
    return make_jpeg(160 + n, 120)


@pytest.fixture(scope="module")
def docx() -> bytes:
    return make_form_docx()


def _case(name: str, docx: bytes, *, photos: int = 3, video: bool = True) -> dict[str, bytes]:
    """One case's files named as the call asks, without a folder: `北京市XX推荐表.docx` …"""
    entries = {f"{name}推荐表.docx": docx, f"{name}推荐表（盖章）.pdf": PDF}
    for i in range(photos):
        entries[f"{name}照片{i + 1}（说明）.jpg"] = _jpeg(i)
    if video:
        entries[f"{name}视频.mp4"] = make_mp4(None, 1)
    return entries


def _group(attachments: dict[str, bytes]) -> Grouping:
    expanded = expand(
        Attachment(name, "application/octet-stream", Payload.of(data))
        for name, data in attachments.items()
    )
    assert not expanded.problems
    return group_files(expanded.files)


def _names(case: CaseGroup) -> set[str]:
    return {f.name for f in case.files}


def _roles(case: CaseGroup) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in case.files:
        counts[f.role] = counts.get(f.role, 0) + 1
    return counts


def _by_key(grouping: Grouping) -> dict[str, CaseGroup]:
    keys = [c.key for c in grouping.cases]
    assert len(keys) == len(set(keys)), keys
    return {c.key: c for c in grouping.cases}


PARK = "北京市光伏园区"
COMMUNITY = "北京市零碳社区"


def test_two_cases_as_loose_attachments(docx: bytes, campaign: Campaign) -> None:
    grouping = _group({**_case(PARK, docx, video=False), **_case(COMMUNITY, docx)})

    cases = _by_key(grouping)
    assert set(cases) == {f"{ROOT_KEY}/{PARK}", f"{ROOT_KEY}/{COMMUNITY}"}
    park, community = cases[f"{ROOT_KEY}/{PARK}"], cases[f"{ROOT_KEY}/{COMMUNITY}"]
    assert _roles(park) == {"form_word": 1, "form_scan": 1, "photo": 3}
    assert _roles(community) == {"form_word": 1, "form_scan": 1, "photo": 3, "video": 1}
    assert all(n.startswith(PARK) for n in _names(park))
    assert all(n.startswith(COMMUNITY) for n in _names(community))
    assert grouping.unit_files == []
    # The pipeline names the case from the hint without the unit.
    assert (park.name_hint, community.name_hint) == (PARK, COMMUNITY)
    assert case_name_from_hint(park.name_hint, "北京市", campaign) == "光伏园区"
    assert case_name_from_hint(community.name_hint, "北京市", campaign) == "零碳社区"


def test_two_cases_flat_in_one_zip_with_a_photo_folder(docx: bytes) -> None:
    entries = {**_case(PARK, docx, photos=0), **_case(COMMUNITY, docx, photos=0)}
    # Photos in a shared sub-folder follow their own names.
    for i in range(3):
        entries[f"照片/{PARK}照片{i + 1}（说明）.jpg"] = _jpeg(i)
        entries[f"照片/{COMMUNITY}照片{i + 1}（说明）.jpg"] = _jpeg(i + 3)
    entries["北京市推荐名单.xlsx"] = b"PK\x03\x04 not really a sheet"
    grouping = _group({"北京市低碳案例.zip": make_zip(entries, gbk_names=True)})

    cases = _by_key(grouping)
    assert set(cases) == {f"北京市低碳案例.zip/{PARK}", f"北京市低碳案例.zip/{COMMUNITY}"}
    for name in (PARK, COMMUNITY):
        case = cases[f"北京市低碳案例.zip/{name}"]
        assert _roles(case) == {"form_word": 1, "form_scan": 1, "photo": 3, "video": 1}
        assert all(n.startswith(name) for n in _names(case))
        assert case.name_hint == name
    assert [(f.name, f.role) for f in grouping.unit_files] == [("北京市推荐名单.xlsx", "list")]


def test_numbered_forms_and_unit_less_names(docx: bytes, campaign: Campaign) -> None:
    """`1.北京市光伏园区推荐表.docx` beside `北京市光伏园区照片1.jpg`; `零碳社区视频.mp4`."""
    entries = {
        f"1.{PARK}推荐表.docx": docx,
        f"{PARK}推荐表（盖章）.pdf": PDF,
        f"{PARK}照片1（说明）.jpg": _jpeg(0),
        f"2.{COMMUNITY}推荐表.docx": docx,
        "零碳社区视频.mp4": make_mp4(None, 1),
    }
    cases = _by_key(_group({"案例.zip": make_zip(entries)}))

    park, community = cases[f"案例.zip/1.{PARK}"], cases[f"案例.zip/2.{COMMUNITY}"]
    assert _roles(park) == {"form_word": 1, "form_scan": 1, "photo": 1}
    assert _roles(community) == {"form_word": 1, "video": 1}
    assert case_name_from_hint(park.name_hint, "北京市", campaign) == "光伏园区"


def test_a_scan_without_its_word_form_is_a_case_of_its_own(docx: bytes) -> None:
    entries = {
        **_case(PARK, docx, photos=1, video=False),
        **_case(COMMUNITY, docx, photos=1, video=False),
        "北京市储能企业推荐表（盖章）.pdf": PDF,
        "北京市储能企业照片1（说明）.jpg": _jpeg(5),
    }
    cases = _by_key(_group(entries))

    assert _roles(cases[f"{ROOT_KEY}/北京市储能企业"]) == {"form_scan": 1, "photo": 1}
    assert _roles(cases[f"{ROOT_KEY}/{PARK}"]) == {"form_word": 1, "form_scan": 1, "photo": 1}


def test_scans_only_split_by_name() -> None:
    entries = {
        f"{PARK}推荐表（盖章）.pdf": PDF,
        f"{PARK}照片1（说明）.jpg": _jpeg(0),
        f"{COMMUNITY}申报表扫描件.pdf": PDF,
        f"{COMMUNITY}照片1（说明）.jpg": _jpeg(1),
    }
    cases = _by_key(_group(entries))

    assert set(cases) == {f"{ROOT_KEY}/{PARK}", f"{ROOT_KEY}/{COMMUNITY}"}
    assert all(_roles(c) == {"form_scan": 1, "photo": 1} for c in cases.values())


def test_leftovers_stay_with_the_unit(docx: bytes) -> None:
    entries = {
        **_case(PARK, docx, photos=1, video=False),
        **_case(COMMUNITY, docx, photos=1, video=False),
        "现场照片.jpg": _jpeg(2),  # fits no case: not guessed
        "IMG_0001.jpg": _jpeg(3),
    }
    grouping = _group({"材料.zip": make_zip(entries)})

    cases = _by_key(grouping)
    assert all(_roles(c) == {"form_word": 1, "form_scan": 1, "photo": 1} for c in cases.values())
    assert sorted((f.name, f.role) for f in grouping.unit_files) == [
        ("IMG_0001.jpg", "photo"),
        ("现场照片.jpg", "photo"),
    ]


def test_leftover_naming_exactly_one_case_goes_to_it(docx: bytes) -> None:
    entries = {
        **_case(PARK, docx, photos=0, video=False),
        **_case(COMMUNITY, docx, photos=0, video=False),
        "照片-光伏园区.jpg": _jpeg(0),  # names one case's distinctive part
        "光伏园区与零碳社区合影.jpg": _jpeg(1),  # names both: not guessed
    }
    grouping = _group(entries)

    cases = _by_key(grouping)
    assert "照片-光伏园区.jpg" in _names(cases[f"{ROOT_KEY}/{PARK}"])
    assert [f.name for f in grouping.unit_files] == ["光伏园区与零碳社区合影.jpg"]


def test_same_name_forms_stay_one_case(docx: bytes) -> None:
    """A `.docx` and a revised `.docx` of the same case are not two cases."""
    entries = {**_case(PARK, docx, photos=1, video=False), f"{PARK}推荐表（修改版）.docx": docx}
    grouping = _group({f"{PARK}推荐材料.zip": make_zip(entries)})

    assert [c.key for c in grouping.cases] == [f"{PARK}推荐材料.zip"]
    assert _roles(grouping.cases[0]) == {"form_word": 2, "form_scan": 1, "photo": 1}


# -- single-case layouts: unchanged ---------------------------------------------------------


def test_one_case_zip(docx: bytes) -> None:
    folder = f"{PARK}推荐材料"
    entries = {f"{folder}/{n}": data for n, data in _case(PARK, docx).items()}
    grouping = _group({f"{folder}.zip": make_zip(entries, gbk_names=True)})

    assert [(c.key, c.name_hint) for c in grouping.cases] == [(f"{folder}.zip", folder)]
    assert _roles(grouping.cases[0]) == {"form_word": 1, "form_scan": 1, "photo": 3, "video": 1}
    assert grouping.unit_files == []


def test_one_loose_case(docx: bytes) -> None:
    grouping = _group(_case(PARK, docx))

    assert [(c.key, c.name_hint) for c in grouping.cases] == [(ROOT_KEY, f"{PARK}推荐表")]
    assert _roles(grouping.cases[0]) == {"form_word": 1, "form_scan": 1, "photo": 3, "video": 1}


def test_big_zip_with_a_folder_per_case(docx: bytes) -> None:
    entries = {
        **{f"1.{PARK}推荐材料/{n}": d for n, d in _case(PARK, docx).items()},
        **{f"2.{COMMUNITY}推荐材料/{n}": d for n, d in _case(COMMUNITY, docx).items()},
        "北京市推荐名单.pdf": PDF,
    }
    grouping = _group({"北京市.zip": make_zip(entries, gbk_names=True)})

    cases = _by_key(grouping)
    assert set(cases) == {f"北京市.zip/1.{PARK}推荐材料", f"北京市.zip/2.{COMMUNITY}推荐材料"}
    assert all(
        _roles(c) == {"form_word": 1, "form_scan": 1, "photo": 3, "video": 1}
        for c in cases.values()
    )
    assert [f.role for f in grouping.unit_files] == ["list"]


def test_form_in_a_sub_folder_of_its_case(docx: bytes) -> None:
    folder = f"{PARK}推荐材料"
    entries = {
        f"{folder}/推荐表/{PARK}推荐表.docx": docx,
        f"{folder}/推荐表/{PARK}推荐表（盖章）.pdf": PDF,
        f"{folder}/照片/{PARK}照片1（说明）.jpg": _jpeg(0),
        f"{folder}/{PARK}视频.mp4": make_mp4(None, 1),
    }
    grouping = _group({f"{folder}.zip": make_zip(entries)})

    assert [(c.key, c.name_hint) for c in grouping.cases] == [(f"{folder}.zip", folder)]
    assert _roles(grouping.cases[0]) == {"form_word": 1, "form_scan": 1, "photo": 1, "video": 1}
