"""Plain data that the parsers hand on; no library object ever leaves `parsers`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Literal

from parsers.payload import Payload

Kind = Literal["submission", "auto_reply", "bounce", "other"]
Role = Literal["form_word", "form_scan", "photo", "video", "list", "caption", "other"]


@dataclass(frozen=True)
class Attachment:
    """One file attached to a message (after TNEF and forwarded-message unwrapping)."""

    name: str
    content_type: str
    # In memory, or in the blob store when large and `parse_mail` was given a sink.
    payload: Payload
    # An image embedded in the HTML body (Content-ID, not disposition attachment): signature
    # logos and pasted pictures, which are not the case's materials.
    inline: bool = False

    @property
    def data(self) -> bytes:
        """The bytes, read from the store if need be: for files read whole anyway."""
        return self.payload.read()


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
    payload: Payload

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def data(self) -> bytes:
        """The bytes, read from the store if need be: for files read whole anyway."""
        return self.payload.read()


class ArchiveProblemKind(Enum):
    """What kept (part of) an archive from being unpacked; the rules word it for people."""

    UNSUPPORTED_FORMAT = "unsupported_format"  # gzip, xz, tar…: `label` names it
    UNSUPPORTED_METHOD = "unsupported_method"  # compression method `label` (digits: a number)
    ENCRYPTED = "encrypted"  # no `members`: the whole archive; else those members
    CORRUPT = "corrupt"  # `damage` says how; `members` that were lost, if known
    SPLIT = "split"  # one volume of a multi-volume archive
    TOO_DEEP = "too_deep"  # archives nested deeper than `limit`
    TOO_LARGE = "too_large"  # unpacked size of the message over `limit` bytes
    MEMBER_TOO_LARGE = "member_too_large"  # one member over `limit` bytes
    TOO_MANY_MEMBERS = "too_many_members"  # more files than `limit`
    RATIO = "ratio"  # compressed `limit` times or more: a bomb (no `members`: the whole 7z)
    UNSAFE_PATH = "unsafe_path"  # a member name pointing outside the archive
    LINK = "link"  # a symbolic link member, skipped
    TOOL_TIMEOUT = "tool_timeout"  # the RAR tool ran over `limit` seconds
    TOOL_MISSING = "tool_missing"  # no RAR tool installed here: ours to fix, not the unit's


class ArchiveDamage(Enum):
    """How a corrupt archive or member is damaged; `label` holds the library's own words."""

    NO_DIRECTORY = "no_directory"  # a zip's central directory is unreadable
    UNREADABLE = "unreadable"  # the archive as a whole cannot be opened
    CRC = "crc"
    TRUNCATED = "truncated"
    BAD_HEADER = "bad_header"
    OVERLAPPING = "overlapping"  # zip entries that share data: a bomb technique
    UNDECODABLE = "undecodable"  # anything else; `label` is the exception's type


@dataclass(frozen=True)
class ArchiveProblem:
    """One line about one archive: `name` is its path ("outer.zip/inner.7z")."""

    name: str
    kind: ArchiveProblemKind
    members: tuple[str, ...] = ()
    limit: float | None = None
    label: str | None = None
    damage: ArchiveDamage | None = None

    @property
    def encrypted(self) -> bool:
        return self.kind is ArchiveProblemKind.ENCRYPTED

    @property
    def ours(self) -> bool:
        """The service's own problem (a tool missing here), for staff rather than the unit."""
        return self.kind is ArchiveProblemKind.TOOL_MISSING


@dataclass
class Expanded:
    files: list[ExtractedFile] = field(default_factory=list)
    problems: list[ArchiveProblem] = field(default_factory=list)


@dataclass
class CaseFile:
    path: tuple[str, ...]
    role: Role
    payload: Payload
    content_type: str = "application/octet-stream"

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def data(self) -> bytes:
        """The bytes, read from the store if need be: for files read whole anyway."""
        return self.payload.read()


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
    # Options ticked on the form that are not the call's categories (个人 in a call without it),
    # as the form prints them.
    other_categories: list[str] = field(default_factory=list)
    # Hint text found still in place, by field label.
    hints_left: list[str] = field(default_factory=list)
