"""Whole case folders, candidate lists and submissions as units really send them."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook

from samples.archives import make_zip
from samples.forms import CATEGORY_LABELS, make_form_docx
from samples.mail import build_submission
from samples.photos import make_jpeg
from samples.videos import make_mp4

# The stand-in for a stamped scan where its content does not matter.
SCAN_STUB = b"%PDF-1.4\n% stamped scan\n%%EOF\n"


def case_files(
    unit: str = "北京市",
    name: str = "光伏园区",
    *,
    photos: int | Sequence[tuple[str | None, bytes]] = 3,
    videos: int | Sequence[bytes] = 1,
    video_seconds: float = 5,
    scan: bool | bytes = True,
    form: bytes | None = None,
    form_ext: str = ".docx",
    category: str = "park",
    fields: Mapping[str, str] | None = None,
    folder: str | None = None,
) -> dict[str, bytes]:
    """name → bytes of one case folder named as the call asks (`北京市XX推荐材料/…`).

    `photos`: how many small test photos, or the (caption, bytes) of each; a photo without a
    caption keeps the camera's name (`IMG_….jpg`).  `videos`: how many test videos of
    `video_seconds`, or their bytes.  `scan`: whether there is a stamped scan, or its bytes.
    `folder=""` puts the files at the top of the archive (one zip per case, the call's way).
    """
    base = folder if folder is not None else f"{unit}{name}推荐材料"
    prefix = f"{base}/" if base else ""
    values = {"案例名称": name, "申报单位": f"{unit}{name}管理有限公司"}
    values.update(fields or {})
    entries: dict[str, bytes] = {
        f"{prefix}{unit}{name}推荐表{form_ext}": form
        if form is not None
        else make_form_docx(fields=values, category=category),
    }
    if scan is not False:
        entries[f"{prefix}{unit}{name}推荐表（盖章）.pdf"] = SCAN_STUB if scan is True else scan
    if isinstance(photos, int):
        photos = [(f"现场实景{i + 1}", make_jpeg(160 + i, 120)) for i in range(photos)]
    for i, (caption, data) in enumerate(photos):
        if caption is None:
            entries[f"{prefix}IMG_20231103_10{i:02d}15.jpg"] = data
        else:
            entries[f"{prefix}{unit}{name}照片{i + 1}（{caption}）.jpg"] = data
    if isinstance(videos, int):
        videos = [make_mp4(None, video_seconds) for _ in range(videos)]
    for i, data in enumerate(videos):
        entries[f"{prefix}{unit}{name}视频{i + 1}.mp4"] = data
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


def candidate_list_xlsx(unit: str, cases: Sequence[tuple[str, str, str]]) -> bytes:
    """A unit's 推荐名单 as an `.xlsx`: (category key, case name, applicant) of each case,
    ordered within each category as given."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "推荐名单"
    ws.append([f"{unit}2023年绿色低碳典型案例推荐名单"])
    ws.append(["类别", "推荐顺序", "案例名称", "申报单位（个人）"])
    for key, label in CATEGORY_LABELS.items():
        ordered = (c for c in cases if c[0] == key)
        for order, (_, name, applicant) in enumerate(ordered, start=1):
            ws.append([label, order, name, applicant])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
