"""Whole case folders and submissions as units really send them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.builders.forms import make_form_docx
from tests.builders.mail import build_submission
from tests.builders.media import make_jpeg, make_mp4
from tests.builders.zips import make_zip


def case_files(
    unit: str = "北京市",
    name: str = "光伏园区",
    *,
    photos: int = 3,
    videos: int = 1,
    video_seconds: float = 5,
    scan: bool = True,
    form: bytes | None = None,
    form_ext: str = ".docx",
    category: str = "park",
    fields: Mapping[str, str] | None = None,
    folder: str | None = None,
) -> dict[str, bytes]:
    """name → bytes of one case folder named as the call asks (`北京市XX推荐材料/…`)."""
    base = folder if folder is not None else f"{unit}{name}推荐材料"
    prefix = f"{base}/" if base else ""
    values = {"案例名称": name, "申报单位": f"{unit}{name}管理有限公司"}
    values.update(fields or {})
    entries: dict[str, bytes] = {
        f"{prefix}{unit}{name}推荐表{form_ext}": form
        if form is not None
        else make_form_docx(fields=values, category=category),
    }
    if scan:
        entries[f"{prefix}{unit}{name}推荐表（盖章）.pdf"] = b"%PDF-1.4\n% stamped scan\n%%EOF\n"
    for i in range(photos):
        entries[f"{prefix}{unit}{name}照片{i + 1}（现场实景{i + 1}）.jpg"] = make_jpeg(160 + i, 120)
    for i in range(videos):
        entries[f"{prefix}{unit}{name}视频{i + 1}.mp4"] = make_mp4(None, video_seconds)
    return entries


def case_zip(
    unit: str = "北京市", name: str = "光伏园区", *, gbk: bool = True, **kw: Any
) -> tuple[str, bytes]:
    """One case as the zip a unit attaches: `北京市XX推荐材料.zip`."""
    entries = case_files(unit, name, **kw)
    return f"{unit}{name}推荐材料.zip", make_zip(entries, gbk_names=gbk)


def submission(
    unit: str = "北京市",
    zips: Sequence[tuple[str, bytes]] | None = None,
    **kw: Any,
) -> bytes:
    attachments = list(zips) if zips is not None else [case_zip(unit)]
    kw.setdefault("subject", f"{unit}低碳发展典型案例申报材料")
    return build_submission(attachments=attachments, **kw)
