"""What the daily report's templates read: plain view dataclasses and the words for stored states.

`reports.daily_build` fills these from the store; `reports.daily` renders them.  Nothing here
reads the store or decides anything: who acts on a finding is `FindingView.audience`, set from
`validators.registry.audience_of`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup

from campaign import Campaign
from reports.formatting import AUDIENCE_LABELS
from validators.base import Audience

# -- the words staff read for stored states -------------------------------------------------------

STATUS_LABELS = {"complete": "齐全", "deficient": "待补正", "superseded": "已被替换"}
KIND_LABELS = {
    "submission": "申报",
    "auto_reply": "自动回复",
    "bounce": "退信",
    "other": "其他",
    None: "—",
}
STATE_LABELS = {
    "processed": "已处理",
    "quarantined": "已隔离",
    "ignored": "已忽略",
    "received": "处理中",
}
REPLY_KIND_LABELS = {"receipt": "回执", "deficiency": "补正通知"}
REPLY_STATE_LABELS = {
    "queued": "待发送",
    "sent": "已发送",
    "failed": "发送失败",
    "unknown": "状态不明",
}
ROLE_LABELS = {
    "form_word": "推荐表（Word）",
    "form_scan": "推荐表（盖章扫描件）",
    "photo": "照片",
    "video": "视频",
    "list": "推荐名单",
    "caption": "照片说明",
    "other": "其他",
}
# The page's badge colours for who acts on a finding.
_BADGES = {Audience.UNIT: "error", Audience.ADVICE: "warning", Audience.STAFF: "staff"}
CELL_LABELS = {
    "none": "未报送",
    "below": "少于下限",
    "within": "数量符合",
    "over": "超过上限",
    "errors": "有待补正",
}


# -- the view: plain data the templates read ----------------------------------------------------


@dataclass
class FindingView:
    code: str
    severity: str
    detail: str
    file: str | None
    reason: str
    fix: str
    audience: Audience
    # Staff's note when they waived it in the console: shown, and never counted as a deficiency.
    waived: str | None = None

    # Our templates show `badge` and `audience_label`; staff's own copies of older templates
    # may still ask these two.
    @property
    def staff_only(self) -> bool:
        return self.audience is Audience.STAFF

    @property
    def unit_must_fix(self) -> bool:
        return self.audience is Audience.UNIT and self.waived is None

    @property
    def audience_label(self) -> str:
        """Who acts, in the words of the badge (and of the workbook's tag)."""
        return AUDIENCE_LABELS[self.audience]

    @property
    def badge(self) -> str:
        """The badge's CSS class suffix (`b-staff`, `b-error`, `b-warning`)."""
        return _BADGES[self.audience]


@dataclass
class FileView:
    name: str
    path: str
    sha256: str
    role: str
    role_label: str
    size: int
    caption: str | None
    duration_s: float | None
    thumb: str | None = None


@dataclass
class VersionView:
    case_id: int
    version: int
    status: str
    received: str
    subject: str
    errors: int


@dataclass
class CaseView:
    id: int
    page: str
    unit: str | None
    unit_anchor: str | None
    category: str | None
    category_label: str
    name: str
    order: int | None
    status: str
    status_label: str
    version: int
    received: str
    subject: str
    key: str
    form_rows: list[tuple[str, str]]
    intro: str | None
    intro_chars: int | None
    intro_limit: int
    photos: list[FileView]
    videos: list[FileView]
    others: list[FileView]
    findings: list[FindingView]
    history: list[VersionView] = field(default_factory=list)

    @property
    def errors(self) -> list[FindingView]:
        return [f for f in self.findings if f.unit_must_fix]

    @property
    def finding_groups(self) -> list[tuple[FindingView, list[FindingView]]]:
        """Findings by code, in first-seen order: the reason and fix once, then each hit."""
        groups: dict[str, list[FindingView]] = {}
        for f in self.findings:
            groups.setdefault(f.code, []).append(f)
        return [(hits[0], hits) for hits in groups.values()]


@dataclass
class MessageView:
    id: int
    received: str
    sender: str
    sender_name: str
    subject: str
    unit: str | None
    unit_anchor: str | None
    kind: str
    state: str
    error: str | None
    cases: int
    findings: list[FindingView]
    # The responsible person as the body names them, and everyone else it names (`张三 138…`).
    contact: str = ""
    other_contacts: list[str] = field(default_factory=list)
    # Other mail: its attachments (`名称（12 KB）`), which staff open from the raw message.
    attachments: list[str] = field(default_factory=list)
    attempts: int = 0


@dataclass
class CellView:
    count: int
    status: str

    @property
    def label(self) -> str:
        return CELL_LABELS[self.status]


@dataclass
class UnitView:
    name: str
    anchor: str
    heard: bool
    cells: list[CellView]
    total: int
    complete: int
    deficient: int
    messages: list[MessageView]
    cases_by_category: list[tuple[str, list[CaseView]]]
    findings: list[FindingView]
    last_received: str


@dataclass
class DeficiencyView:
    where: str
    case: CaseView | None
    finding: FindingView


@dataclass
class CloudLinkView:
    message: MessageView
    detail: str
    expires: str | None
    urgent: bool


@dataclass
class ReplyView:
    to: str
    kind: str
    state: str
    subject: str
    error: str | None
    attempts: int
    message: MessageView | None


@dataclass
class Report:
    campaign: Campaign
    title: str
    date: date
    generated: str
    deadline: str
    days_left: int
    units_heard: int
    units_total: int
    received: int
    complete: int
    deficient: int
    superseded: int
    categories: list[tuple[str, str]]
    uncategorised: bool
    units: list[UnitView]
    not_heard: list[str]
    since: str | None
    new_messages: list[MessageView]
    new_more: int
    chart_days: Markup
    chart_categories: Markup
    deficiencies: list[tuple[UnitView | None, str, list[DeficiencyView]]]
    unknown_senders: list[MessageView]
    # Mail a person wrote that is no submission (questions, "收到，谢谢"): never auto-answered.
    other_mail: list[MessageView]
    cloud_links: list[CloudLinkView]
    quarantined: list[MessageView]
    replies: list[ReplyView]
    replies_queued: int
    converter: list[tuple[CaseView, FindingView]]
    cases: list[CaseView]
    email: bool = False

    @property
    def staff_total(self) -> int:
        return (
            len(self.unknown_senders)
            + len(self.other_mail)
            + len(self.cloud_links)
            + len(self.quarantined)
            + len(self.replies)
            + len(self.converter)
        )
