"""One raw message in, stored message, cases, files and findings out.

Order matters for never losing or double-processing a message: the raw bytes are stored
durably first, then the message is claimed in the database (unique raw hash and Message-ID),
and only then worked on.  A failure rolls the work back and records the message as
`quarantined` with the error, its raw bytes kept for staff.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Literal

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from parsers.archives import expand
from parsers.body import extract_contact, find_cloud_links
from parsers.campaign import Campaign
from parsers.classify import classify_automatic
from parsers.grouping import group_files
from parsers.mail import parse_mail
from parsers.model import CaseGroup, Kind, ParsedMail
from parsers.subject import find_unit_in_names, match_subject
from store import models as m
from store import repo
from store.blobs import BlobStore, sha256_hex
from validators.base import Finding, Severity
from validators.facts import CaseFacts, FileFacts, MessageFacts
from validators.registry import judge_case, judge_message, rule_for

log = logging.getLogger(__name__)

Outcome = Literal["processed", "ignored", "duplicate", "quarantined"]
MAX_ATTEMPTS = 3


@dataclass
class Pipeline:
    campaign: Campaign
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore

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
        dedupe_key = f"{sender}|{message_id}" if message_id else None
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
            return outcome
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
                if existing is not None:
                    if existing.state != "received":
                        return None
                    # Claimed earlier by a run that died mid-work: try again, a bounded number
                    # of times, so one poison message cannot loop forever.
                    existing.attempts += 1
                    if existing.attempts > MAX_ATTEMPTS:
                        existing.state = "quarantined"
                        existing.error = existing.error or "processing never finished"
                        return None
                    return existing.id
                src = repo.get_or_create_source(session, source)
                msg = m.Message(
                    raw_sha256=digest,
                    dedupe_key=dedupe_key,
                    source_id=src.id,
                    source_key=source_key,
                    size=len(raw),
                    received_at=arrived_at or _arrival_time(raw),
                    state="received",
                    attempts=1,
                )
                session.add(msg)
                session.flush()
                return msg.id
        except IntegrityError:
            # Another worker claimed the same message between our check and insert.
            return None

    def _quarantine(self, message_pk: int, exc: BaseException) -> None:
        with self.sessions() as session, session.begin():
            msg = session.get_one(m.Message, message_pk)
            msg.state = "quarantined"
            msg.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
            msg.processed_at = datetime.now(UTC)

    # -- work ----------------------------------------------------------------------------------

    def _process(self, session: Session, msg: m.Message, raw: bytes) -> Outcome:
        mail = parse_mail(raw)
        msg.message_id = mail.message_id
        msg.sender = mail.from_addr
        msg.sender_name = mail.from_name[:320]
        msg.subject = mail.subject
        msg.date = mail.date
        if msg.received_at is None:
            msg.received_at = mail.date
        automatic = classify_automatic(mail)
        if automatic is not None:
            msg.kind = automatic
            msg.state = "ignored"
            msg.processed_at = datetime.now(UTC)
            return "ignored"
        subject = match_subject(mail.subject, self.campaign)
        expanded = expand(mail.attachments)
        cloud_links = find_cloud_links(mail.text, mail.html)
        kind: Kind = (
            "submission"
            if subject.unit
            or mail.attachments
            or cloud_links
            or _mentions_call(mail, self.campaign)
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
            contact.name,
            contact.phone,
            contact.email,
        )
        facts = MessageFacts(
            campaign=self.campaign,
            kind=kind,
            subject=mail.subject,
            unit=unit_name,
            subject_deviations=subject.deviations,
            contact=contact,
            attachment_count=len(mail.attachments),
            cloud_links=cloud_links,
            archive_problems=expanded.problems,
            received_at=msg.received_at,
        )
        _add_findings(session, judge_message(facts), message=msg, unit=unit)

        grouping = group_files(expanded.files)
        for file in grouping.unit_files:
            session.add(
                self._file_row(msg, None, file.path, file.role, file.data, file.content_type)
            )
        for group in grouping.cases:
            self._store_case(session, msg, unit, unit_name, group)
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
    ) -> None:
        case = m.Case(
            unit=unit,
            message=msg,
            key=group.key,
            name=case_name_from_hint(group.name_hint, unit_name, self.campaign),
            fields={},
        )
        session.add(case)
        session.flush()
        file_facts = []
        for f in group.files:
            row = self._file_row(msg, case, f.path, f.role, f.data, f.content_type)
            session.add(row)
            file_facts.append(
                FileFacts(
                    name=row.name, path=row.path, role=f.role, size=row.size, sha256=row.sha256
                )
            )
        facts = CaseFacts(
            campaign=self.campaign, unit=unit_name, key=group.key, name=case.name, files=file_facts
        )
        findings = judge_case(facts)
        _add_findings(session, findings, message=msg, unit=unit, case=case)
        case.status = "deficient" if _has_unit_errors(findings) else "complete"

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
                message_id=message.id if message is not None else None,
                unit_id=unit.id if unit is not None else None,
                case_id=case.id if case is not None else None,
            )
        )


def _has_unit_errors(findings: list[Finding]) -> bool:
    """An error the unit must fix; problems on our side never make a case deficient."""
    for f in findings:
        rule = rule_for(f.code)
        if f.severity is Severity.ERROR and not (rule is not None and rule.staff_only):
            return True
    return False


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


def _mentions_call(mail: ParsedMail, campaign: Campaign) -> bool:
    return any(k in mail.subject for k in campaign.subject_keywords)


def _identity(raw: bytes) -> tuple[str, str | None]:
    """Sender and Message-ID from the headers alone, before the full (costly) parse."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        addresses = getaddresses([str(headers.get("From", ""))])
        sender = addresses[0][1].strip().lower() if addresses else ""
        mid = str(headers.get("Message-ID", "") or "").strip().strip("<>").strip()
        return sender, (mid or None)
    except Exception:  # malformed headers: identity by raw hash only
        return "", None


def _arrival_time(raw: bytes) -> datetime | None:
    """When our server got it: the date of the newest Received header, else None."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        received = headers.get_all("Received") or []
        for value in received[:1]:
            stamp = str(value).rsplit(";", 1)[-1].strip()
            when = parsedate_to_datetime(stamp)
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    except Exception:  # an unparseable stamp falls back to the Date header
        return None
    return None
