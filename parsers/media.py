"""Photos and videos: what they are, whether they open, how long they run, what they show.

Everything here takes hostile input (any file a unit attached) and never raises: a problem comes
back as a short Chinese sentence in `PhotoInfo.error` / `VideoInfo.error`, fit for a notice.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import subprocess
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, UnidentifiedImageError

from parsers.model import PhotoInfo, VideoInfo

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Photos

ERR_PHOTO_EMPTY = "图片文件为空"
ERR_PHOTO_TRUNCATED = "图片文件不完整（截断）"
ERR_PHOTO_CORRUPT = "图片文件已损坏，无法读取"
ERR_PHOTO_UNREADABLE = "不是可读取的图片"
ERR_PHOTO_BOMB = "图片像素过大，疑似解压炸弹"

ACCEPTED_PHOTO_FORMATS = ("JPEG", "PNG")

# Formats units really send instead of JPG/PNG (iPhone HEIC above all), recognised by their
# magic so the notice can say what the file is rather than "unreadable".
_FTYP_BRANDS = {
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"hevc": "HEIC",
    b"hevx": "HEIC",
    b"heim": "HEIC",
    b"heis": "HEIC",
    b"mif1": "HEIC",
    b"msf1": "HEIC",
    b"avif": "AVIF",
    b"avis": "AVIF",
}

# Image.open's bomb check reports through the process-global warnings filter, and
# warnings.catch_warnings is not thread-safe before Python 3.14: serialise just that header step.
_OPEN_LOCK = threading.Lock()


def _sniff_image(data: bytes) -> str | None:
    """Name the format from the file's first bytes; None if it is none we know."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12], "MP4/MOV 视频")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if data.startswith(b"%PDF"):
        return "PDF"
    if data.startswith(b"8BPS"):
        return "PSD"
    return None


