"""Read what a case's stored files say: the form (converted when needed), photos, videos.

This is the I/O side of triage: LibreOffice, PyAV/ffprobe and ffmpeg run from here (through
`programs`), over the blob store's copies, and their results go to the parsers.  All
`.doc`/`.wps` files of a batch of cases go to the warm converter (or one cold LibreOffice), and
videos are probed in-process, because process start-up dominates both (FIELD-NOTES).  Every
readable video gets a poster frame in the blob store, every photo its report thumbnail.

Converted `.docx`, video probes, forms' reads, caption documents' text and candidate lists'
entries are kept by the file's sha256 (`intake.derived`; a form's read also under a key of the
campaign's form spec), so re-triage converts, probes and parses nothing it has seen before.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Protocol

from docx import Document

from campaign import Campaign
from intake.derived import Derived, FormRead, form_key
from intake.videos import poster_frames, probe_videos
from intake.word import ConverterUnavailable, convert_to_docx
from parsers.candidates import CandidateEntry, read_candidate_list
from parsers.captions import caption_from_name, captions_from_document, match_captions
from parsers.charset import decode_bytes
from parsers.form import FormUnreadable, count_chars_like_word, read_form
from parsers.model import FormData, PhotoInfo, Role, UncheckedVideo, VideoInfo
from parsers.photos import probe_photo
from programs.warm_converter import DocumentConverter
from reports.thumbnails import render as render_thumbnail
from reports.thumbnails import thumb_name
from store.blobs import BlobStore

DOCX_MAGIC = b"PK\x03\x04"


@dataclass
class StoredFile:
    """A case's file as the store keeps it."""

    key: int
    name: str
    path: str
    role: Role
    sha256: str
    size: int


class ListFile(Protocol):
    name: str
    sha256: str


@dataclass
class ReadFile:
    file: StoredFile
    caption: str | None = None
    photo: PhotoInfo | None = None
    video: VideoInfo | None = None


@dataclass
class ReadCase:
    files: list[ReadFile]
    form: FormData | None = None
    form_file: str | None = None
    # Why the form could not be read (FORM_UNREADABLE words it for the unit).
    form_error: str | None = None
    converter_missing: str | None = None
    intro_chars: int | None = None
    # Videos we could not check on our side (MEDIA_CHECK_UNAVAILABLE, for staff).
    notes: list[UncheckedVideo] = field(default_factory=list)


def read_cases(
    cases: Sequence[list[StoredFile]],
    blobs: BlobStore,
    campaign: Campaign,
    libreoffice: str | None = None,
    workers: int = 2,
    warm: DocumentConverter | None = None,
    thumbs: Path | None = None,
) -> list[ReadCase]:
    """Read every case's files.  `warm` converts the Word files (else a cold LibreOffice);
    `thumbs` is the report's thumbnail cache, filled here as the photos are decoded."""
    derived = Derived(blobs)
    spec = form_key(campaign)
    forms = [_pick_form(files) for files in cases]
    # Reads kept from an earlier run (ingest, a retriage): their files are not even opened.
    kept_forms = {
        f.key: kept for f in forms if f is not None and (kept := derived.form(f.sha256, spec))
    }
    kept_texts = {
        f.key: text
        for files in cases
        for f in files
        if f.role == "caption"
        and _is_word(f.name)
        and (text := derived.caption_text(f.sha256)) is not None
    }
    docx_by_key, errors, converter_missing = _word_to_docx(
        [f for f in forms if f is not None and f.key not in kept_forms]
        + [
            f
            for files in cases
            for f in files
            if f.role == "caption" and _is_word(f.name) and f.key not in kept_texts
        ],
        blobs,
        libreoffice,
        warm,
    )
    probed = _read_videos(
        [f for files in cases for f in files if f.role == "video"], blobs, workers
    )
    out = []
    for files, form_file in zip(cases, forms, strict=True):
        read = ReadCase(files=[])
        if form_file is not None:
            read.form_file = form_file.path
            if form_file.key in converter_missing:
                read.converter_missing = converter_missing[form_file.key]
            elif form_file.key in errors:
                read.form_error = errors[form_file.key]
            else:
                form_read = kept_forms.get(form_file.key)
                if form_read is None:
                    form_read = _read_form(docx_by_key[form_file.key], campaign)
                    derived.keep_form(form_file.sha256, spec, form_read)
                read.form, read.form_error = form_read.form, form_read.error
            if read.form is not None:
                intro = read.form.fields.get("案例简介", "")
                read.intro_chars = count_chars_like_word(intro) if intro else 0
        captions = _caption_documents(files, blobs, docx_by_key, kept_texts)
        photos = [f for f in files if f.role == "photo"]
        from_docs = match_captions([p.name for p in photos], captions) if captions else {}
        for f in files:
            item = ReadFile(f)
            if f.role == "photo":
                item.photo = _read_photo(f.sha256, blobs, derived, thumbs)
                item.caption = caption_from_name(f.name) or from_docs.get(f.name)
            elif f.role == "video":
                info = probed[f.key]
                if info.error is not None and info.error.ours:
                    read.notes.append(UncheckedVideo(f.name, info.error))
                item.video = info
            read.files.append(item)
        out.append(read)
    return out


