"""What a notice says, as plain data: the `Notice` a template reads and the parts it is made of.

`reports.notices.collect_notice` fills a `Notice` from the store; `reports.notice_render`
turns it into text and HTML.  Everything here is frozen and free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from campaign import Limits, Office

NoticeKind = Literal["receipt", "deficiency", "guidance"]


@dataclass(frozen=True)
class Item:
    """One occurrence: what was found, and in which file (path inside the mail)."""

    detail: str
    file: str | None = None


@dataclass(frozen=True)
class Problem:
    """All findings of one code in one place (the message, one case, the unit)."""

    code: str
    reason: str
    fix: str
    items: tuple[Item, ...]
    more: int = 0  # occurrences left out after MAX_ITEMS_PER_GROUP


@dataclass(frozen=True)
class CaseLine:
    name: str
    key: str
    category: str  # the label (园区…), "" when no category could be read
    applicant: str
    photo_count: int
    videos: tuple[str, ...]  # "m:ss" per video, "时长未知" when it could not be read
    status: str
    version: int
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class CategoryCount:
    key: str
    label: str
    count: int
    min: int
    max: int

    @property
    def state(self) -> str:
        """How the count stands against the quota, in words a clerk reads."""
        if self.count == 0:
            return "尚未报送"
        if self.count < self.min:
            return f"还差 {self.min - self.count} 个"
        if self.count > self.max:
            return f"超出上限 {self.count - self.max} 个"
        return "符合要求"


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    # The message's kind: `submission`, or `other` for mail that only gets a guidance reply.
    message_kind: str
    campaign_title: str
    unit: str | None
    sender_name: str
    original_subject: str
    received_at: str
    deadline: str
    days_left: int
    office: Office
    subject_example: str
    submit_to: str
    limits: Limits
    cases: tuple[CaseLine, ...] = ()
    # Files of the mail outside any case that are candidate lists (推荐名单), by name.
    list_files: tuple[str, ...] = ()
    message_problems: tuple[Problem, ...] = ()
    unit_problems: tuple[Problem, ...] = ()
    suggestions: tuple[Problem, ...] = ()
    counts: tuple[CategoryCount, ...] = ()
    uncategorized: int = 0

    @property
    def past_deadline(self) -> bool:
        return self.days_left < 0

    @property
    def is_deficient(self) -> bool:
        return bool(self.message_problems) or any(c.problems for c in self.cases)

    def context(self) -> dict[str, Any]:
        """The template variables (dataclasses stay objects so templates use attributes)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out.update(past_deadline=self.past_deadline, is_deficient=self.is_deficient)
        return out


@dataclass(frozen=True)
class RenderedNotice:
    text: str
    html: str
