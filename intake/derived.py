"""What was derived from a stored file, kept by the file's sha256: converted `.docx`, probes of
videos and photos, what a form, a caption document and a candidate list say, and what a raw
message's bytes alone say (`MessageBytes`).

The same bytes always convert and probe the same way, so `intake retriage` (and a resubmission
of the same file) reuses these instead of running LibreOffice or a probe again.  Only answers
that belong to the file are kept: a conversion that timed out or a probe that could not run is
our side's failure and is tried again next time.  Kept beside the blobs, under `derived/`, as
JSON (never pickle: an entry is data, not code).

A read that depends on more than the bytes is kept under a key of everything else it depends
on: a form read under a digest of the campaign's form spec and category labels and the form
reader's version (`parsers.form.FORM_READER_VERSION`), so an edited campaign or a changed reader
never meets a stale entry.  A missing or unreadable entry just means reading the file again.
Retriage after a campaign change re-judges everything; only reading the bytes is saved (the
profile of a season's retriage: form reading 7.8 s, parsing the mail 2.4 s, re-expanding its
archives 3.3 s).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from campaign import Campaign
from parsers.candidates import CandidateEntry
from parsers.form import FORM_READER_VERSION
from parsers.model import (
    ArchiveDamage,
    ArchiveProblem,
    ArchiveProblemKind,
    CloudLink,
    Expiry,
    FormData,
    PhotoError,
    PhotoInfo,
    VideoError,
    VideoInfo,
)
from store.blobs import BlobStore, write_shared

# Bump when what `MessageBytes` holds would come out differently for the same raw bytes:
# `parsers.mail` (subject, attachments), `parsers.archives` (problems, limits) or
# `parsers.cloud_links` changed.
MESSAGE_BYTES_VERSION = 1
# Bump when `intake.reading.docx_text` (a caption document's text) changes.
CAPTION_TEXT_VERSION = 1
# Bump when `parsers.candidates.read_candidate_list` reads the same bytes differently.
CANDIDATE_LIST_VERSION = 1


@dataclass(frozen=True)
class FormRead:
    """What reading a form's `.docx` gave: its data, or why it is unreadable (`FormUnreadable`)."""

    form: FormData | None = None
    error: str | None = None


@dataclass(frozen=True)
class MessageBytes:
    """What the message rules need that comes from a raw message's bytes alone.  Everything that
    depends on the campaign (the subject's deviations) is judged again from these."""

    subject: str
    attachment_count: int
    cloud_links: list[CloudLink]
    archive_problems: list[ArchiveProblem]

    @property
    def keepable(self) -> bool:
        """A RAR tool missing or too slow here says nothing about the message: expand again."""
        return not any(
            p.ours or p.kind is ArchiveProblemKind.TOOL_TIMEOUT for p in self.archive_problems
        )


def form_key(campaign: Campaign) -> str:
    """A digest of everything a form read depends on besides the bytes."""
    # Labels as pairs: their order is the call's, and `_digest` sorts a dict's keys.
    spec = [FORM_READER_VERSION, asdict(campaign.form), list(campaign.category_labels.items())]
    return _digest(spec)