def _read_form(docx: bytes, campaign: Campaign) -> FormRead:
    try:
        return FormRead(form=read_form(docx, campaign.category_labels, campaign.form))
    except FormUnreadable as exc:
        return FormRead(error=str(exc))


def _read_photo(sha256: str, blobs: BlobStore, derived: Derived, thumbs: Path | None) -> PhotoInfo:
    """Decode a photo once: its facts are kept, and its report thumbnail made meanwhile."""
    known = derived.photo(sha256)
    if known is not None and (
        thumbs is None or known.error is not None or (thumbs / thumb_name(sha256)).exists()
    ):
        return known
    data = blobs.get(sha256)
    info = probe_photo(data)
    if thumbs is not None and info.error is None:
        render_thumbnail(data, thumbs / thumb_name(sha256))
    derived.keep_photo(sha256, info)
    return info


def _read_videos(videos: list[StoredFile], blobs: BlobStore, workers: int) -> dict[int, VideoInfo]:
    """VideoInfo by file key; a readable video also gets its poster frame stored."""
    derived = Derived(blobs)
    probed: dict[int, VideoInfo] = {}
    fresh: list[StoredFile] = []
    for v in videos:
        known = derived.video(v.sha256)
        if known is not None and (known.error is not None or known.poster_sha256 is not None):
            probed[v.key] = known
        else:
            fresh.append(v)
    paths = [blobs.path_for(v.sha256) for v in fresh]
    probed.update(zip((v.key for v in fresh), probe_videos(paths, workers=workers), strict=True))
    readable = [(v, p) for v, p in zip(fresh, paths, strict=True) if probed[v.key].error is None]
    posters = poster_frames([p for _, p in readable], workers=workers)
    for (v, _), jpeg in zip(readable, posters, strict=True):
        if jpeg is not None:
            probed[v.key] = replace(probed[v.key], poster_sha256=blobs.put(jpeg))
    for v in fresh:
        info = probed[v.key]
        if info.error is not None or info.poster_sha256 is not None:
            derived.keep_video(v.sha256, info)
    return probed


def _is_word(name: str) -> bool:
    return PurePosixPath(name.lower()).suffix in (".doc", ".docx", ".wps", ".docm", ".rtf")


def _pick_form(files: list[StoredFile]) -> StoredFile | None:
    """The Word form to read: a .docx before a .doc, a name saying 推荐表 before others."""
    words = [f for f in files if f.role == "form_word"]
    words.sort(key=lambda f: ("推荐表" not in f.name, not f.name.lower().endswith(".docx")))
    return words[0] if words else None


