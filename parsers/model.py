"""Plain data that the parsers hand on; no library object ever leaves `parsers`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

Kind = Literal["submission", "auto_reply", "bounce", "other"]
Role = Literal["form_word", "form_scan", "photo", "video", "list", "caption", "other"]


@dataclass(frozen=True)
class Attachment:
    """One file attached to a message (after TNEF and forwarded-message unwrapping)."""

    name: str
    content_type: str
    data: bytes
    # An image embedded in the HTML body (Content-ID, not disposition attachment): signature
    # logos and pasted pictures, which are not the case's materials.
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str | None
    from_addr: str
    from_name: str
    to: list[str]
    subject: str
    date: datetime | None
    # Lower-cased header names → all their values, kept for classification.
    headers: dict[str, list[str]]
    content_type: str
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None
    email: str | None

    @property
    def missing(self) -> list[str]:
        labels = {"name": "姓名", "phone": "联系电话", "email": "邮箱"}
        return [labels[k] for k in ("name", "phone", "email") if not getattr(self, k)]


@dataclass(frozen=True)
class CloudLink:
    provider: str
    url: str
    file_name: str | None = None
    size: str | None = None
    expires: str | None = None
    code: str | None = None


class Deviation(StrEnum):
    """How a subject strays from the call's `XX省（区、市）低碳发展典型案例申报材料`."""

    REPLY_PREFIX = "reply_prefix"  # `回复：`, `Fw:` in front
    TEMPLATE_TEXT = "template_text"  # the call's placeholder `XX省（区、市）` left in
    YEAR = "year"  # `2023年` added
    EMPTY = "empty"  # nothing left once prefixes, tags, years and brackets are gone
    NO_UNIT = "no_unit"  # no unit named
    MISSING_TEXT = "missing_text"  # words: the convention's text before or after the unit
    SHORT_NAME = "short_name"  # words: the short name used (`宁夏`)
    ONE_CHAR_NAME = "one_char_name"  # words: the one-character abbreviation (`粤`)
    SEVERAL_UNITS = "several_units"  # words: every unit named, the one taken first
    UNIT_NOT_FIRST = "unit_not_first"  # the title first, the unit after it
    EXTRA_TEXT = "extra_text"  # words: the leftover pieces, in subject order


@dataclass(frozen=True)
class SubjectDeviation:
    kind: Deviation
    # What the deviation is about, as found in the subject (see `Deviation`); empty for most.
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectMatch:
    unit: str | None
    deviations: tuple[SubjectDeviation, ...] = ()


@dataclass(frozen=True)
class ExtractedFile:
    """A file from the message: `path` runs from the attachment's name down to the member."""

    path: tuple[str, ...]
    data: bytes

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass(frozen=True)
class ArchiveProblem:
    name: str
    reason: str
    encrypted: bool = False


@dataclass
class Expanded:
    files: list[ExtractedFile] = field(default_factory=list)
    problems: list[ArchiveProblem] = field(default_factory=list)


@dataclass
class CaseFile:
    path: tuple[str, ...]
    role: Role
    data: bytes
    content_type: str = "application/octet-stream"

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass
class CaseGroup:
    """Files that belong to one case: a zip or folder holding one form."""

    key: str
    name_hint: str
    files: list[CaseFile] = field(default_factory=list)

    def by_role(self, role: Role) -> list[CaseFile]:
        return [f for f in self.files if f.role == role]


@dataclass
class Grouping:
    cases: list[CaseGroup] = field(default_factory=list)
    # Files that belong to the unit rather than a case: candidate lists, loose leftovers.
    unit_files: list[CaseFile] = field(default_factory=list)


@dataclass(frozen=True)
class PhotoInfo:
    format: str | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float | None = None
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None


@dataclass
class FormData:
    """What the recommendation form says, by the form's own labels."""

    fields: dict[str, str] = field(default_factory=dict)
    # Category keys ticked on the form, in form order.
    categories: list[str] = field(default_factory=list)
    # Hint text found still in place, by field label.
    hints_left: list[str] = field(default_factory=list)
