"""The photo and video rules, fed with facts from real files probed by parsers and programs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from campaign import Campaign, load_campaign
from intake import reading
from intake.videos import probe_video
from parsers.captions import caption_from_name, captions_from_document, match_captions
from parsers.model import UncheckedVideo, VideoError, VideoInfo
from parsers.photos import probe_photo
from reports import notices
from samples.photos import heic_header, make_jpeg, make_png, truncated_jpeg
from samples.videos import make_audio_only, make_mp4
from store.blobs import BlobStore
from validators import registry
from validators.base import Finding, Level, Rule, Severity
from validators.facts import CaseFacts, FileFacts
from validators.rules import (
    media_check_unavailable,
    photo_caption_missing,
    photo_count,
    photo_too_large,
    photo_unreadable,
    video_count,
    video_too_long,
    video_unreadable,
)

CAMPAIGN = load_campaign(Path(__file__).resolve().parents[1] / "campaign/bundled/2023.toml")
MB = 1024 * 1024

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="ffmpeg/ffprobe not installed",
)


def photo_facts(name: str, data: bytes, caption: str | None = None) -> FileFacts:
    return FileFacts(
        name=name,
        path=f"北京市XX推荐材料.zip/{name}",
        role="photo",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        caption=caption if caption is not None else caption_from_name(name),
        photo=probe_photo(data),
    )


def video_facts(path: Path, info: VideoInfo | None = None) -> FileFacts:
    data = path.read_bytes()
    return FileFacts(
        name=path.name,
        path=f"北京市XX推荐材料.zip/{path.name}",
        role="video",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        video=info if info is not None else probe_video(path),
    )


def case(*files: FileFacts, campaign: Campaign = CAMPAIGN) -> CaseFacts:
    return CaseFacts(campaign, "北京市", "k1", "北京市XX案例", list(files))


def run(rule: Rule[CaseFacts], facts: CaseFacts) -> list[Finding]:
    return rule.run(facts)


def test_rules_have_their_spec_codes_and_are_case_errors() -> None:
    rules = [photo_too_large, photo_caption_missing, photo_unreadable, video_too_long]
    codes = [m.RULE.code for m in [*rules, video_unreadable]]
    assert codes == [
        "PHOTO_TOO_LARGE",
        "PHOTO_CAPTION_MISSING",
        "PHOTO_UNREADABLE",
        "VIDEO_TOO_LONG",
        "VIDEO_UNREADABLE",
    ]
    for m in [*rules, video_unreadable]:
        assert (m.RULE.severity, m.RULE.level, m.RULE.staff_only) == (
            Severity.ERROR,
            Level.CASE,
            False,
        )
        assert m.RULE.reason and m.RULE.fix


# ---------------------------------------------------------------------------------------------
# PHOTO_TOO_LARGE


def test_photo_over_the_campaign_limit_is_too_large() -> None:
    limit = CAMPAIGN.limits.photo_max_bytes
    over = photo_facts("北京市XX照片（驿站）.jpg", make_jpeg(size_bytes=limit + 1))
    findings = run(photo_too_large.RULE, case(over))
    assert len(findings) == 1
    assert findings[0].code == "PHOTO_TOO_LARGE"
    assert findings[0].file == over.path
    # One byte over rounds up, so it never reads as "5 MB, over the 5 MB limit".
    assert findings[0].detail == "北京市XX照片（驿站）.jpg：5.01 MB，超过 5 MB 上限"


def test_photo_at_or_under_the_limit_is_fine() -> None:
    limit = CAMPAIGN.limits.photo_max_bytes
    at = photo_facts("北京市XX照片（驿站）.jpg", make_jpeg(size_bytes=limit))
    small = photo_facts("北京市XX照片（外景）.png", make_png())
    assert run(photo_too_large.RULE, case(at, small)) == []


def test_photo_limit_comes_from_the_campaign() -> None:
    two_mb = dataclasses.replace(
        CAMPAIGN, limits=dataclasses.replace(CAMPAIGN.limits, photo_max_bytes=2 * MB)
    )
    photo = photo_facts("北京市XX照片（驿站）.jpg", make_jpeg(size_bytes=3 * MB))
    assert run(photo_too_large.RULE, case(photo)) == []
    findings = run(photo_too_large.RULE, case(photo, campaign=two_mb))
    assert [f.detail for f in findings] == ["北京市XX照片（驿站）.jpg：3 MB，超过 2 MB 上限"]


def test_only_photos_are_measured() -> None:
    big = dataclasses.replace(photo_facts("北京市XX推荐表.docx", b"x"), role="form_word")
    big.size = 50 * MB
    assert run(photo_too_large.RULE, case(big)) == []


# ---------------------------------------------------------------------------------------------
# PHOTO_CAPTION_MISSING


def test_caption_in_the_name_satisfies_the_rule() -> None:
    photo = photo_facts("北京市XX照片（居民投放厨余垃圾）.jpg", make_jpeg())
    assert photo.caption == "居民投放厨余垃圾"
    assert run(photo_caption_missing.RULE, case(photo)) == []


def test_photo_without_caption_is_reported_by_file() -> None:
    with_caption = photo_facts("北京市XX照片（外景）.jpg", make_jpeg())
    numbered = photo_facts("北京市XX照片(1).jpg", make_jpeg())
    blank = photo_facts("北京市XX照片2.jpg", make_jpeg(), caption="  ")
    findings = run(photo_caption_missing.RULE, case(with_caption, numbered, blank))
    assert [(f.code, f.file) for f in findings] == [
        ("PHOTO_CAPTION_MISSING", numbered.path),
        ("PHOTO_CAPTION_MISSING", blank.path),
    ]
    assert findings[0].detail == "北京市XX照片(1).jpg：未找到照片说明"


def test_captions_from_a_caption_file_fill_the_gaps() -> None:
    names = ["北京市XX照片1.jpg", "北京市XX照片2.jpg", "北京市XX照片3.jpg"]
    document = "照片说明\n1. 驿站外景\n照片2：居民投放\n"
    from_doc = match_captions(names, captions_from_document(document))
    photos = [photo_facts(n, make_jpeg(), caption=from_doc.get(n, "")) for n in names]
    findings = run(photo_caption_missing.RULE, case(*photos))
    assert [f.file for f in findings] == [photos[2].path]


# ---------------------------------------------------------------------------------------------
# PHOTO_UNREADABLE


def test_unreadable_photos_are_reported_with_the_reason() -> None:
    good = photo_facts("北京市XX照片（外景）.jpg", make_jpeg())
    cut = photo_facts("北京市XX照片（驿站）.jpg", truncated_jpeg())
    heic = photo_facts("北京市XX照片（活动）.heic", heic_header())
    findings = run(photo_unreadable.RULE, case(good, cut, heic))
    assert [(f.file, f.detail) for f in findings] == [
        (cut.path, "北京市XX照片（驿站）.jpg：图片文件不完整（截断）"),
        (heic.path, "北京市XX照片（活动）.heic：格式为 HEIC，仅接受 JPG/PNG"),
    ]


def test_photo_never_probed_is_not_called_unreadable() -> None:
    photo = dataclasses.replace(photo_facts("a.jpg", make_jpeg()), photo=None)
    assert run(photo_unreadable.RULE, case(photo)) == []


# ---------------------------------------------------------------------------------------------
# VIDEO_TOO_LONG / VIDEO_UNREADABLE


@needs_ffmpeg
def test_ten_second_video_passes_both_rules(tmp_path: Path) -> None:
    path = tmp_path / "北京市XX视频.mp4"
    make_mp4(path, 10)
    facts = case(video_facts(path))
    assert run(video_too_long.RULE, facts) == []
    assert run(video_unreadable.RULE, facts) == []


@needs_ffmpeg
def test_two_hundred_seconds_is_too_long(tmp_path: Path) -> None:
    path = tmp_path / "北京市XX视频.mp4"
    make_mp4(path, 200)
    video = video_facts(path)
    findings = run(video_too_long.RULE, case(video))
    assert [(f.code, f.file, f.detail) for f in findings] == [
        ("VIDEO_TOO_LONG", video.path, "北京市XX视频.mp4：时长 3:20，上限 3:00")
    ]


@needs_ffmpeg
def test_exactly_the_limit_is_not_too_long(tmp_path: Path) -> None:
    path = tmp_path / "北京市XX视频.mp4"
    make_mp4(path, 180)
    video = video_facts(path)
    assert video.video is not None and video.video.duration_s == pytest.approx(180, abs=0.2)
    assert run(video_too_long.RULE, case(video)) == []


def test_fractions_of_a_second_over_are_tolerated_a_whole_second_is_not(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(b"x")
    padded = video_facts(path, VideoInfo(duration_s=180.9, video_codec="h264"))
    over = video_facts(path, VideoInfo(duration_s=181.0, video_codec="h264"))
    assert run(video_too_long.RULE, case(padded)) == []
    assert [f.detail for f in run(video_too_long.RULE, case(over))] == [
        "v.mp4：时长 3:01，上限 3:00"
    ]


def test_video_limit_comes_from_the_campaign(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(b"x")
    one_minute = dataclasses.replace(
        CAMPAIGN, limits=dataclasses.replace(CAMPAIGN.limits, video_max_seconds=60)
    )
    video = video_facts(path, VideoInfo(duration_s=90, video_codec="h264"))
    assert run(video_too_long.RULE, case(video)) == []
    assert [f.detail for f in run(video_too_long.RULE, case(video, campaign=one_minute))] == [
        "v.mp4：时长 1:30，上限 1:00"
    ]


@needs_ffmpeg
def test_garbage_mp4_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "北京市XX视频.mp4"
    path.write_bytes(b"\x00\x01not a video" * 300)
    video = video_facts(path)
    findings = run(video_unreadable.RULE, case(video))
    assert [(f.code, f.file, f.detail) for f in findings] == [
        ("VIDEO_UNREADABLE", video.path, "北京市XX视频.mp4：无法识别的视频文件")
    ]
    assert run(video_too_long.RULE, case(video)) == []


@needs_ffmpeg
def test_audio_only_is_unreadable_and_not_also_too_long(tmp_path: Path) -> None:
    path = tmp_path / "北京市XX视频.mp4"
    make_audio_only(path, 200)
    facts = case(video_facts(path))
    assert [f.code for f in run(video_unreadable.RULE, facts)] == ["VIDEO_UNREADABLE"]
    assert run(video_too_long.RULE, facts) == []


@pytest.mark.parametrize("error", [VideoError.TOOL_MISSING, VideoError.TIMEOUT])
def test_missing_or_slow_ffprobe_is_not_blamed_on_the_unit(
    tmp_path: Path, error: VideoError
) -> None:
    assert error.ours
    path = tmp_path / "v.mp4"
    path.write_bytes(b"x")
    video = video_facts(path, VideoInfo(error=error))
    assert run(video_unreadable.RULE, case(video)) == []
    assert run(video_too_long.RULE, case(video)) == []


# ---------------------------------------------------------------------------------------------
# MEDIA_CHECK_UNAVAILABLE (staff only)


def test_media_check_unavailable_is_a_staff_only_case_warning() -> None:
    rule = media_check_unavailable.RULE
    assert rule.code == "MEDIA_CHECK_UNAVAILABLE"
    assert (rule.severity, rule.level, rule.staff_only) == (Severity.WARNING, Level.CASE, True)
    assert "ffprobe" in rule.reason and "intake retriage" in rule.fix


def test_media_notes_become_staff_warnings_pointing_at_the_file(tmp_path: Path) -> None:
    path = tmp_path / "北京市XX视频.mp4"
    path.write_bytes(b"x")
    video = video_facts(path, VideoInfo(error=VideoError.TIMEOUT))
    facts = case(video)
    assert facts.media_notes == []  # the default: nothing to report
    assert run(media_check_unavailable.RULE, facts) == []
    facts.media_notes = [
        UncheckedVideo(video.name, VideoError.TIMEOUT),
        UncheckedVideo("gone.mp4", VideoError.MISSING_FILE),
    ]
    findings = run(media_check_unavailable.RULE, facts)
    assert [(f.code, f.severity, f.file, f.detail) for f in findings] == [
        ("MEDIA_CHECK_UNAVAILABLE", Severity.WARNING, video.path, "北京市XX视频.mp4：视频探测超时"),
        ("MEDIA_CHECK_UNAVAILABLE", Severity.WARNING, None, "gone.mp4：视频文件不存在"),
    ]
    # The unit is not told: its video is not called unreadable either.
    assert run(video_unreadable.RULE, facts) == []


MEDIA_RULES = [
    photo_count,
    video_count,
    photo_too_large,
    photo_caption_missing,
    photo_unreadable,
    video_too_long,
    video_unreadable,
    media_check_unavailable,
]


@pytest.mark.parametrize("module", MEDIA_RULES, ids=lambda m: m.RULE.code)
def test_the_registry_lists_each_media_rule(module: Any) -> None:
    assert registry.rule_for(module.RULE.code) is module.RULE
    assert module.RULE in registry.CASE_RULES


def test_media_check_unavailable_never_reaches_the_unit() -> None:
    assert registry.rule_for("MEDIA_CHECK_UNAVAILABLE") is media_check_unavailable.RULE
    assert not notices.unit_facing("MEDIA_CHECK_UNAVAILABLE")


@pytest.mark.parametrize("error", [VideoError.TIMEOUT, VideoError.TOOL_MISSING])
def test_reading_notes_our_side_video_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: VideoError
) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    data = b"not probed"
    digest = blobs.put(data)
    stored = reading.StoredFile(1, "v.mp4", "x.zip/v.mp4", "video", digest, len(data))
    monkeypatch.setattr(
        reading, "probe_videos", lambda paths, workers=2: [VideoInfo(error=error) for _ in paths]
    )
    [read] = reading.read_cases([[stored]], blobs, CAMPAIGN)
    assert read.notes == [UncheckedVideo("v.mp4", error)]


@needs_ffmpeg
def test_reading_stores_a_poster_for_each_readable_video(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    good, bad = tmp_path / "good.mp4", tmp_path / "bad.mp4"
    make_mp4(good, 10)
    bad.write_bytes(b"\x00\x01not a video" * 300)
    stored = [
        reading.StoredFile(i, p.name, f"x.zip/{p.name}", "video", blobs.put(p.read_bytes()), 1)
        for i, p in enumerate([good, bad], 1)
    ]
    [read] = reading.read_cases([stored], blobs, CAMPAIGN)
    good_info, bad_info = (f.video for f in read.files)
    assert good_info is not None and good_info.poster_sha256 is not None
    assert blobs.get(good_info.poster_sha256).startswith(b"\xff\xd8\xff")
    # What the pipeline stores as `File.probe`, JSON as it is written.
    assert json.loads(json.dumps(dataclasses.asdict(good_info)))["poster_sha256"] == (
        good_info.poster_sha256
    )
    assert bad_info is not None and bad_info.poster_sha256 is None
    assert json.loads(json.dumps(dataclasses.asdict(bad_info)))["error"] == "unreadable"
