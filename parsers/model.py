"""Plain data that the parsers hand on; no library object ever leaves `parsers`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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


ContactField = Literal["name", "phone", "email"]


@dataclass(frozen=True)
class Contact:
    """The responsible person as the message body names them."""

    name: str | None
    phone: str | None
    email: str | None

    @property
    def missing(self) -> list[ContactField]:
        """The fields the body does not give, in form order (CONTACT_MISSING words them)."""
        fields: tuple[ContactField, ...] = ("name", "phone", "email")
        return [k for k in fields if not getattr(self, k)]


@dataclass(frozen=True)
class Expiry:
    """When a cloud link stops working, as far as the mail says."""

    # Aware; Asia/Shanghai when the mail gives local time.
    at: datetime | None = None
    # 无限期 / 永久有效.
    never: bool = False
    # The mail gave a day without a time of day (`2024年8月4日`); `at` is that day's 00:00.
    day_only: bool = False
    # What the mail wrote when it is no date we can read, kept for staff to see.
    as_written: str | None = None


@dataclass(frozen=True)
class CloudLink:
    """A large-attachment (超大附件) or cloud-drive link in a message body."""

    provider: str
    url: str
    file_name: str | None = None
    size: str | None = None
    expiry: Expiry | None = None
    code: str | None = None

    @property
    def expires_at(self) -> datetime | None:
        return self.expiry.at if self.expiry else None

    @property
    def never_expires(self) -> bool:
        return bool(self.expiry and self.expiry.never)


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