def _word_to_docx(
    files: list[StoredFile],
    blobs: BlobStore,
    libreoffice: str | None,
    warm: DocumentConverter | None = None,
) -> tuple[dict[int, bytes], dict[int, str], dict[int, str]]:
    """docx bytes by file key; unit-side errors by key; converter-side problems by key."""
    docx: dict[int, bytes] = {}
    errors: dict[int, str] = {}
    ours: dict[int, str] = {}
    pending: list[tuple[StoredFile, bytes]] = []
    derived = Derived(blobs)
    for f in files:
        data = blobs.get(f.sha256)
        if data.startswith(DOCX_MAGIC):
            docx[f.key] = data
        elif (converted := derived.docx(f.sha256)) is not None:
            docx[f.key] = converted
        else:
            pending.append((f, data))
    if not pending:
        return docx, errors, ours
    try:
        results = convert_to_docx(
            [(f.name, data) for f, data in pending], binary=libreoffice or None, warm=warm
        )
    except ConverterUnavailable as exc:
        for f, _ in pending:
            ours[f.key] = f"{f.name}：{exc}"
        return docx, errors, ours
    for (f, _), result in zip(pending, results, strict=True):
        if result.docx is not None:
            docx[f.key] = result.docx
            derived.keep_docx(f.sha256, result.docx)
        elif result.file_fault:
            errors[f.key] = str(result.error)
        else:
            ours[f.key] = f"{f.name}：{result.error}"
    return docx, errors, ours


def _caption_documents(
    files: list[StoredFile],
    blobs: BlobStore,
    docx_by_key: dict[int, bytes],
    kept_texts: dict[int, str],
) -> dict[str, str]:
    captions: dict[str, str] = {}
    for f in files:
        if f.role != "caption":
            continue
        text = ""
        if f.key in kept_texts:
            text = kept_texts[f.key]
        elif f.key in docx_by_key:
            text = docx_text(docx_by_key[f.key])
            Derived(blobs).keep_caption_text(f.sha256, text)
        elif f.name.lower().endswith(".txt"):
            text = decode_bytes(blobs.get(f.sha256))
        for ref, caption in captions_from_document(text).items():
            captions.setdefault(ref, caption)
    return captions


def docx_text(data: bytes) -> str:
    """Paragraph and table text of a .docx, one paragraph per line; empty when unreadable."""
    try:
        doc = Document(io.BytesIO(data))
    except Exception:  # a caption file that does not open is simply no captions
        return ""
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines.append(" ".join(dict.fromkeys(c.text for c in row.cells)))
    return "\n".join(lines)


def read_candidate_entries(
    lists: Sequence[ListFile],
    blobs: BlobStore,
    libreoffice: str | None = None,
    warm: DocumentConverter | None = None,
) -> list[CandidateEntry]:
    """Every entry of the unit's candidate lists (推荐名单), newest list last."""
    entries: list[CandidateEntry] = []
    derived = Derived(blobs)
    for f in lists:
        suffix = PurePosixPath(f.name.lower()).suffix
        kept = derived.candidates(f.sha256, suffix)
        if kept is not None:
            entries.extend(kept)
            continue
        data = blobs.get(f.sha256)
        name = f.name
        if PurePosixPath(name.lower()).suffix in (".doc", ".wps") and not data.startswith(
            DOCX_MAGIC
        ):
            converted = derived.docx(f.sha256)
            if converted is None:
                try:
                    result = convert_to_docx([(name, data)], binary=libreoffice or None, warm=warm)[
                        0
                    ]
                except ConverterUnavailable:
                    continue
                if result.docx is None:
                    continue
                converted = result.docx
                derived.keep_docx(f.sha256, converted)
            data, name = converted, name.rsplit(".", 1)[0] + ".docx"
        found = list(read_candidate_list(name, data).entries)
        derived.keep_candidates(f.sha256, suffix, found)
        entries.extend(found)
    return entries