def _digest(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Derived:
    """Cached `.docx` conversions, video probes and decoded photos' facts of stored files."""

    def __init__(self, blobs: BlobStore) -> None:
        self.root = blobs.root / "derived"

    def _path(self, kind: str, sha256: str, suffix: str) -> Path:
        return self.root / kind / sha256[:2] / f"{sha256}{suffix}"

    def docx(self, sha256: str) -> bytes | None:
        try:
            return self._path("docx", sha256, ".docx").read_bytes()
        except OSError:
            return None

    def keep_docx(self, sha256: str, docx: bytes) -> None:
        write_shared(self._path("docx", sha256, ".docx"), docx)

    def video(self, sha256: str) -> VideoInfo | None:
        try:
            raw = json.loads(self._path("probe", sha256, ".json").read_text(encoding="utf-8"))
            error = raw.pop("error", None)
            return VideoInfo(**raw, error=VideoError(error) if error else None)
        except (OSError, ValueError, TypeError):
            return None

    def keep_video(self, sha256: str, info: VideoInfo) -> None:
        if info.error is not None and info.error.ours:
            return  # a timeout or a missing tool says nothing about the file
        data = asdict(info)
        data["error"] = info.error.value if info.error is not None else None
        write_shared(self._path("probe", sha256, ".json"), json.dumps(data).encode())

    def photo(self, sha256: str) -> PhotoInfo | None:
        try:
            raw = json.loads(self._path("photo", sha256, ".json").read_text(encoding="utf-8"))
            error = raw.pop("error", None)
            return PhotoInfo(**raw, error=PhotoError(error) if error else None)
        except (OSError, ValueError, TypeError):
            return None

    def keep_photo(self, sha256: str, info: PhotoInfo) -> None:
        # Decoding a photo has no "our side": the same bytes always give the same answer.
        data = asdict(info)
        data["error"] = info.error.value if info.error is not None else None
        write_shared(self._path("photo", sha256, ".json"), json.dumps(data).encode())

    # -- reads that depend on more than the bytes: keyed by a digest of what else they need -----

    def _entry(self, kind: str, sha256: str, key: str) -> Any:
        try:
            return json.loads(self._path(kind, sha256, f".{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _keep_entry(self, kind: str, sha256: str, key: str, value: object) -> None:
        text = json.dumps(value, ensure_ascii=False)
        write_shared(self._path(kind, sha256, f".{key}.json"), text.encode())

    def form(self, sha256: str, key: str) -> FormRead | None:
        """The kept read of the form file `sha256` under `form_key(campaign)`."""
        raw = self._entry("form", sha256, key)
        try:
            if raw["error"] is not None:
                return FormRead(error=str(raw["error"]))
            return FormRead(form=FormData(**raw["form"]))
        except (TypeError, KeyError):
            return None

    def keep_form(self, sha256: str, key: str, read: FormRead) -> None:
        form = asdict(read.form) if read.form is not None else None
        self._keep_entry("form", sha256, key, {"form": form, "error": read.error})

    def caption_text(self, sha256: str) -> str | None:
        raw = self._entry("captext", sha256, f"v{CAPTION_TEXT_VERSION}")
        return raw["text"] if isinstance(raw, dict) and isinstance(raw.get("text"), str) else None

    def keep_caption_text(self, sha256: str, text: str) -> None:
        self._keep_entry("captext", sha256, f"v{CAPTION_TEXT_VERSION}", {"text": text})

    def candidates(self, sha256: str, suffix: str) -> list[CandidateEntry] | None:
        """A candidate list's entries; `suffix` (the name's, which breaks format ties) is part
        of the key."""
        raw = self._entry("list", sha256, _list_key(suffix))
        try:
            return [CandidateEntry(**e) for e in raw["entries"]]
        except (TypeError, KeyError):
            return None

    def keep_candidates(self, sha256: str, suffix: str, entries: list[CandidateEntry]) -> None:
        value = {"entries": [asdict(e) for e in entries]}
        self._keep_entry("list", sha256, _list_key(suffix), value)

    def message(self, sha256: str) -> MessageBytes | None:
        """What the raw message `sha256` says, as kept at ingest (or an earlier retriage)."""
        raw = self._entry("message", sha256, f"v{MESSAGE_BYTES_VERSION}")
        try:
            return MessageBytes(
                subject=str(raw["subject"]),
                attachment_count=int(raw["attachment_count"]),
                cloud_links=[_link(c) for c in raw["cloud_links"]],
                archive_problems=[_problem(p) for p in raw["archive_problems"]],
            )
        except (TypeError, KeyError, ValueError):
            return None

    def keep_message(self, sha256: str, facts: MessageBytes) -> None:
        if not facts.keepable:
            return
        value = {
            "subject": facts.subject,
            "attachment_count": facts.attachment_count,
            "cloud_links": [_link_json(c) for c in facts.cloud_links],
            "archive_problems": [_problem_json(p) for p in facts.archive_problems],
        }
        self._keep_entry("message", sha256, f"v{MESSAGE_BYTES_VERSION}", value)


def _list_key(suffix: str) -> str:
    return f"v{CANDIDATE_LIST_VERSION}-{_digest(suffix.lower())[:8]}"


def _link_json(link: CloudLink) -> dict[str, Any]:
    value = asdict(link)
    if link.expiry is not None and link.expiry.at is not None:
        value["expiry"]["at"] = link.expiry.at.isoformat()
    return value


def _link(raw: Mapping[str, Any]) -> CloudLink:
    expiry = raw.get("expiry")
    if expiry is not None:
        at = expiry.get("at")
        expiry = Expiry(**{**expiry, "at": datetime.fromisoformat(at) if at else None})
    return CloudLink(**{**raw, "expiry": expiry})


def _problem_json(problem: ArchiveProblem) -> dict[str, Any]:
    value = asdict(problem)
    value["kind"] = problem.kind.value
    value["damage"] = problem.damage.value if problem.damage is not None else None
    return value


def _problem(raw: Mapping[str, Any]) -> ArchiveProblem:
    damage = raw.get("damage")
    return ArchiveProblem(
        **{
            **raw,
            "kind": ArchiveProblemKind(raw["kind"]),
            "members": tuple(raw.get("members", ())),
            "damage": ArchiveDamage(damage) if damage is not None else None,
        }
    )
