"""Typed facts the rules look at; built by the pipeline from parsed data and stored records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from campaign import Campaign
from parsers.model import (
    ArchiveProblem,
    CloudLink,
    Contact,
    FormData,
    Kind,
    PhotoInfo,
    Role,
    SubjectDeviation,
    UncheckedVideo,
    VideoInfo,
)


@dataclass
class MessageFacts:
    campaign: Campaign
    kind: Kind
    subject: str
    unit: str | None
    subject_deviations: tuple[SubjectDeviation, ...]
    contact: Contact
    attachment_count: int
    cloud_links: list[CloudLink]
    archive_problems: list[ArchiveProblem]
    received_at: datetime | None


@dataclass
class FileFacts:
    name: str
    path: str
    role: Role
    size: int
    sha256: str
    caption: str | None = None
    photo: PhotoInfo | None = None
    video: VideoInfo | None = None


@dataclass
class CaseFacts:
    campaign: Campaign
    unit: str | None
    key: str
    name: str
    files: list[FileFacts]
    form: FormData | None = None
    # The Word form the form findings are about.
    form_file: str | None = None
    intro_chars: int | None = None
    # Why the Word form could not be read, if it could not.
    form_error: str | None = None
    # A .doc/.wps form we could not convert because the converter is missing here.
    converter_missing: str | None = None
    # Earlier selected case this one matches, e.g. "2022年 浙江省 社区垃圾分类与低碳生活实践".
    previously_selected: str | None = None
    # Videos we could not check on our side (ffprobe missing or timed out; `ReadCase.notes`):
    # staff's problem, never the unit's.
    media_notes: list[UncheckedVideo] = field(default_factory=list)

    def by_role(self, role: Role) -> list[FileFacts]:
        return [f for f in self.files if f.role == role]


@dataclass
class UnitCase:
    name: str
    category: str | None
    order: int | None


@dataclass
class UnitFacts:
    campaign: Campaign
    unit: str
    cases: list[UnitCase] = field(default_factory=list)
    has_list: bool = False
