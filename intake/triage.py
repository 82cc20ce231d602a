"""Triage over stored files: store a message's cases, read them, judge them, record findings.

Owns storing case and file rows (bytes into the blob store), reading the stored files of cases
(forms, photos, videos), applying what was read to the case row, the case, message and unit
findings, the versions and recommendation order across a unit's cases, and re-judging a stored
message (`retriage`) without reading a mailbox again.  Shared by ingest and retriage.  A
message's own facts are `intake.message_facts`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campaign import Campaign
from intake.message_facts import facts_from_bytes, message_bytes
from intake.reading import ReadCase, StoredFile, read_candidate_entries, read_cases
from parsers.candidates import order_from_name
from parsers.grouping import case_name_from_hint
from parsers.model import CaseGroup
from parsers.payload import Payload
from parsers.subject import match_subject
from programs.warm_converter import DocumentConverter
from store import models as m
from store.blobs import BlobStore
from store.waivers import apply_waivers
from validators.base import Finding
from validators.facts import CaseFacts, FileFacts, UnitCase, UnitFacts
from validators.matching import find_previously_selected, match_candidate_order, same_case
from validators.registry import blocks_receipt, judge_case, judge_message, judge_unit


@dataclass
class Triage:
    """Stores, reads and judges the cases of one campaign; the pipeline keeps one."""

    campaign: Campaign
    blobs: BlobStore
    libreoffice: str | None = None
    workers: int = 2
    # The supervised warm LibreOffice (None: a cold one per batch).
    warm: DocumentConverter | None = None
    # The report's thumbnail cache, filled as photos are read (None: the report makes them).
    thumbs: Path | None = None

    # -- storing a message's cases -------------------------------------------------------------

    def store_case(
        self,
        session: Session,
        msg: m.Message,
        unit: m.Unit | None,
        unit_name: str | None,
        group: CaseGroup,
    ) -> m.Case:
        case = m.Case(
            unit=unit,
            message=msg,
            key=group.key,
            name=case_name_from_hint(group.name_hint, unit_name, self.campaign),
            fields={},
        )
        session.add(case)
        for f in group.files:
            session.add(self.file_row(msg, case, f.path, f.role, f.payload, f.content_type))
        return case

    def file_row(
        self,
        msg: m.Message,
        case: m.Case | None,
        path: tuple[str, ...],
        role: str,
        payload: Payload,
        content_type: str,
    ) -> m.File:
        digest = self.put(payload)
        return m.File(
            message_id=msg.id,
            case=case,
            role=role,
            name=path[-1],
            path="/".join(path),
            content_type=content_type,
            size=payload.size,
            sha256=digest,
            probe={},
        )

    def put(self, payload: Payload) -> str:
        """The file's sha256, stored now unless the parsers streamed it into the store already."""
        return payload.sha256 if payload.sha256 is not None else self.blobs.put(payload.read())

    # -- triage over stored files (shared by ingest and retriage) -----------------------------

    def read_groups(self, groups: list[CaseGroup]) -> list[ReadCase]:
        """Read a message's cases before anything is written (forms converted, videos probed,
        photos decoded), so that on SQLite no write transaction stays open meanwhile and other
        workers are not kept waiting for the lock.  `triage_cases` then only writes."""
        stored: list[list[StoredFile]] = []
        key = 0
        for g in groups:
            files = []
            for f in g.files:
                key -= 1  # not yet a row: a stand-in key, matched to the row by path and hash
                digest = self.put(f.payload)
                files.append(
                    StoredFile(key, f.path[-1], "/".join(f.path), f.role, digest, f.payload.size)
                )
            stored.append(files)
        return self._read(stored)

    def _read(self, stored: list[list[StoredFile]]) -> list[ReadCase]:
        return read_cases(
            stored,
            self.blobs,
            self.campaign,
            self.libreoffice,
            self.workers,
            warm=self.warm,
            thumbs=self.thumbs,
        )

    def triage_cases(
        self,
        session: Session,
        cases: list[m.Case],
        unit_name: str | None,
        reads: list[ReadCase] | None = None,
    ) -> None:
        """Apply and judge what was read; `reads` from `read_groups`, or read here."""
        if reads is None:
            stored = [
                [StoredFile(f.id, f.name, f.path, f.role, f.sha256, f.size) for f in c.files]  # type: ignore[arg-type]
                for c in cases
            ]
            reads = self._read(stored)
        else:
            reads = [_keyed_by_rows(case, read) for case, read in zip(cases, reads, strict=True)]
        for case, read in zip(cases, reads, strict=True):
            self._apply_read(session, case, read, unit_name)

    def _apply_read(
        self, session: Session, case: m.Case, read: ReadCase, unit_name: str | None
    ) -> None:
        rows = {f.id: f for f in case.files}
        for item in read.files:
            row = rows[item.file.key]
            row.caption = item.caption
            if item.video is not None:
                row.duration_s = item.video.duration_s
                row.probe = asdict(item.video)
            elif item.photo is not None:
                row.probe = asdict(item.photo)
        form = read.form
        if form is not None:
            fields = form.fields
            case.fields = dict(fields)
            case.name = fields.get("案例名称") or case.name
            case.applicant = fields.get("申报单位") or None
            # The columns hold what fits; the form's full text stays in `case.fields`.
            case.contact = fit(fields.get("联系人"), 255)
            case.mobile = fit(fields.get("手机"), 64)
            case.address = fields.get("地址") or None
            case.intro = fields.get("案例简介") or None
            case.opinion = fields.get("推荐单位意见") or None
            case.category = form.categories[0] if len(form.categories) == 1 else None
        case.intro_chars = read.intro_chars
        selected = find_previously_selected(
            case.name,
            case.applicant,
            unit_name,
            self.campaign.previously_selected,
            self.campaign.ineligible_years,
        )
        facts = CaseFacts(
            campaign=self.campaign,
            unit=unit_name,
            key=case.key,
            name=case.name,
            files=[
                FileFacts(
                    name=i.file.name,
                    path=i.file.path,
                    role=i.file.role,
                    size=i.file.size,
                    sha256=i.file.sha256,
                    caption=i.caption,
                    photo=i.photo,
                    video=i.video,
                )
                for i in read.files
            ],
            form=form,
            form_file=read.form_file,
            intro_chars=read.intro_chars,
            form_error=read.form_error,
            converter_missing=read.converter_missing,
            media_notes=read.notes,
            previously_selected=(
                f"{selected.year}年 {selected.unit} {selected.name}" if selected else None
            ),
        )
        session.execute(delete(m.Finding).where(m.Finding.case_id == case.id))
        judged = add_findings(
            session, judge_case(facts), message=case.message, unit=case.unit, case=case
        )
        # A finding staff waived no longer counts toward the case's status.
        case.status = "deficient" if _has_unit_errors(judged) else "complete"

    def triage_unit(self, session: Session, unit: m.Unit) -> None:
        """Versions, recommendation order and unit findings over all the unit's current cases."""
        session.flush()
        cases = list(
            session.scalars(
                select(m.Case)
                .join(m.Message, m.Case.message_id == m.Message.id)
                .where(m.Case.unit_id == unit.id)
                .order_by(m.Message.received_at, m.Message.id, m.Case.id)
            )
        )
        current: list[m.Case] = []
        for case in cases:
            case.version, case.superseded_by_id = 1, None
            if case.status == "superseded":
                case.status = _status_from_findings(session, case)
            earlier = next(
                (
                    c
                    for c in current
                    if c.message_id != case.message_id and same_case(c.name, case.name)
                ),
                None,
            )
            if earlier is not None:
                # A later case of the same name replaces the earlier one (a resubmission).
                earlier.status, earlier.superseded_by_id = "superseded", case.id
                case.version = earlier.version + 1
                current.remove(earlier)
            current.append(case)
        lists = list(
            session.scalars(
                select(m.File)
                .join(m.Message, m.File.message_id == m.Message.id)
                .where(m.Message.unit_id == unit.id, m.File.role == "list")
                .order_by(m.File.id)
            )
        )
        entries = read_candidate_entries(lists, self.blobs, self.libreoffice, self.warm)
        for case in current:
            case.order = match_candidate_order(case.name, entries) if entries else None
            if case.order is None:
                case.order = order_from_name(case.key.rsplit("/", 1)[-1])
        facts = UnitFacts(
            campaign=self.campaign,
            unit=unit.name,
            cases=[UnitCase(c.name, c.category, c.order) for c in current],
            has_list=bool(lists),
        )
        session.execute(
            delete(m.Finding).where(m.Finding.unit_id == unit.id, m.Finding.level == "unit")
        )
        add_findings(session, judge_unit(facts), unit=unit)

    def retriage_message(self, session: Session, msg: m.Message) -> None:
        """Judge a stored message and its cases again from its stored raw bytes (what they
        alone say is kept at ingest: `intake.message_facts`)."""
        said = message_bytes(self.blobs, msg.raw_sha256)
        subject = match_subject(said.subject, self.campaign)
        unit_name = msg.unit.name if msg.unit else None
        facts = facts_from_bytes(self.campaign, said, unit_name, subject.deviations, msg)
        cases = list(session.scalars(select(m.Case).where(m.Case.message_id == msg.id)))
        # Read everything before the first write (see `read_groups`): other workers re-judging
        # on SQLite wait for the lock only while this message's findings are written.
        reads = self._read(
            [
                [StoredFile(f.id, f.name, f.path, f.role, f.sha256, f.size) for f in c.files]  # type: ignore[arg-type]
                for c in cases
            ]
        )
        session.execute(
            delete(m.Finding).where(m.Finding.message_id == msg.id, m.Finding.level == "message")
        )
        add_findings(session, judge_message(facts), message=msg, unit=msg.unit)
        for case, read in zip(cases, reads, strict=True):
            self._apply_read(session, case, read, unit_name)


