"""The automatic answer to a submission, as a provincial clerk reads it: receipt or deficiency notice.

Two halves, both free of mail and network I/O:

- `collect_notice` reads what the store knows about one message (its cases, files, findings,
  and the unit's current cases) into a plain `Notice`;
- `render_notice` turns a `Notice` into zh-CN plain text and HTML with Jinja templates.

Which finding reaches the unit is the rule table's `audience` (`validators.registry.audience_of`):
a finding reaches the unit unless it is STAFF's (our converter is missing, a link we must fetch,
a late arrival staff decide on).  Errors on the
message or its cases make the answer a deficiency notice; the unit's standing errors (no
candidate list yet) are listed as outstanding without doing so; unit-facing warnings (subject
format, file naming, quota) are listed as suggestions that do not block acceptance.

Templates: `notice_<kind>.txt.j2` and `notice_<kind>.html.j2` for kind `receipt`, `deficiency`
and `guidance`, with `notice_base.html.j2` (layout) and `notice_signature.txt.j2` shared.  A file
of the same name in the configured `templates_dir` wins over the bundled one, so staff can
change any wording or only the signature without touching code.  HTML templates are
autoescaped (names and details come from submissions); text templates are not escaped, and every
value from a submission is flattened to one line before it reaches them.  A staff template that
fails to render is logged and the bundled one is used instead, so that an editing slip never
leaves units without an answer.

Variables every template gets (see `Notice`): `kind`, `message_kind`, `campaign_title`, `unit`, `sender_name`,
`original_subject`, `received_at`, `deadline`, `days_left`, `past_deadline`, `cases`,
`list_files`, `message_problems`, `unit_problems`, `suggestions`, `counts`, `uncategorized`, `office`,
`subject_example`, `submit_to`, `limits`, `is_deficient`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from campaign import Campaign, Limits, Office
from reports.formatting import UNIT_TIME, clock, local_time, mb, minutes
from store import models as m
from validators.base import Audience, Severity
from validators.registry import all_rules, audience_of, rule_for

log = logging.getLogger(__name__)

NoticeKind = Literal["receipt", "deficiency", "guidance"]
BUNDLED_TEMPLATES = Path(__file__).parent / "templates"
# Details repeated more often than this within one group are summarised ("等 N 处").
MAX_ITEMS_PER_GROUP = 20


# --------------------------------------------------------------------------- the notice's data


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


# --------------------------------------------------------------------------- what reaches units


def unit_facing(code: str, severity: str = Severity.ERROR) -> bool:
    """Whether a finding of this code may be shown to the submitting unit."""
    return audience_of(code, severity) is not Audience.STAFF


def _is_deficiency(f: m.Finding) -> bool:
    return audience_of(f.code, f.severity) is Audience.UNIT


def _is_suggestion(f: m.Finding) -> bool:
    return audience_of(f.code, f.severity) is Audience.ADVICE


# --------------------------------------------------------------------------- reading the store

_SPACES = re.compile(r"\s+")


def one_line(value: str | None, limit: int = 300) -> str:
    """Submitted text flattened for display: no control characters, no line breaks, bounded."""
    if not value:
        return ""
    cleaned = "".join(
        # Cs: lone surrogates from undecodable bytes would make the UTF-8 body unencodable.
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch
        for ch in value
    )
    cleaned = _SPACES.sub(" ", cleaned).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _group(findings: Iterable[m.Finding]) -> tuple[Problem, ...]:
    """Findings grouped by code, in the order their codes first appear (the rule table order)."""
    by_code: dict[str, list[m.Finding]] = defaultdict(list)
    for f in findings:
        by_code[f.code].append(f)
    problems = []
    for code, group in by_code.items():
        rule = rule_for(code)
        items = tuple(Item(one_line(f.detail, 500), one_line(f.file) or None) for f in group)
        problems.append(
            Problem(
                code=code,
                reason=rule.reason if rule else code,
                fix=rule.fix if rule else "请与工作组联系确认",
                items=items[:MAX_ITEMS_PER_GROUP],
                more=max(0, len(items) - MAX_ITEMS_PER_GROUP),
            )
        )
    return tuple(problems)


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return local_time(value, tz, UNIT_TIME, unknown="（时间未知）")


def days_left(deadline: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days from today to the deadline's day, in the campaign's time zone.

    0 on the deadline day itself; negative once the deadline has passed (even on that day).
    """
    if now > deadline:
        return min(-1, (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days)
    return (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days


def unit_counts(
    session: Session, campaign: Campaign, unit_id: int
) -> tuple[tuple[CategoryCount, ...], int]:
    """The unit's current (not superseded) cases per category, across all its messages."""
    rows = session.execute(
        select(m.Case.category).where(m.Case.unit_id == unit_id, m.Case.status != "superseded")
    ).all()
    counter = Counter(row[0] for row in rows)
    limits = campaign.limits
    counts = tuple(
        CategoryCount(
            c.key,
            c.label,
            counter.get(c.key, 0),
            limits.cases_per_category_min,
            limits.cases_per_category_max,
        )
        for c in campaign.categories
    )
    known = {c.key for c in campaign.categories}
    uncategorized = sum(n for key, n in counter.items() if key not in known)
    return counts, uncategorized


def collect_notice(
    session: Session,
    campaign: Campaign,
    message: m.Message,
    now: datetime,
    *,
    guidance: bool = False,
) -> Notice:
    """Everything the answer to `message` says, read from the store.

    The kind follows from the findings: any unit-facing error on the message or on one of its
    cases makes it a deficiency notice.  `guidance` asks for the answer to mail that is not a
    recognisable submission (unknown unit, or not a submission at all).
    """
    tz = ZoneInfo(campaign.timezone)
    session.flush()
    cases = list(
        session.scalars(select(m.Case).where(m.Case.message_id == message.id).order_by(m.Case.id))
    )
    case_ids = [c.id for c in cases]
    findings = list(
        session.scalars(
            select(m.Finding)
            .where(or_(m.Finding.message_id == message.id, m.Finding.case_id.in_(case_ids)))
            .order_by(m.Finding.id)
        )
    )
    files = list(
        session.scalars(select(m.File).where(m.File.message_id == message.id).order_by(m.File.id))
    )
    # The rule table's order, so that a notice reads in the same order as the rules do.
    findings.sort(key=_rule_order)
    per_case: dict[int, list[m.Finding]] = defaultdict(list)
    on_message: list[m.Finding] = []
    for f in findings:
        if f.case_id is not None:
            per_case[f.case_id].append(f)
        elif f.level != "unit":
            on_message.append(f)

    case_lines = []
    for case in cases:
        own_files = [f for f in files if f.case_id == case.id]
        case_lines.append(
            CaseLine(
                name=one_line(case.name) or one_line(case.key),
                key=one_line(case.key),
                category=campaign.category_label(case.category),
                applicant=one_line(case.applicant),
                photo_count=sum(1 for f in own_files if f.role == "photo"),
                videos=tuple(
                    clock(f.duration_s, "时长未知") for f in own_files if f.role == "video"
                ),
                status=case.status,
                version=case.version,
                problems=_group(f for f in per_case.get(case.id, []) if _is_deficiency(f)),
            )
        )

    unit_findings: list[m.Finding] = []
    counts: tuple[CategoryCount, ...] = ()
    uncategorized = 0
    if message.unit_id is not None:
        counts, uncategorized = unit_counts(session, campaign, message.unit_id)
        # The unit's standing findings (candidate list, order, quota), recomputed over all its
        # mail: shown as what is still outstanding, but they do not turn this mail's receipt
        # into a deficiency notice — a unit often sends the list with its last mail.
        unit_findings = sorted(
            session.scalars(
                select(m.Finding).where(
                    m.Finding.unit_id == message.unit_id,
                    m.Finding.level == "unit",
                    m.Finding.case_id.is_(None),
                )
            ),
            key=_rule_order,
        )
    mail_findings = [f for f in findings if f.level != "unit"]
    message_problems = _group(f for f in on_message if _is_deficiency(f))
    unit_problems = _group(f for f in unit_findings if _is_deficiency(f))
    suggestions = _group(f for f in [*mail_findings, *unit_findings] if _is_suggestion(f))
    unit_name = message.unit.name if message.unit is not None else None
    notice = Notice(
        kind="guidance",
        message_kind=message.kind or "other",
        campaign_title=campaign.title,
        unit=unit_name,
        sender_name=one_line(message.sender_name, 80),
        original_subject=one_line(message.subject),
        received_at=_local(message.received_at or message.date or message.created_at, tz),
        deadline=_local(campaign.deadline, tz),
        days_left=days_left(campaign.deadline, now, tz),
        office=campaign.office,
        subject_example=campaign.subject_for(unit_name or "XX省"),
        submit_to=campaign.office.email,
        limits=campaign.limits,
        cases=tuple(case_lines),
        list_files=tuple(one_line(f.name) for f in files if f.case_id is None and f.role == "list"),
        message_problems=message_problems,
        unit_problems=unit_problems,
        suggestions=suggestions,
        counts=counts,
        uncategorized=uncategorized,
    )
    if guidance:
        return notice
    return replace(notice, kind="deficiency" if notice.is_deficient else "receipt")


@lru_cache(maxsize=1)
def _rule_index() -> dict[str, int]:
    return {rule.code: i for i, rule in enumerate(all_rules())}


def _rule_order(f: m.Finding) -> tuple[int, int]:
    return (_rule_index().get(f.code, 10_000), f.id or 0)


# --------------------------------------------------------------------------- rendering


def template_names(kind: NoticeKind) -> tuple[str, str]:
    return f"notice_{kind}.txt.j2", f"notice_{kind}.html.j2"


@lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> jinja2.Environment:
    bundled = jinja2.FileSystemLoader(str(BUNDLED_TEMPLATES))
    loader: jinja2.BaseLoader = bundled
    if templates_dir:
        # Staff's folder first: a file of the same name there replaces the bundled one, and a
        # staff template may still extend or include bundled ones.
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(templates_dir), bundled])
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "html.j2"),
            default_for_string=True,
            default=False,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["one_line"] = one_line
    env.filters["mb"] = mb
    env.filters["minutes"] = minutes
    return env


def render_notice(notice: Notice, templates_dir: Path | None = None) -> RenderedNotice:
    """The notice as plain text and HTML; a broken staff template falls back to the bundled."""
    folder = str(templates_dir) if templates_dir else None
    try:
        return _render(notice, _environment(folder))
    except jinja2.TemplateError:
        if folder is None:
            raise
        log.exception("template in %s failed; using the bundled templates", folder)
        return _render(notice, _environment(None))


def _render(notice: Notice, env: jinja2.Environment) -> RenderedNotice:
    text_name, html_name = template_names(notice.kind)
    context = notice.context()
    text = env.get_template(text_name).render(context)
    html = env.get_template(html_name).render(context)
    return RenderedNotice(text=_tidy_text(text), html=html)


_BLANK_RUNS = re.compile(r"\n{3,}")


def _tidy_text(text: str) -> str:
    # Conditional blocks leave runs of blank lines behind; one blank line reads best.
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip() + "\n"
