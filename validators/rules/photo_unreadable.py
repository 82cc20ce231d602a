"""PHOTO_UNREADABLE: a photo that does not open, is cut off, or is not a JPG/PNG."""

from __future__ import annotations

from collections.abc import Iterator

from parsers.model import PhotoError, PhotoInfo
from parsers.sniff import VIDEO_AS_PHOTO
from validators.base import Audience, Hit, Level, Rule, Severity
from validators.facts import CaseFacts

_SENTENCES = {
    PhotoError.EMPTY: "图片文件为空",
    PhotoError.TRUNCATED: "图片文件不完整（截断）",
    PhotoError.CORRUPT: "图片文件已损坏，无法读取",
    PhotoError.UNREADABLE: "不是可读取的图片",
    PhotoError.BOMB: "图片像素过大，疑似解压炸弹",
}
# A format name as the unit reads it (a clip sent as a photo is called a video).
_FORMAT_WORDS = {VIDEO_AS_PHOTO: "MP4/MOV 视频"}


def detail_for(photo: PhotoInfo) -> str | None:
    """What is wrong with the photo, in the notice's words; None when nothing is."""
    if photo.error is None:
        return None
    if photo.error is PhotoError.WRONG_FORMAT:
        fmt = photo.format or ""
        return f"格式为 {_FORMAT_WORDS.get(fmt, fmt)}，仅接受 JPG/PNG"
    return _SENTENCES[photo.error]


def _check(c: CaseFacts) -> Iterator[Hit]:
    for f in c.by_role("photo"):
        problem = detail_for(f.photo) if f.photo is not None else None
        if problem:
            yield Hit(f"{f.name}：{problem}", f.path)


RULE = Rule[CaseFacts](
    code="PHOTO_UNREADABLE",
    severity=Severity.ERROR,
    audience=Audience.UNIT,
    level=Level.CASE,
    reason="照片无法打开，或不是 JPG/PNG 格式",
    fix="请提供能正常打开的 JPG 或 PNG 格式照片（手机 HEIC 照片请先转为 JPG）",
    check=_check,
)
