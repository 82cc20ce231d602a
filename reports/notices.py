"""The automatic answer to a submission, as a provincial clerk reads it: receipt or deficiency notice.

Two halves, both free of mail and network I/O:

- `collect_notice` (here) reads what the store knows about one message (its cases, files,
  findings, and the unit's current cases) into a plain `Notice` (`reports.notice_model`);
- `render_notice` (`reports.notice_render`) turns a `Notice` into zh-CN plain text and HTML
  with Jinja templates; staff's templates folder may override any of them.

Which finding reaches the unit is the rule table's `audience` (`validators.registry.audience_of`):
a finding reaches the unit unless it is STAFF's (our converter is missing, a link we must fetch,
a late arrival staff decide on).  Errors on the
message or its cases make the answer a deficiency notice; the unit's standing errors (no
candidate list yet) are listed as outstanding without doing so; unit-facing warnings (subject
format, file naming, quota) are listed as suggestions that do not block acceptance.

Variables every template gets (see `Notice`): `kind`, `message_kind`, `campaign_title`, `unit`, `sender_name`,
`original_subject`, `received_at`, `deadline`, `days_left`, `past_deadline`, `cases`,
`list_files`, `message_problems`, `unit_problems`, `suggestions`, `counts`, `uncategorized`, `office`,
`subject_example`, `submit_to`, `limits`, `is_deficient`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from campaign import Campaign
from reports.formatting import UNIT_TIME, clock, local_time, one_line
from reports.notice_model import (
    CaseLine,
    CategoryCount,
    Item,
    Notice,
    NoticeKind,
    Problem,
    RenderedNotice,
)
from reports.notice_render import render_notice, template_names
from store import models as m
from validators.base import Audience, Severity
from validators.registry import all_rules, audience_of, blocks_receipt, rule_for

# Callers import the notice's parts and its rendering from here, beside `collect_notice`.
__all__ = [
    "CaseLine",
    "CategoryCount",
    "Item",
    "Notice",
    "NoticeKind",
    "Problem",
    "RenderedNotice",
    "collect_notice",
    "days_left",
    "one_line",
    "render_notice",
    "template_names",
    "unit_counts",
    "unit_facing",
]

# Details repeated more often than this within one group are summarised ("等 N 处").
MAX_ITEMS_PER_GROUP = 20


# --------------------------------------------------------------------------- what reaches units


def unit_facing(code: str, severity: str = Severity.ERROR) -> bool:
    """Whether a finding of this code may be shown to the submitting unit."""
    return audience_of(code, severity) is not Audience.STAFF


def _is_deficiency(f: m.Finding) -> bool:
    return blocks_receipt(f.code, f.severity)


def _is_suggestion(f: m.Finding) -> bool:
    return audience_of(f.code, f.severity) is Audience.ADVICE


# --------------------------------------------------------------------------- reading the store


def _group(campaign: Campaign, findings: Iterable[m.Finding]) -> tuple[Problem, ...]:
    """Findings grouped by code, in the order their codes first appear (the rule table order);
    each rule's reason and fix with the campaign's limits and categories filled in."""
    by_code: dict[str, list[m.Finding]] = defaultdict(list)
    for f in findings:
        by_code[f.code].append(f)
    problems = []
    for code, group in by_code.items():
        rule = rule_for(code)
        items = tuple(Item(one_line(f.detail, 500), one_line(f.file) or None) for f in group)
        reason, fix = rule.texts(campaign) if rule else (code, "请与工作组联系确认")
        problems.append(
            Problem(
                code=code,
                reason=reason,
                fix=fix,
                items=items[:MAX_ITEMS_PER_GROUP],
                more=max(0, len(items) - MAX_ITEMS_PER_GROUP),
            )
        )
    return tuple(problems)


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return local_time(value, tz, UNIT_TIME, unknown="（时间未知）")


def days_left(deadline: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days from `now`'s day to the deadline's day, in the campaign's time zone.

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

    The days left are counted from when the message arrived (`now` only when that is unknown):
    a backfill or the demo, answered later, must read as the unit's mail was received.
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
            # Staff waived it: no notice repeats it.
            .where(m.Finding.waived.is_(None))
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
                problems=_group(
                    campaign, (f for f in per_case.get(case.id, []) if _is_deficiency(f))
                ),
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
                    m.Finding.waived.is_(None),
                )
            ),
            key=_rule_order,
        )
    mail_findings = [f for f in findings if f.level != "unit"]
    message_problems = _group(campaign, (f for f in on_message if _is_deficiency(f)))
    unit_problems = _group(campaign, (f for f in unit_findings if _is_deficiency(f)))
    suggestions = _group(
        campaign, (f for f in [*mail_findings, *unit_findings] if _is_suggestion(f))
    )
    arrived = message.received_at or message.date
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
        days_left=days_left(campaign.deadline, _aware(arrived) if arrived else now, tz),
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


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; the store keeps UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@lru_cache(maxsize=1)
def _rule_index() -> dict[str, int]:
    return {rule.code: i for i, rule in enumerate(all_rules())}


def _rule_order(f: m.Finding) -> tuple[int, int]:
    return (_rule_index().get(f.code, 10_000), f.id or 0)