def _keyed_by_rows(case: m.Case, read: ReadCase) -> ReadCase:
    """A read made before the rows existed, with each file's stand-in key replaced by its row's."""
    rows: dict[tuple[str, str], list[int]] = {}
    for f in case.files:  # in id order, the order they were added: a repeated path pairs up
        rows.setdefault((f.path, f.sha256), []).append(f.id)
    for item in read.files:
        item.file = replace(item.file, key=rows[(item.file.path, item.file.sha256)].pop(0))
    return read


def _status_from_findings(session: Session, case: m.Case) -> str:
    rows = session.execute(
        select(m.Finding.code, m.Finding.severity).where(
            m.Finding.case_id == case.id, m.Finding.waived.is_(None)
        )
    ).all()
    return "deficient" if any(blocks_receipt(code, sev) for code, sev in rows) else "complete"


def add_findings(
    session: Session,
    findings: list[Finding],
    *,
    message: m.Message | None = None,
    unit: m.Unit | None = None,
    case: m.Case | None = None,
) -> list[m.Finding]:
    """Store the findings, each carrying staff's waiver note if one matches (`store.waivers`)."""
    rows = []
    for f in findings:
        rows.append(
            m.Finding(
                level=f.level.value,
                code=f.code,
                severity=f.severity.value,
                detail=f.detail,
                file=f.file,
                data=dict(f.data),
                message_id=message.id if message is not None else None,
                unit_id=unit.id if unit is not None else None,
                case_id=case.id if case is not None else None,
            )
        )
    apply_waivers(session, rows)
    session.add_all(rows)
    return rows


def _has_unit_errors(findings: list[m.Finding]) -> bool:
    """An error the unit must fix; problems on our side never make a case deficient."""
    return any(blocks_receipt(f.code, f.severity) for f in findings if f.waived is None)


def case_status(session: Session, case: m.Case) -> str:
    """The case's status from its stored findings (waived ones do not count); keeps superseded."""
    return case.status if case.status == "superseded" else _status_from_findings(session, case)


def fit(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None
