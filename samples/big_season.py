"""A season-sized load: every unit of the call sends 4 categories × 3 cases, in two mails.

For `bench/season.py`.  Forms are `.docx` with every `doc_every`-th one a real `.doc`; each case
has four photos of a few hundred KB and every other case a video.  Photos, videos and `.doc`
forms are made once and reused, so generating a season takes seconds, not minutes.
"""

from __future__ import annotations

import os
from pathlib import Path

from campaign import Campaign
from samples.archives import make_zip
from samples.cases import case_files
from samples.forms import CATEGORY_LABELS, make_form_docx
from samples.mail import build_submission
from samples.photos import make_jpeg
from samples.videos import make_mp4
from samples.word97 import make_form_docs

CATEGORIES = list(CATEGORY_LABELS)


def write_big_season(folder: Path, campaign: Campaign, doc_every: int = 3) -> int:
    """Write one `.eml` per unit and half of the categories into `folder`; returns the cases."""
    photos = [make_jpeg(900 + i * 7, 700, size_bytes=300_000 + i * 25_000) for i in range(20)]
    videos = [make_mp4(None, 8 + i) for i in range(4)]
    doc_forms = make_form_docs([make_form_docx(category=c) for c in CATEGORIES])
    n_cases = 0
    for u, unit in enumerate(campaign.units):
        for half in (0, 1):
            zips = []
            for category in CATEGORIES[half * 2 : half * 2 + 2]:
                for k in range(3):
                    name = f"{CATEGORY_LABELS[category]}案例{k + 1}"
                    use_doc = (n_cases % doc_every) == 0
                    files = case_files(
                        unit.name,
                        name,
                        photos=[
                            (f"说明{p + 1}", photos[(n_cases + p) % len(photos)]) for p in range(4)
                        ],
                        videos=[videos[n_cases % len(videos)]] if k % 2 == 0 else [],
                        category=category,
                        form=doc_forms[CATEGORIES.index(category)] if use_doc else None,
                        form_ext=".doc" if use_doc else ".docx",
                    )
                    base = f"{unit.name}{name}推荐材料"
                    zips.append((f"{k + 1}.{base}.zip", make_zip(files, gbk_names=True)))
                    n_cases += 1
            raw = build_submission(
                subject=f"{unit.name}低碳发展典型案例申报材料（{half + 1}/2）",
                attachments=zips,
                sender=("联系人", f"unit{u}@example.gov.cn"),
                message_id=f"<season-{u}-{half}@example.gov.cn>",
            )
            (folder / f"{u:02d}-{half}.eml").write_bytes(raw)
    return n_cases


def big_message(size_mb: int) -> bytes:
    """One submission of about `size_mb` MB: a case whose video is that big."""
    # Incompressible bytes, as photos and videos are: the zip is as big as its contents.
    blob = os.urandom(size_mb * 1024 * 1024)
    zipped = make_zip({"北京市大文件推荐材料/北京市大文件视频.mp4": blob}, gbk_names=True)
    return build_submission(attachments=[("北京市大文件推荐材料.zip", zipped)])
