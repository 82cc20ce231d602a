"""Files of a message → cases.

A case is a zip or folder holding one recommendation form.  Real mail packs them every way: one
zip per case, one big zip with a folder per case, loose attachments, a form in a sub-folder of
its case folder.  The grouping anchors each case on its Word form (or, failing that, its scan),
widens the anchor to the enclosing folder while that folder holds no other form, and gives every
other file to the nearest case folder above it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from parsers.model import CaseFile, CaseGroup, ExtractedFile, Grouping, Role
from parsers.sniff import sniff_type

WORD_EXT = {".doc", ".docx", ".wps", ".docm", ".dot", ".dotx", ".wpt", ".rtf"}
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_EXT = {
    ".mp4",
    ".mov",
    ".avi",
    ".wmv",
    ".mkv",
    ".flv",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".3gp",
    ".webm",
    ".ts",
    ".vob",
    ".rmvb",
    ".rm",
}
SHEET_EXT = {".xls", ".xlsx", ".et", ".csv"}
TEXT_EXT = {".txt"}

_LIST = re.compile(r"名单|推荐顺序|汇总表|清单")
_FORM = re.compile(r"推荐表|申报表|申请表")
_SCAN = re.compile(r"推荐表|申报表|扫描|盖章|签章|公章")
_CAPTION = re.compile(r"说明|图注|注释")
_NOT_SCAN_PDF = re.compile(r"证明|附件|报告|方案|简介|介绍")
ROOT_KEY = "（邮件附件）"


def file_role(name: str, data: bytes) -> tuple[Role, str]:
    """The role a file plays, and its content type (by content where the bytes tell)."""
    ext = PurePosixPath(name.lower()).suffix
    ctype = sniff_type(data, name)
    if _LIST.search(name) and (ext in WORD_EXT | SHEET_EXT | IMAGE_EXT | {".pdf"}):
        return "list", ctype
    if ctype.startswith("video/") or (ext in VIDEO_EXT and not ctype.startswith("image/")):
        return "video", ctype
    if ext in WORD_EXT or ctype in (
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ):
        if _CAPTION.search(name) and not _FORM.search(name):
            return "caption", ctype
        return "form_word", ctype
    if ctype == "application/pdf" or ext == ".pdf":
        if _CAPTION.search(name) and not _SCAN.search(name):
            return "caption", ctype
        if _NOT_SCAN_PDF.search(name) and not _SCAN.search(name):
            return "other", ctype
        return "form_scan", ctype
    if ctype.startswith("image/") or ext in IMAGE_EXT:
        return ("form_scan" if _SCAN.search(name) else "photo"), ctype
    if ext in TEXT_EXT and _CAPTION.search(name):
        return "caption", ctype
    return "other", ctype


def group_files(files: Iterable[ExtractedFile]) -> Grouping:
    typed = []
    for extracted in files:
        role, ctype = file_role(extracted.name, extracted.data)
        typed.append(CaseFile(extracted.path, role, extracted.data, ctype))

    roots: list[tuple[str, ...]] = []
    _anchor(roots, [f for f in typed if f.role == "form_word"])
    _anchor(roots, [f for f in typed if f.role == "form_scan" and not _under_any(f.path, roots)])
    for f in typed:
        if f.role in ("photo", "video", "caption") and not _under_any(f.path, roots):
            root = _orphan_root(f.path, roots)
            if root is not None and root not in roots:
                roots.append(root)
    # Loose photos with no form at all are still a case: its missing form is the finding.
    if not roots and any(f.role in ("photo", "video") for f in typed):
        roots.append(())

    cases = {root: CaseGroup(_key(root), _name_hint(root, typed), []) for root in roots}
    grouping = Grouping(cases=list(cases.values()))
    for f in typed:
        owner = _owner(f.path, roots)
        if f.role == "list" or owner is None:
            if owner is None and len(roots) == 1 and f.role != "list":
                cases[roots[0]].files.append(f)
            else:
                grouping.unit_files.append(f)
        else:
            cases[owner].files.append(f)
    return grouping


def _under(path: tuple[str, ...], root: tuple[str, ...]) -> bool:
    return len(path) > len(root) and path[: len(root)] == root


def _under_any(path: tuple[str, ...], roots: list[tuple[str, ...]]) -> bool:
    return any(_under(path, r) for r in roots)


def _owner(path: tuple[str, ...], roots: list[tuple[str, ...]]) -> tuple[str, ...] | None:
    inside = [r for r in roots if _under(path, r)]
    return max(inside, key=len) if inside else None


def _anchor(roots: list[tuple[str, ...]], forms: list[CaseFile]) -> None:
    paths = [f.path for f in forms]
    for path in paths:
        root = path[:-1]
        # Widen to the enclosing folder while it holds no other form: a form kept in a
        # "推荐表/" sub-folder still belongs with the photos beside that sub-folder.
        while (
            len(root) > 1
            and sum(_under(p, root[:-1]) for p in paths) == 1
            and not any(_under(r, root[:-1]) for r in roots)
        ):
            root = root[:-1]
        if root not in roots:
            roots.append(root)


def _orphan_root(path: tuple[str, ...], roots: list[tuple[str, ...]]) -> tuple[str, ...] | None:
    """For media outside any form's folder: the widest folder that holds no other case."""
    for depth in range(1, len(path)):
        prefix = path[:depth]
        if not any(_under(r, prefix) or r == prefix or _under(prefix, r) for r in roots):
            return prefix
    return None


def _key(root: tuple[str, ...]) -> str:
    return "/".join(root) if root else ROOT_KEY


def _name_hint(root: tuple[str, ...], typed: list[CaseFile]) -> str:
    if root:
        return _strip_archive_ext(root[-1])
    forms = [f for f in typed if f.role == "form_word" and len(f.path) == 1]
    return PurePosixPath(forms[0].name).stem if forms else ""


def _strip_archive_ext(name: str) -> str:
    return re.sub(r"\.(zip|rar|7z)$", "", name, flags=re.IGNORECASE)
