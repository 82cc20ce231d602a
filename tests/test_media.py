"""Photos, videos and captions on real files: Pillow decodes, ffprobe and ffmpeg runs, caption text."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import threading
import time
import warnings
from pathlib import Path

import pytest
from PIL import Image, ImageFile

import programs.ffmpeg
from intake.videos import probe_video, probe_videos
from parsers.captions import caption_from_name, captions_from_document, match_captions
from parsers.model import PhotoError, PhotoInfo, VideoError
from parsers.photos import probe_photo
from parsers.videos import parse_ffprobe
from programs import ffprobe
from programs.ffmpeg import poster_frame
from samples.photos import (
    bomb_png,
    heic_header,
    make_gif,
    make_jpeg,
    make_png,
    truncated_jpeg,
)
from samples.videos import make_audio_only, make_mp4
from validators.rules import media_check_unavailable, photo_unreadable, video_unreadable

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="ffmpeg/ffprobe not installed",
)

# ---------------------------------------------------------------------------------------------
# Photos


def test_good_jpeg_and_png_decode_with_their_size() -> None:
    assert probe_photo(make_jpeg(640, 480)) == PhotoInfo("JPEG", 640, 480, None)
    assert probe_photo(make_png(320, 200)) == PhotoInfo("PNG", 320, 200, None)


def test_padded_builders_hit_the_exact_size_and_still_decode() -> None:
    big = make_jpeg(size_bytes=5 * 1024 * 1024 + 1)
    assert len(big) == 5 * 1024 * 1024 + 1
    assert probe_photo(big).error is None
    png = make_png(size_bytes=300_000)
    assert len(png) == 300_000
    assert probe_photo(png).error is None


def test_truncated_jpeg_is_caught_although_verify_passes_it() -> None:
    data = truncated_jpeg()
    with Image.open(io.BytesIO(data)) as im:
        im.verify()  # the trap: no complaint here
    info = probe_photo(data)
    assert photo_unreadable.detail_for(info) == "图片文件不完整（截断）"
    assert info.format == "JPEG"


def test_truncated_jpeg_is_caught_even_if_someone_enabled_truncated_loading() -> None:
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        assert (
            photo_unreadable.detail_for(probe_photo(truncated_jpeg())) == "图片文件不完整（截断）"
        )
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def test_huge_declared_png_is_refused_quickly_without_decoding() -> None:
    data = bomb_png(20000, 20000)
    assert len(data) < 1_000_000
    start = time.perf_counter()
    info = probe_photo(data)
    assert photo_unreadable.detail_for(info) == "图片像素过大，疑似解压炸弹"
    assert time.perf_counter() - start < 0.5


def test_pillow_bomb_warning_becomes_a_refusal_and_filters_are_restored() -> None:
    before = list(warnings.filters)
    # 100 M pixels: above Pillow's warning threshold (~89 M), below its own error (~179 M);
    # a generous local cap leaves only the warning to stop it.
    info = probe_photo(bomb_png(10000, 10000), max_pixels=10**9)
    assert photo_unreadable.detail_for(info) == "图片像素过大，疑似解压炸弹"
    assert warnings.filters == before


def test_local_pixel_cap_applies_below_pillows_threshold() -> None:
    assert (
        photo_unreadable.detail_for(probe_photo(bomb_png(8000, 7000)))
        == "图片像素过大，疑似解压炸弹"
    )
    small = make_jpeg(640, 480)
    assert (
        photo_unreadable.detail_for(probe_photo(small, max_pixels=100_000))
        == "图片像素过大，疑似解压炸弹"
    )
    assert probe_photo(small, max_pixels=640 * 480).error is None


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(make_gif(), "GIF"), (heic_header(), "HEIC")],
    ids=["gif", "heic"],
)
def test_other_image_formats_are_named_and_rejected(data: bytes, fmt: str) -> None:
    info = probe_photo(data)
    assert info.format == fmt
    assert photo_unreadable.detail_for(info) == f"格式为 {fmt}，仅接受 JPG/PNG"


@pytest.mark.parametrize(
    ("head", "fmt", "words"),
    [
        (b"BM" + b"\x00" * 60, "BMP", "BMP"),  # no extension needed for a photo
        (b"8BPS\x00\x01" + b"\x00" * 60, "PSD", "PSD"),
        (b"\x00\x00\x00\x18ftypheis" + b"\x00" * 60, "HEIC", "HEIC"),
        (b"\x00\x00\x00\x18ftypmif1" + b"\x00" * 60, "HEIC", "HEIC"),
        (b"\x00\x00\x00\x18ftypavif" + b"\x00" * 60, "AVIF", "AVIF"),
        (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 60, "MP4/MOV", "MP4/MOV 视频"),
        (b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 60, "MP4/MOV", "MP4/MOV 视频"),
    ],
    ids=["bmp", "psd", "heis", "mif1", "avif", "mp4", "mov"],
)
def test_formats_named_by_their_magic(head: bytes, fmt: str, words: str) -> None:
    info = probe_photo(head)
    assert (info.format, info.error) == (fmt, PhotoError.WRONG_FORMAT)
    assert photo_unreadable.detail_for(info) == f"格式为 {words}，仅接受 JPG/PNG"


def test_real_webp_is_rejected_though_pillow_could_read_it() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(buf, "WEBP")
    assert photo_unreadable.detail_for(probe_photo(buf.getvalue())) == "格式为 WEBP，仅接受 JPG/PNG"


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not a picture at all", os.urandom(4096), b"PK\x03\x04" + b"\x00" * 100],
    ids=["empty", "text", "noise", "zip"],
)
def test_garbage_is_not_a_photo(data: bytes) -> None:
    info = probe_photo(data)
    assert photo_unreadable.detail_for(info) in ("不是可读取的图片", "图片文件为空")
    assert info.width is None


def test_jpeg_magic_with_garbage_after_is_unreadable_not_a_crash() -> None:
    info = probe_photo(b"\xff\xd8\xff\xe0" + os.urandom(2000))
    assert info.error is not None
    assert info.format == "JPEG"


def test_corrupt_png_crc_is_reported() -> None:
    data = bytearray(make_png(64, 64))
    data[-20] ^= 0xFF  # inside the last IDAT chunk
    assert probe_photo(bytes(data)).error is not None


# ---------------------------------------------------------------------------------------------
# Videos


@needs_ffmpeg
def test_ten_second_mp4_probes(tmp_path: Path) -> None:
    path = tmp_path / "北京市XX视频.mp4"
    make_mp4(path, 10)
    info = probe_video(path)
    assert info.error is None
    assert info.duration_s == pytest.approx(10, abs=0.2)
    assert info.container is not None and "mp4" in info.container
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (320, 240)


@needs_ffmpeg
def test_long_mp4_reports_its_duration(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    make_mp4(path, 200)
    assert probe_video(path).duration_s == pytest.approx(200, abs=0.2)


@needs_ffmpeg
def test_name_that_looks_like_an_option_or_protocol_is_still_a_file(tmp_path: Path) -> None:
    path = tmp_path / "-concat:x.mp4"
    make_mp4(path, 10)
    assert probe_video(path).error is None


@needs_ffmpeg
@pytest.mark.parametrize(
    "data", [os.urandom(5000), b"", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500], ids=str
)
def test_garbage_mp4_is_unreadable(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "视频.mp4"
    path.write_bytes(data)
    info = probe_video(path)
    assert video_unreadable.detail_for(info.error) == "无法识别的视频文件"
    assert info.duration_s is None


@needs_ffmpeg
def test_audio_only_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "视频.mp4"
    make_audio_only(path, 3)
    info = probe_video(path)
    assert video_unreadable.detail_for(info.error) == "文件中没有视频画面（可能只有声音）"
    assert info.audio_codec == "aac"
    assert info.video_codec is None


@needs_ffmpeg
def test_cover_art_does_not_count_as_a_picture(tmp_path: Path) -> None:
    path = tmp_path / "视频.mp3"
    make_audio_only(path, 3, cover_art=True)
    assert (
        video_unreadable.detail_for(probe_video(path).error) == "文件中没有视频画面（可能只有声音）"
    )


@needs_ffmpeg
def test_still_image_and_gif_are_not_videos(tmp_path: Path) -> None:
    jpg = tmp_path / "a.mp4"
    jpg.write_bytes(make_jpeg(64, 48))
    gif = tmp_path / "b.mp4"
    gif.write_bytes(make_gif())
    assert video_unreadable.detail_for(probe_video(jpg).error) == "这是一张图片，不是视频"
    assert video_unreadable.detail_for(probe_video(gif).error) == "这是 GIF 动图，不是视频"


@needs_ffmpeg
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a fifo")
def test_timeout_kills_a_probe_that_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "blocks.mp4"
    os.mkfifo(fifo)  # ffprobe's open() waits forever for a writer

    def unblock() -> None:
        # If the timeout were ignored, a writer that opens and closes lets ffprobe finish, so
        # the test fails instead of hanging.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    rescue = threading.Timer(5, unblock)
    rescue.start()
    try:
        start = time.perf_counter()
        info = probe_video(fifo, timeout=0.5)
    finally:
        rescue.cancel()
    assert media_check_unavailable.detail_for(info.error) == "视频探测超时"
    assert time.perf_counter() - start < 4


@needs_ffmpeg
def test_tiny_timeout_is_honoured_on_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    make_mp4(path, 10)
    assert (
        media_check_unavailable.detail_for(probe_video(path, timeout=0.001).error) == "视频探测超时"
    )


def test_missing_ffprobe_is_our_problem_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(b"x")
    monkeypatch.setattr(ffprobe, "FFPROBE", str(tmp_path / "no-such-ffprobe"))
    info = probe_video(path)
    assert info.error is VideoError.TOOL_MISSING
    assert info.error.ours


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    assert probe_video(tmp_path / "gone.mp4").error is VideoError.MISSING_FILE


@needs_ffmpeg
def test_batch_probe_keeps_input_order(tmp_path: Path) -> None:
    paths = []
    for i, seconds in enumerate([10, 200, 10]):
        p = tmp_path / f"{i}.mp4"
        make_mp4(p, seconds)
        paths.append(p)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"nope")
    infos = probe_videos([*paths, bad], timeout=30, workers=2)
    assert [round(i.duration_s or 0) for i in infos] == [10, 200, 10, 0]
    assert video_unreadable.detail_for(infos[3].error) == "无法识别的视频文件"


def test_parse_ffprobe_falls_back_to_the_longest_stream() -> None:
    report = {
        "format": {"format_name": "matroska,webm"},
        "streams": [
            {
                "codec_type": "video",
                "codec_name": "vp9",
                "width": 640,
                "height": 360,
                "duration": "61.5",
            },
            {"codec_type": "audio", "codec_name": "opus", "duration": "62.0"},
        ],
    }
    info = parse_ffprobe(report)
    assert info.duration_s == 62.0
    assert (info.video_codec, info.audio_codec, info.width) == ("vp9", "opus", 640)
    assert info.error is None


def test_parse_ffprobe_without_any_duration_is_an_error() -> None:
    report = {"format": {"format_name": "h264"}, "streams": [{"codec_type": "video"}]}
    assert video_unreadable.detail_for(parse_ffprobe(report).error) == "无法读取视频时长"


# ---------------------------------------------------------------------------------------------
# Poster frames (ffmpeg)


@needs_ffmpeg
def test_poster_frame_is_a_480_pixel_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "-concat:北京市XX视频.mp4"  # a name that looks like an option or protocol
    make_mp4(path, 10)
    poster = poster_frame(path, timeout=30)
    assert poster is not None and poster.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(poster)) as im:
        assert (im.format, im.size) == ("JPEG", (480, 360))


@needs_ffmpeg
@pytest.mark.parametrize(
    "data",
    [
        os.urandom(5000),
        b"",
        b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500,
        # A live playlist named .mp4: the file-only whitelist keeps ffmpeg from fetching it.
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:9/a.ts\n",
    ],
    ids=["noise", "empty", "bare-ftyp", "playlist"],
)
def test_unreadable_or_hostile_video_has_no_poster(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "视频.mp4"
    path.write_bytes(data)
    assert poster_frame(path, timeout=10) is None


@needs_ffmpeg
def test_audio_only_file_has_no_poster(tmp_path: Path) -> None:
    path = tmp_path / "视频.mp4"
    make_audio_only(path, 3)
    assert poster_frame(path, timeout=10) is None


@needs_ffmpeg
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a fifo")
def test_poster_of_a_file_that_blocks_times_out(tmp_path: Path) -> None:
    fifo = tmp_path / "blocks.mp4"
    os.mkfifo(fifo)
    rescue = threading.Timer(5, lambda: os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)))
    rescue.start()
    try:
        start = time.perf_counter()
        assert poster_frame(fifo, timeout=0.5) is None
    finally:
        rescue.cancel()
    assert time.perf_counter() - start < 4


def test_missing_ffmpeg_means_no_poster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(b"x")
    monkeypatch.setattr(programs.ffmpeg, "FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    assert poster_frame(path, timeout=10) is None


# ---------------------------------------------------------------------------------------------
# Captions in file names


@pytest.mark.parametrize(
    ("name", "caption"),
    [
        ("北京市XX照片（照片说明）.jpg", "照片说明"),
        ("北京市XX照片(社区居民分类投放).JPG", "社区居民分类投放"),
        ("北京市XX照片【光伏屋顶全景】.png", "光伏屋顶全景"),
        ("北京市XX照片（光伏屋顶全景).jpg", "光伏屋顶全景"),  # mixed widths
        ("北京市XX照片（志愿者（左二）讲解）.jpg", "志愿者（左二）讲解"),  # nested
        ("北京市XX照片（垃圾分类驿站）(1).jpg", "垃圾分类驿站"),  # Windows copy number after it
        ("北京市XX照片（垃圾分类驿站） - 副本.jpg", "垃圾分类驿站"),
        ("北京市XX照片（垃圾分类驿站）（２）.jpg", "垃圾分类驿站"),  # full-width digit
        ("北京市XX照片-垃圾分类驿站.jpg", "垃圾分类驿站"),
        ("北京市XX照片2：垃圾分类驿站.jpg", "垃圾分类驿站"),
        ("case/sub/北京市XX照片（驿站）.jpg", "驿站"),
        ("case\\sub\\北京市XX照片（驿站）.jpg", "驿站"),
    ],
)
def test_caption_from_name(name: str, caption: str) -> None:
    assert caption_from_name(name) == caption


@pytest.mark.parametrize(
    "name",
    [
        "北京市XX照片.jpg",
        "北京市XX照片(1).jpg",
        "北京市XX照片（2）.jpg",
        "北京市XX照片(副本).jpg",
        "北京市XX照片（一）.jpg",
        "北京市XX照片-1.jpg",
        "北京市XX照片_03.jpg",
        "北京市（朝阳区）XX照片.jpg",  # a bracket inside the case name, not at the end
        "北京市XX照片（）.jpg",
        "IMG_1234.JPG",
        "北京市XX照片（2023.10.05）.jpg",
    ],
)
def test_no_caption_in_name(name: str) -> None:
    assert caption_from_name(name) is None


# ---------------------------------------------------------------------------------------------
# Captions in a caption document


def test_captions_from_document_reads_the_usual_line_shapes() -> None:
    text = "\n".join(
        [
            "\ufeff照片说明",
            "",
            "1. 社区垃圾分类驿站外景",
            "2、居民在驿站投放厨余垃圾；",
            "照片3：志愿者开展宣传",
            "图4 光伏车棚",
            "图片五、低碳积分兑换现场",
            "（6）屋顶绿化",
            "⑦ 雨水花园",
            "北京市XX照片8.jpg：节能改造后的楼道",
            "北京市XX照片9：太阳能路灯",
            "本案例共 9 张照片，拍摄于 2023 年。",
        ]
    )
    assert captions_from_document(text) == {
        "1": "社区垃圾分类驿站外景",
        "2": "居民在驿站投放厨余垃圾",
        "3": "志愿者开展宣传",
        "4": "光伏车棚",
        "5": "低碳积分兑换现场",
        "6": "屋顶绿化",
        "7": "雨水花园",
        "北京市XX照片8": "节能改造后的楼道",
        "北京市XX照片9": "太阳能路灯",
    }


def test_caption_document_stops_at_the_video_list_and_ignores_decimals() -> None:
    text = "照片说明：\n1. 驿站外景\n2. 年减排1.5吨\n视频说明：\n1. 宣传片\n1.5吨二氧化碳"
    assert captions_from_document(text) == {"1": "驿站外景", "2": "年减排1.5吨"}


def test_match_captions_by_stem_then_natural_order() -> None:
    photos = ["北京市XX照片10.jpg", "北京市XX照片2.jpg", "北京市XX照片1.JPG", "北京市XX照片30.png"]
    captions = {"北京市xx照片1": "按名称", "2": "第二张", "3": "第三张", "4": "第四张"}
    # Natural order: 照片1, 照片2, 照片10, 照片30 → positions 1..4.
    assert match_captions(photos, captions) == {
        "北京市XX照片1.JPG": "按名称",
        "北京市XX照片2.jpg": "第二张",
        "北京市XX照片10.jpg": "第三张",
        "北京市XX照片30.png": "第四张",
    }


def test_match_captions_leaves_unmatched_photos_out() -> None:
    assert match_captions(["a.jpg", "b.jpg"], {"1": "只有一条"}) == {"a.jpg": "只有一条"}
    assert match_captions(["a.jpg"], {}) == {}
