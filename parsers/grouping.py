"""Files of a message → cases.

A case is a zip or folder holding one recommendation form.  Real mail packs them every way: one
zip per case, one big zip with a folder per case, loose attachments, a form in a sub-folder of
its case folder.  The grouping anchors each case on its Word form (or, failing that, its scan),
widens the anchor to the enclosing folder while that folder holds no other form, and gives every
other file to the nearest case folder above it.

Several cases can share one folder: loose attachments on the mail, or one zip with every case's
files side by side. A case root whose forms carry two or more different names (the stem before
推荐表/申报表/申请表: `北京市光伏园区推荐表.docx` → `北京市光伏园区`) is cut into one case per name;
Word forms decide, scans only when the root has no Word form. Every file of that root then goes
to the case whose name is the longest prefix of its file name (or, failing that, of one of its
folders inside the root, innermost first). A stamped scan named like a form that fits no Word
form's name is a case of its own (its Word form is missing: that is the finding). A file that
fits no name goes to the one case whose distinctive part (its name without the part all names
share, usually the unit) the file name contains, e.g. `光伏园区照片1.jpg`; a file that fits none
or several is not guessed: it stays with the unit (`Grouping.unit_files`) for staff, because a
photo or video counted in the wrong case would hide that case's own missing material. Two forms
with the same name (a `.doc` and a `.docx`, a form and its revision) are one case, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from campaign import Campaign
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
# Order numbers units put in front of names (`1.`, `01-`, `（一）`, `二、`): ignored when matching.
_NUMBERING = re.compile(
    r"^\s*(?:[\d０-９]+|[（(][\d０-９一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+(?=[、.．]))"
    r"[\s、.．_\-—－]*"
)
_PREFIX_TRAIL = " \t-_—－、.．:：（(【["


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
        role, ctype = file_role(extracted.name, extracted.payload.sample())
        typed.append(CaseFile(extracted.path, role, extracted.payload, ctype))

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

    owners = [_owner(f.path, roots) for f in typed]
    cases: dict[tuple[str, ...], CaseGroup] = {}
    splits: dict[tuple[str, ...], _Split] = {}
    for root in roots:
        split = _split(root, [f for f, o in zip(typed, owners, strict=True) if o == root])
        if split is None:
            cases[root] = CaseGroup(_key(root), _name_hint(root, typed), [])
        else:
            splits[root] = split
    used = {c.key for c in cases.values()}
    grouping = Grouping()
    for root in roots:
        if root in cases:
            grouping.cases.append(cases[root])
            continue
        for case in splits[root].cases:
            case.key = _unique(case.key, used)
            grouping.cases.append(case)
    for f, owner in zip(typed, owners, strict=True):
        if f.role == "list" or owner is None:
            if owner is None and len(roots) == 1 and f.role != "list":
                _place(f, roots[0], cases, splits, grouping)
            else:
                grouping.unit_files.append(f)
        else:
            _place(f, owner, cases, splits, grouping)
    return grouping


def _place(
    f: CaseFile,
    root: tuple[str, ...],
    cases: dict[tuple[str, ...], CaseGroup],
    splits: dict[tuple[str, ...], _Split],
    grouping: Grouping,
) -> None:
    if root in cases:
        cases[root].files.append(f)
        return
    split = splits[root]
    index = _match(split.names, _names_inside(f.path, root))
    if index is None:
        grouping.unit_files.append(f)
    else:
        split.cases[index].files.append(f)


@dataclass
class _Split:
    """A case root holding several cases' forms: their names (normalised) and their cases."""

    names: list[str]
    cases: list[CaseGroup]


def _split(root: tuple[str, ...], owned: list[CaseFile]) -> _Split | None:
    """One case per form name when the root's forms carry two or more names, else None."""
    words = [f for f in owned if f.role == "form_word"]
    scans = [f for f in owned if f.role == "form_scan"]
    names: dict[str, str] = {}  # normalised → as written on the first form
    for f in words or scans:
        prefix = _form_prefix(f.name)
        if prefix is not None:
            names.setdefault(_norm(prefix), prefix)
    if len(names) < 2:
        return None
    for f in scans if words else []:
        prefix = _form_prefix(f.name)
        if prefix is not None and _match(list(names), _names_inside(f.path, root)) is None:
            names.setdefault(_norm(prefix), prefix)
    cases = [CaseGroup(f"{_key(root)}/{prefix}", prefix, []) for prefix in names.values()]
    return _Split(list(names), cases)


def _form_prefix(name: str) -> str | None:
    """`1.北京市光伏园区推荐表（盖章）.pdf` → `1.北京市光伏园区`; None without a form word before."""
    stem = PurePosixPath(name).stem
    found = _FORM.search(stem)
    if found is None:
        return None
    prefix = stem[: found.start()].strip().rstrip(_PREFIX_TRAIL)
    return prefix if _norm(prefix) else None


def _norm(text: str) -> str:
    return _NUMBERING.sub("", text.strip()).casefold()


def _names_inside(path: tuple[str, ...], root: tuple[str, ...]) -> list[str]:
    """The file's name, then its folders inside `root`, innermost first."""
    inside = path[len(root) :] if _under(path, root) else path
    return list(reversed(inside))


def _match(prefixes: Sequence[str], names: Sequence[str]) -> int | None:
    """Which case (index into normalised `prefixes`) a file belongs to, by its names."""
    for name in map(_norm, names):
        hits = [i for i, p in enumerate(prefixes) if name.startswith(p)]
        if hits:
            return max(hits, key=lambda i: len(prefixes[i]))
    shared = len(_common_prefix(prefixes))
    cores = [p[shared:] for p in prefixes]
    for name in map(_norm, names):
        hits = [i for i, core in enumerate(cores) if len(core) >= 2 and core in name]
        if hits:
            return hits[0] if len(hits) == 1 else None
    return None


def _common_prefix(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def _unique(key: str, used: set[str]) -> str:
    candidate, n = key, 1
    while candidate in used:
        n += 1
        candidate = f"{key}#{n}"
    used.add(candidate)
    return candidate


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


_NAME_NOISE = re.compile(
    r"(推荐材料|申报材料|推荐表|申报表|材料|案例)+$|^[\s\d０-９一二三四五六七八九十、.．_\-—（）()]+"
)


def case_name_from_hint(hint: str, unit: str | None, campaign: Campaign) -> str:
    """`北京市XX推荐材料` → `XX`: a case folder's name without the unit, numbering and suffix."""
    name = PurePosixPath(hint).stem if "." in hint[-6:] else hint
    name = _NAME_NOISE.sub("", name.strip())
    unit_obj = campaign.unit(unit) if unit else None
    for alias in sorted(unit_obj.names if unit_obj else (), key=len, reverse=True):
        if name.startswith(alias):
            name = name[len(alias) :]
            break
    name = _NAME_NOISE.sub("", name.strip(" -_—"))
    return name.strip(" -_—") or hint
