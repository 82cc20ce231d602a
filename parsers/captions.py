"""Photo captions: the caption a photo's file name carries, and those a caption file lists.

Units caption photos in the file name (`北京市XX照片（照片说明）.jpg`) or in a separate document
(照片说明.docx/.txt); both are read here from plain text, and matched to the photos by name or
position.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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