def probe_photo(data: bytes, max_pixels: int = 50_000_000) -> PhotoInfo:
    """Fully decode a photo; only JPEG and PNG pass.

    The effective pixel cap is the lower of `max_pixels` and Pillow's `Image.MAX_IMAGE_PIXELS`
    (whose warning is turned into a refusal here). Never raises.
    """
    if not data:
        return PhotoInfo(error=ERR_PHOTO_EMPTY)
    sniffed = _sniff_image(data)
    if sniffed is None:
        return PhotoInfo(error=ERR_PHOTO_UNREADABLE)
    if sniffed not in ACCEPTED_PHOTO_FORMATS:
        return PhotoInfo(format=sniffed, error=f"格式为 {sniffed}，仅接受 JPG/PNG")

    # verify() passes a truncated JPEG and LOAD_TRUNCATED_IMAGES=True would let load() pass it
    # too (grey-filled); another module may have flipped it, so pin the strict default.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # formats= keeps Pillow's other plugins (FITS, EPS, …) away from untrusted bytes.
            im = Image.open(io.BytesIO(data), formats=ACCEPTED_PHOTO_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return PhotoInfo(format=sniffed, error=ERR_PHOTO_BOMB)
    except UnidentifiedImageError:
        return PhotoInfo(format=sniffed, error=ERR_PHOTO_UNREADABLE)
    except Exception as exc:  # any parser failure on hostile bytes is "unreadable"
        log.debug("photo header failed: %r", exc)
        return PhotoInfo(format=sniffed, error=ERR_PHOTO_CORRUPT)

    with im:
        width, height = im.size
        # Checked on the header, before load() allocates width × height pixels.
        if width * height > max_pixels:
            return PhotoInfo(sniffed, width, height, ERR_PHOTO_BOMB)
        try:
            im.load()
        except Exception as exc:
            log.debug("photo decode failed: %r", exc)
            text = str(exc).lower()
            error = ERR_PHOTO_TRUNCATED if "truncated" in text else ERR_PHOTO_CORRUPT
            return PhotoInfo(sniffed, width, height, error)
    return PhotoInfo(sniffed, width, height)


# ---------------------------------------------------------------------------------------------
# Videos

ERR_VIDEO_UNREADABLE = "无法识别的视频文件"
ERR_VIDEO_NO_PICTURE = "文件中没有视频画面（可能只有声音）"
ERR_VIDEO_IMAGE = "这是一张图片，不是视频"
ERR_VIDEO_GIF = "这是 GIF 动图，不是视频"
ERR_VIDEO_NO_DURATION = "无法读取视频时长"
# Our side, not the unit's: rules must not blame the unit for these (staff see them as
# MEDIA_CHECK_UNAVAILABLE).  A timeout means a busy host far more often than a bad file.
ERR_VIDEO_TIMEOUT = "视频探测超时"
ERR_VIDEO_TOOL_MISSING = "服务器缺少 ffprobe，无法检查视频"
ERR_VIDEO_MISSING_FILE = "视频文件不存在"
INTERNAL_VIDEO_ERRORS = frozenset(
    {ERR_VIDEO_TIMEOUT, ERR_VIDEO_TOOL_MISSING, ERR_VIDEO_MISSING_FILE}
)

FFPROBE = "ffprobe"


def _ffprobe_argv(path: Path) -> list[str]:
    # Plain argv rather than ffmpeg-python: ffmpeg.probe() has no timeout (and its `timeout=`
    # kwarg silently becomes ffprobe's network `-timeout` option), and nothing else is needed
    # from the library. "file:" + an absolute path keeps a name like "-x.mp4" or "concat:…" from
    # being read as an option or protocol; the whitelist stops a playlist inside from fetching URLs.
    return [
        FFPROBE,
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "file:" + os.path.abspath(path),
    ]


def _positive_float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def parse_ffprobe(report: dict[str, Any]) -> VideoInfo:
    """Turn ffprobe's JSON (`-show_format -show_streams`) into a VideoInfo."""
    fmt = report.get("format") or {}
    streams = [s for s in report.get("streams") or [] if isinstance(s, dict)]
    container = fmt.get("format_name") or None

    def is_picture(s: dict[str, Any]) -> bool:
        # An mp3's cover art is a one-frame "video" stream flagged attached_pic.
        return s.get("codec_type") == "video" and not (s.get("disposition") or {}).get(
            "attached_pic"
        )

    video = next((s for s in streams if is_picture(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _positive_float(fmt.get("duration"))
    if duration is None:
        durations = [d for s in streams if (d := _positive_float(s.get("duration"))) is not None]
        duration = max(durations, default=None)

    info = VideoInfo(
        duration_s=duration,
        container=container,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        width=_positive_int(video.get("width")) if video else None,
        height=_positive_int(video.get("height")) if video else None,
    )
    error: str | None = None
    if video is None:
        error = ERR_VIDEO_NO_PICTURE
    elif container and (container == "image2" or container.endswith("_pipe")):
        error = ERR_VIDEO_IMAGE
    elif container == "gif":
        error = ERR_VIDEO_GIF
    elif duration is None:
        error = ERR_VIDEO_NO_DURATION
    return info if error is None else replace(info, error=error)


def probe_video(path: Path, timeout: float = 30) -> VideoInfo:
    """Run ffprobe on one file, killing it after `timeout` seconds. Never raises."""
    if not os.path.exists(path):
        return VideoInfo(error=ERR_VIDEO_MISSING_FILE)
    try:
        proc = subprocess.run(
            _ffprobe_argv(path),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return VideoInfo(error=ERR_VIDEO_TIMEOUT)
    except FileNotFoundError:
        return VideoInfo(error=ERR_VIDEO_TOOL_MISSING)
    except OSError as exc:
        log.warning("ffprobe could not start: %r", exc)
        return VideoInfo(error=ERR_VIDEO_TOOL_MISSING)
    if proc.returncode != 0:
        log.debug("ffprobe %s: %s", path, proc.stderr.decode("utf-8", "replace").strip())
        return VideoInfo(error=ERR_VIDEO_UNREADABLE)
    try:
        report = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError:
        return VideoInfo(error=ERR_VIDEO_UNREADABLE)
    if not isinstance(report, dict):
        return VideoInfo(error=ERR_VIDEO_UNREADABLE)
    return parse_ffprobe(report)


def probe_videos(paths: Iterable[Path], timeout: float = 30, workers: int = 2) -> list[VideoInfo]:
    """probe_video over many files, in input order; threads suffice, the work is a subprocess."""
    path_list = list(paths)
    if len(path_list) <= 1 or workers <= 1:
        return [probe_video(p, timeout) for p in path_list]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ffprobe") as pool:
        return list(pool.map(lambda p: probe_video(p, timeout), path_list))


# ---------------------------------------------------------------------------------------------
# Captions

_OPENERS = "（(【[〔［"
_CLOSERS = "）)】]〕］"
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}

# What Windows, WeChat and people append to a name, never a caption: (1) （2） (副本) - 副本 _3.
_NUMBERING = re.compile(
    r"^(?:第?\d{1,3}张?|[一二三四五六七八九十]{1,3}|副本\s*\d*|拷贝\s*\d*|copy\s*\d*|\d+\s*of\s*\d+)$",
    re.IGNORECASE,
)
_TRAILING_NUMBERING = re.compile(
    r"(?:[\s_\-－—–]*(?:副本|拷贝|copy)\s*\d*|[\s_\-－—–]+\d{1,3}|(?<=[)）】\]〕］])\d{1,3})$",
    re.IGNORECASE,
)
# "北京市XX照片-说明文字": a caption after a separator that follows the word 照片/图片/相片.
_DASH_CAPTION = re.compile(r".*(?:照片|图片|相片)\d{0,3}\s*[-－—–_:：]+\s*(?P<cap>.+)$")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _is_numbering(text: str) -> bool:
    norm = unicodedata.normalize("NFKC", text).strip()
    # Nothing but digits and punctuation ("1-2", "03.") numbers a file, it does not describe it.
    return not norm or bool(_NUMBERING.match(norm)) or not any(ch.isalpha() for ch in norm)


def _base_stem(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _EXTENSION.sub("", base)


def caption_from_name(name: str) -> str | None:
    """The caption a photo's file name carries, or None.

    `北京市XX照片（照片说明）.jpg` → `照片说明`: the last bracket group (（）, (), 【】, [], 〔〕, mixed
    widths, nesting allowed) that ends the name, once trailing numbering such as `(1)`, `（2）`,
    `(副本)`, ` - 副本` or `_3` is dropped. A group elsewhere (`北京市（朝阳区）XX照片.jpg`) is part
    of the case name, not a caption. Without brackets, text after a dash or colon that follows
    照片/图片/相片 counts too (`北京市XX照片-说明文字.jpg` → `说明文字`); a space alone does not.
    """
    stem = _base_stem(name).strip()
    while stem:
        trailing = _TRAILING_NUMBERING.search(stem)
        if trailing and trailing.start() > 0:
            stem = stem[: trailing.start()].rstrip()
            continue
        if stem[-1] not in _CLOSERS:
            break
        start = _matching_opener(stem)
        if start is None:
            break
        inner = stem[start + 1 : -1].strip()
        if not _is_numbering(inner):
            return inner
        stem = stem[:start].rstrip()
    m = _DASH_CAPTION.match(stem)
    if m and not _is_numbering(m.group("cap")):
        return m.group("cap").strip()
    return None


def _matching_opener(text: str) -> int | None:
    """Index of the bracket that opens the group closed by text's last character."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] in _CLOSERS:
            depth += 1
        elif text[i] in _OPENERS:
            depth -= 1
            if depth == 0:
                return i
    return None


_IMAGE_EXT = r"\.(?:jpe?g|png|gif|heic|heif|bmp|webp|tiff?)"
_SEP = r"\s*(?:[:：.．、\-—–)）]|\s)\s*"
_INDEX = r"(?P<idx>\d{1,3}|[一二三四五六七八九十]{1,3}|[①-⑳])"
_ITEM_LINES = [
    # 北京市XX照片1.jpg：说明
    re.compile(rf"^(?P<ref>.+?{_IMAGE_EXT})\s*(?:[:：\-—–、]|\s)\s*(?P<cap>.+)$", re.IGNORECASE),
    # 照片1：说明 / 图1 说明 / 图片一、说明 / 第1张：说明 / 第2张照片 说明
    re.compile(rf"^第?\s*(?:照片|图片|相片|图)\s*{_INDEX}\s*张?{_SEP}(?P<cap>.+)$"),
    re.compile(rf"^第\s*{_INDEX}\s*张(?:照片|图片|相片)?{_SEP}(?P<cap>.+)$"),
    # 1. 说明 / 1、说明 / (1) 说明 / ①说明; not "1.5吨" (a decimal) nor 一、 (a section heading)
    re.compile(r"^[(（]?\s*(?P<idx>\d{1,3})(?![.．]\d)\s*(?:[.．、:：)）]|\s)\s*(?P<cap>.+)$"),
    re.compile(r"^(?P<idx>[①-⑳])\s*(?P<cap>.+)$"),
    # 北京市XX照片1：说明 (a name without its extension)
    re.compile(r"^(?P<ref>\S*(?:照片|图片|相片)\S*?)\s*[:：]\s*(?P<cap>.+)$"),
]
_BULLET = re.compile(r"^[\s•·●○◆▪\-*]+")
_CAPTION_TRIM = ' \t；;，,“”"「」『』'


def _index_value(token: str) -> int | None:
    # isdecimal, not isdigit: "⑦".isdigit() is True but int("⑦") fails.
    if token.isdecimal():
        return int(token) or None
    if "①" <= token <= "⑳":
        return ord(token) - ord("①") + 1
    # 一 … 九十九, enough for a photo list.
    tens_text, ten, ones_text = token.partition("十")
    try:
        if not ten:
            return _CN_DIGITS[token] or None
        tens = _CN_DIGITS[tens_text] if tens_text else 1
        ones = _CN_DIGITS[ones_text] if ones_text else 0
    except KeyError:
        return None
    return tens * 10 + ones or None


def captions_from_document(text: str) -> dict[str, str]:
    """Captions in a caption file (照片说明.docx/.txt), keyed by photo reference.

    A key is either a 1-based index as a string ("1" from `1. 说明`, `照片1：说明`, `图一 说明`,
    `①说明`) or a file-name stem (`xxx.jpg：说明` → "xxx"). One line (one Word paragraph) holds one
    caption; lines before the first item (titles) are skipped, and the list ends at a heading
    that talks about 视频, so a video list below does not overwrite photo 1. First entry wins.
    """
    captions: dict[str, str] = {}
    for raw_line in text.replace("\ufeff", "").splitlines():
        line = _BULLET.sub("", raw_line).strip()
        if not line:
            continue
        item = _match_item(line)
        if item is None:
            if captions and "视频" in line:
                break
            continue
        key, caption = item
        captions.setdefault(key, caption)
    return captions


def _match_item(line: str) -> tuple[str, str] | None:
    for pattern in _ITEM_LINES:
        m = pattern.match(line)
        if not m:
            continue
        caption = m.group("cap").strip(_CAPTION_TRIM)
        if not caption:
            continue
        groups = m.groupdict()
        if groups.get("ref"):
            ref = _base_stem(groups["ref"].strip())
            if ref in ("照片说明", "图片说明", "照片", "图片"):
                continue
            return ref, caption
        index = _index_value(groups["idx"])
        if index:
            return str(index), caption
    return None


def _natural_key(name: str) -> list[tuple[int, int | str]]:
    # "照片10" after "照片9", as a person numbering files expects.
    parts = re.split(r"(\d+)", _normalize_ref(name))
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts if p]


def _normalize_ref(ref: str) -> str:
    return unicodedata.normalize("NFKC", ref).strip().casefold()


def match_captions(photo_names: Sequence[str], captions: dict[str, str]) -> dict[str, str]:
    """Give each photo its caption from a caption document, by name → caption.

    A photo matches by its file-name stem (or full name), else by its 1-based position among the
    photos sorted by name (natural order: 照片2 before 照片10). Photos with no match are absent.
    """
    by_ref: dict[str, str] = {}
    for ref, text in captions.items():
        by_ref.setdefault(_normalize_ref(ref), text)
    matched: dict[str, str] = {}
    ordered = sorted(photo_names, key=_natural_key)
    for position, name in enumerate(ordered, start=1):
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        found = (
            by_ref.get(_normalize_ref(_base_stem(base)))
            or by_ref.get(_normalize_ref(base))
            or by_ref.get(str(position))
        )
        if found:
            matched[name] = found
    return matched
