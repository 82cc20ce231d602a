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


@dataclass(frozen=True)
class SubjectMatch:
    unit: str | None
    deviations: tuple[str, ...] = ()


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


class PhotoError(StrEnum):
    """Why a photo does not pass; the rule PHOTO_UNREADABLE words it for the unit."""

    EMPTY = "empty"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    UNREADABLE = "unreadable"
    BOMB = "bomb"
    # A format we recognise but do not accept (HEIC, GIF, …): `PhotoInfo.format` names it.
    WRONG_FORMAT = "wrong_format"


@dataclass(frozen=True)
class PhotoInfo:
    # "JPEG", "PNG", "HEIC", …, or "MP4/MOV" for a video saved under a photo's name.
    format: str | None = None
    width: int | None = None
    height: int | None = None
    error: PhotoError | None = None


class VideoError(StrEnum):
    """Why a video could not be measured; the value is what `File.probe` stores."""

    UNREADABLE = "unreadable"
    NO_PICTURE = "no_picture"
    IMAGE = "image"
    GIF = "gif"
    NO_DURATION = "no_duration"
    # Our side, not the unit's (staff see them as MEDIA_CHECK_UNAVAILABLE).  A timeout means a
    # busy host far more often than a bad file.
    TIMEOUT = "timeout"
    TOOL_MISSING = "tool_missing"
    MISSING_FILE = "missing_file"

    @property
    def ours(self) -> bool:
        """True when the problem is on our side: rules must not blame the unit for it."""
        return self in (VideoError.TIMEOUT, VideoError.TOOL_MISSING, VideoError.MISSING_FILE)


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float | None = None
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    error: VideoError | None = None
    # The blob of a JPEG still from the video, for staff's report; set by intake, not parsers.
    poster_sha256: str | None = None


@dataclass(frozen=True)
class UncheckedVideo:
    """A video we could not check because of our side (`error.ours`): staff's, not the unit's."""

    name: str
    error: VideoError


@dataclass
class FormData:
    """What the recommendation form says, by the form's own labels."""

    fields: dict[str, str] = field(default_factory=dict)
    # Category keys ticked on the form, in form order.
    categories: list[str] = field(default_factory=list)
    # Hint text found still in place, by field label.
    hints_left: list[str] = field(default_factory=list)
