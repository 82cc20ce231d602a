"""One raw message in, stored message, cases, files and findings out.

Order matters for never losing or double-processing a message: the raw bytes are stored
durably first, then the message is claimed in the database (unique raw hash and Message-ID),
and only then worked on.  A failure rolls the work back and records the message as
`quarantined` with the error, its raw bytes kept for staff.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Literal

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from campaign import Campaign
from intake.config import Settings
from intake.locks import pid_alive
from intake.reading import ReadCase, StoredFile, read_candidate_entries, read_cases
from intake.replies import queue_reply
from parsers.archives import expand
from parsers.body import extract_contact, find_cloud_links
from parsers.candidates import order_from_name
from parsers.classify import classify_automatic
from parsers.grouping import group_files
from parsers.mail import parse_mail
from parsers.model import Attachment, CaseGroup, CloudLink, Contact, Expanded, Kind, ParsedMail
from parsers.subject import find_unit_in_names, is_reply, match_subject
from store import models as m
from store import repo
from store.blobs import BlobStore, sha256_hex
from validators.base import Finding
from validators.facts import CaseFacts, FileFacts, MessageFacts, UnitCase, UnitFacts
from validators.matching import find_previously_selected, match_candidate_order, same_case
from validators.registry import blocks_receipt, judge_case, judge_message, judge_unit

log = logging.getLogger(__name__)

Outcome = Literal["processed", "ignored", "duplicate", "quarantined"]
MAX_ATTEMPTS = 3


@dataclass
class Pipeline:
    campaign: Campaign
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    settings: Settings
    libreoffice: str | None = None
    workers: int = 2
    # Off for a backfill of old mail, which was answered when it first arrived.
    replies: bool = True

    def ingest(
        self,
        raw: bytes,
        *,
        source: str = "files",
        source_key: str | None = None,
        arrived_at: datetime | None = None,
    ) -> Outcome:
        digest = sha256_hex(raw)
        sender, message_id = _identity(raw)
        # Hashed: a hostile Message-ID of any length still fits the column.
        dedupe_key = sha256_hex(f"{sender}|{message_id}".encode()) if message_id else None
        if self._known(digest, dedupe_key):
            return "duplicate"
        self.blobs.put(raw)
        claimed = self._claim(raw, digest, dedupe_key, source, source_key, arrived_at)
        if claimed is None:
            return "duplicate"
        try:
            with self.sessions() as session, session.begin():
                msg = session.get_one(m.Message, claimed)
                outcome = self._process(session, msg, raw)
                session.flush()
                # Queued in the same transaction as the findings it reports: a crash leaves
                # neither, and the retry queues exactly one reply.
                if self.replies:
                    queue_reply(session, self.campaign, self.settings, msg)
            return outcome
        except TRANSIENT_ERRORS:
            # The database or the disk failed, not the message: leave it claimed by us, so the
            # next attempt (a later poll; attempts are counted) takes it up again.
            log.exception("message %s: transient failure, will retry", claimed)
            raise
        except Exception as exc:  # a poison message must not stop the run
            log.exception("message %s failed", claimed)
            self._quarantine(claimed, exc)
            return "quarantined"

    def _known(self, digest: str, dedupe_key: str | None) -> bool:
        with self.sessions() as session:
            existing = repo.find_same_message(session, digest, dedupe_key)
            return existing is not None and existing.state != "received"

    # -- claim ---------------------------------------------------------------------------------

    def _claim(
        self,
        raw: bytes,
        digest: str,
        dedupe_key: str | None,
        source: str,
        source_key: str | None,
        arrived_at: datetime | None,
    ) -> int | None:
        """Insert the message row, or return None when it is already known."""
        try:
            with self.sessions() as session, session.begin():
                existing = repo.find_same_message(session, digest, dedupe_key)
                now = datetime.now(UTC)
                if existing is not None:
                    if existing.state != "received" or not _claim_is_stale(existing, now):
                        # Done, or being worked on right now by another live process.
                        return None
                    # Claimed earlier by a run that died mid-work: try again, a bounded number
                    # of times, so one poison message cannot loop forever.
                    existing.claimed_by, existing.claimed_at = claim_owner(), now
                    existing.attempts += 1
                    if existing.attempts > MAX_ATTEMPTS:
                        existing.state = "quarantined"
                        existing.error = existing.error or "processing never finished"
                        return None
                    return existing.id
                src = repo.get_or_create_source(session, source)
                if source_key and repo.source_key_taken(session, src.id, source_key):
                    # A reused file name or a rewritten mbox: another message at the same
                    # place is still another message.
                    source_key = f"{source_key}#{digest[:16]}"
                msg = m.Message(
                    raw_sha256=digest,
                    dedupe_key=dedupe_key,
                    source_id=src.id,
                    source_key=source_key,
                    size=len(raw),
                    received_at=_plausible(arrived_at) or _arrival_time(raw),
                    state="received",
                    attempts=1,
                    claimed_by=claim_owner(),
                    claimed_at=now,
                )
                session.add(msg)
                session.flush()
                return msg.id
        except IntegrityError:
            # Another worker claimed the same message between our check and insert.
            return None

    def resume_stale(self) -> int:
        """Finish messages whose claim was left by a dead run; their raw bytes are stored."""
        now = datetime.now(UTC)
        with self.sessions() as session:
            stale = [
                (msg.raw_sha256, msg.source_key)
                for msg in session.scalars(select(m.Message).where(m.Message.state == "received"))
                if _claim_is_stale(msg, now)
            ]
        for digest, key in stale:
            self.ingest(self.blobs.get(digest), source_key=key)
        return len(stale)

    def _quarantine(self, message_pk: int, exc: BaseException) -> None:
        with self.sessions() as session, session.begin():
            msg = session.get_one(m.Message, message_pk)
            msg.state = "quarantined"
            msg.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
            msg.processed_at = datetime.now(UTC)

    # -- work ----------------------------------------------------------------------------------

    def _process(self, session: Session, msg: m.Message, raw: bytes) -> Outcome:
        mail = parse_mail(raw)
        msg.message_id = _fit(mail.message_id, 998)
        msg.sender = _fit(mail.from_addr, 320) or ""
        msg.sender_name = _fit(mail.from_name, 320) or ""
        msg.subject = mail.subject
        msg.date = _plausible(mail.date)
        if msg.received_at is None:
            msg.received_at = mail.date
        automatic = classify_automatic(mail)
        if automatic is not None:
            msg.kind = automatic
            msg.state = "ignored"
            msg.processed_at = datetime.now(UTC)
            return "ignored"
        subject = match_subject(mail.subject, self.campaign)
        expanded = expand(materials(mail))
        cloud_links = find_cloud_links(mail.text, mail.html)
        has_materials = bool(materials(mail) or cloud_links)
        names_call = bool(subject.unit or _mentions_call(mail, self.campaign))
        # "收到，谢谢" in reply to our notice names the call but brings nothing: staff read it,
        # and answering it would start a loop.
        kind: Kind = (
            "submission"
            if has_materials or (names_call and not is_reply(mail.subject))
            else "other"
        )
        msg.kind = kind
        if kind == "other":
            msg.state = "processed"
            msg.processed_at = datetime.now(UTC)
            return "processed"

        unit_name = (
            subject.unit
            or repo.unit_of_sender(session, mail.from_addr, msg.id)
            or find_unit_in_names(
                [a.name for a in mail.attachments] + ["/".join(f.path) for f in expanded.files],
                self.campaign,
            )
        )
        unit = repo.get_or_create_unit(session, unit_name) if unit_name else None
        msg.unit = unit
        office = self.campaign.office
        contact = extract_contact(mail.text, ignore=(office.contact, office.phone, office.email))
        msg.contact_name, msg.contact_phone, msg.contact_email = (
            _fit(contact.name, 255),
            _fit(contact.phone, 64),
            _fit(contact.email, 320),
        )
        facts = _message_facts(
            self.campaign, mail, unit_name, subject.deviations, expanded, cloud_links, msg
        )
        _add_findings(session, judge_message(facts), message=msg, unit=unit)

        grouping = group_files(expanded.files)
        for a in mail.attachments:
            if a.inline:
                session.add(
                    self._file_row(
                        msg, None, ("（正文内嵌图片）", a.name), "other", a.data, a.content_type
                    )
                )
        for file in grouping.unit_files:
            session.add(
                self._file_row(msg, None, file.path, file.role, file.data, file.content_type)
            )
        cases = [self._store_case(session, msg, unit, unit_name, g) for g in grouping.cases]
        session.flush()
        self._triage_cases(session, cases, unit_name)
        if unit is not None:
            self.triage_unit(session, unit)
        msg.state = "processed"
        msg.processed_at = datetime.now(UTC)
        return "processed"

    def _store_case(
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
            session.add(self._file_row(msg, case, f.path, f.role, f.data, f.content_type))
        return case

    # -- triage over stored files (shared by ingest and retriage) -----------------------------

    def _triage_cases(self, session: Session, cases: list[m.Case], unit_name: str | None) -> None:
        stored = [
            [StoredFile(f.id, f.name, f.path, f.role, f.sha256, f.size) for f in c.files]  # type: ignore[arg-type]
            for c in cases
        ]
        reads = read_cases(stored, self.blobs, self.campaign, self.libreoffice, self.workers)
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
            case.contact = _fit(fields.get("联系人"), 255)
            case.mobile = _fit(fields.get("手机"), 64)
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
        findings = judge_case(facts)
        _add_findings(session, findings, message=case.message, unit=case.unit, case=case)
        case.status = "deficient" if _has_unit_errors(findings) else "complete"

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
        entries = read_candidate_entries(lists, self.blobs, self.libreoffice)
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
        _add_findings(session, judge_unit(facts), unit=unit)

    def retriage(self) -> int:
        """Re-run every rule over stored messages and files; no mailbox is read again.

        One transaction per message, so the service's own writes are never locked out for
        the whole run, and one message that fails is logged and skipped, not the run.
        """
        count = 0
        with self.sessions() as session:
            ids = session.scalars(
                select(m.Message.id)
                .where(m.Message.kind == "submission", m.Message.state == "processed")
                .order_by(m.Message.id)
            ).all()
        for pk in ids:
            try:
                with self.sessions() as session, session.begin():
                    self._retriage_message(session, session.get_one(m.Message, pk))
                count += 1
            except Exception:  # one bad message must not stop the others
                log.exception("retriage of message %s failed", pk)
        with self.sessions() as session:
            unit_ids = session.scalars(select(m.Unit.id)).all()
        for pk in unit_ids:
            with self.sessions() as session, session.begin():
                self.triage_unit(session, session.get_one(m.Unit, pk))
        return count

    def _retriage_message(self, session: Session, msg: m.Message) -> None:
        mail = parse_mail(self.blobs.get(msg.raw_sha256))
        subject = match_subject(mail.subject, self.campaign)
        expanded = expand(materials(mail))
        unit_name = msg.unit.name if msg.unit else None
        links = find_cloud_links(mail.text, mail.html)
        facts = _message_facts(
            self.campaign, mail, unit_name, subject.deviations, expanded, links, msg
        )
        session.execute(
            delete(m.Finding).where(m.Finding.message_id == msg.id, m.Finding.level == "message")
        )
        _add_findings(session, judge_message(facts), message=msg, unit=msg.unit)
        cases = list(session.scalars(select(m.Case).where(m.Case.message_id == msg.id)))
        self._triage_cases(session, cases, unit_name)

    def _file_row(
        self,
        msg: m.Message,
        case: m.Case | None,
        path: tuple[str, ...],
        role: str,
        data: bytes,
        content_type: str,
    ) -> m.File:
        digest = self.blobs.put(data)
        return m.File(
            message_id=msg.id,
            case=case,
            role=role,
            name=path[-1],
            path="/".join(path),
            content_type=content_type,
            size=len(data),
            sha256=digest,
            probe={},
        )


def _message_facts(
    campaign: Campaign,
    mail: ParsedMail,
    unit_name: str | None,
    deviations: tuple[str, ...],
    expanded: Expanded,
    cloud_links: list[CloudLink],
    msg: m.Message,
) -> MessageFacts:
    return MessageFacts(
        campaign=campaign,
        kind="submission",
        subject=mail.subject,
        unit=unit_name,
        subject_deviations=deviations,
        contact=Contact(msg.contact_name, msg.contact_phone, msg.contact_email),
        attachment_count=len(materials(mail)),
        cloud_links=cloud_links,
        archive_problems=expanded.problems,
        received_at=msg.received_at,
    )


def _status_from_findings(session: Session, case: m.Case) -> str:
    rows = session.execute(
        select(m.Finding.code, m.Finding.severity).where(m.Finding.case_id == case.id)
    ).all()
    return "deficient" if any(blocks_receipt(code, sev) for code, sev in rows) else "complete"


def _add_findings(
    session: Session,
    findings: list[Finding],
    *,
    message: m.Message | None = None,
    unit: m.Unit | None = None,
    case: m.Case | None = None,
) -> None:
    for f in findings:
        session.add(
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


def _has_unit_errors(findings: list[Finding]) -> bool:
    """An error the unit must fix; problems on our side never make a case deficient."""
    return any(blocks_receipt(f.code, f.severity) for f in findings)


_NAME_NOISE = re.compile(
    r"(推荐材料|申报材料|推荐表|申报表|材料|案例)+$|^[\s\d０-９一二三四五六七八九十、.．_\-—（）()]+"
)


def case_name_from_hint(hint: str, unit: str | None, campaign: Campaign) -> str:
    """`北京市XX推荐材料` → `XX`: the folder name without the unit, numbering and suffix."""
    name = PurePosixPath(hint).stem if "." in hint[-6:] else hint
    name = _NAME_NOISE.sub("", name.strip())
    unit_obj = campaign.unit(unit) if unit else None
    for alias in sorted(unit_obj.names if unit_obj else (), key=len, reverse=True):
        if name.startswith(alias):
            name = name[len(alias) :]
            break
    name = _NAME_NOISE.sub("", name.strip(" -_—"))
    return name.strip(" -_—") or hint


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, OSError)
# How long another host's claim on a message is honoured before it counts as abandoned.
CLAIM_LEASE = timedelta(minutes=30)


def claim_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim_is_stale(msg: m.Message, now: datetime) -> bool:
    """May this process take up a message left in `received`?"""
    owner = msg.claimed_by or ""
    if owner == claim_owner():
        return True  # our own earlier attempt failed transiently
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
        return True
    return msg.claimed_at is None or now - msg.claimed_at > CLAIM_LEASE


def _fit(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def _plausible(when: datetime | None) -> datetime | None:
    """A date a mail can really carry; `9999-12-31 -1200` overflows UTC and the database."""
    if when is None or not 1990 <= when.year <= datetime.now(UTC).year + 1:
        return None
    return when


def materials(mail: ParsedMail) -> list[Attachment]:
    """The attached files, without images embedded in the HTML body (logos, pasted pictures)."""
    return [a for a in mail.attachments if not a.inline]


def _mentions_call(mail: ParsedMail, campaign: Campaign) -> bool:
    return any(k in mail.subject for k in campaign.subject_keywords)


def _headers(raw: bytes) -> Message:
    """The header block alone: the stdlib parser would decode a 100 MB body to find its end."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    block = raw[: min(ends) + 4] if ends else raw[:1_000_000]
    return BytesHeaderParser(policy=compat32).parsebytes(block)


def _identity(raw: bytes) -> tuple[str, str | None]:
    """Sender and Message-ID from the headers alone, before the full (costly) parse."""
    try:
        headers = _headers(raw)
        addresses = getaddresses([str(headers.get("From", ""))])
        sender = addresses[0][1].strip().lower() if addresses else ""
        mid = str(headers.get("Message-ID", "") or "").strip().strip("<>").strip()
        return sender, (mid or None)
    except Exception:  # malformed headers: identity by raw hash only
        return "", None


def _arrival_time(raw: bytes) -> datetime | None:
    """When our server got it: the date of the newest Received header, else None."""
    try:
        headers = _headers(raw)
        received = headers.get_all("Received") or []
        for value in received[:1]:
            stamp = str(value).rsplit(";", 1)[-1].strip()
            when = parsedate_to_datetime(stamp)
            return _plausible(when if when.tzinfo else when.replace(tzinfo=UTC))
    except Exception:  # an unparseable stamp falls back to the Date header
        return None
    return None
