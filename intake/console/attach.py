"""Materials staff attach to a message: the zip a unit sent as a cloud link, fetched by hand.

The upload becomes a mail of its own, as if the unit had attached the files: same sender, same
subject, a References header to the original, the unit's contact lines in the body, and the
files as attachments.  It is ingested through the pipeline (`intake.pipeline.Pipeline.ingest`),
so it goes through the very expansion, grouping, triage and reply queueing that mailed
attachments do — and the reply is threaded, counted and limited like any other.  Why a mail of
its own and not more files on the original: one message has one reply (a database key), and
the unit must get the receipt or notice for these materials.

The raw uploads are kept in the blob store (and inside the stored mail); the original's
`CLOUD_LINK` (and `NO_MATERIALS`) findings are marked resolved with a waiver naming the upload.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import select

from intake.app import App
from intake.console.work import ActionError, Back, NotFound, Work
from parsers.sniff import sniff_type
from store import models as m
from store.audit import record
from store.blobs import sha256_hex
from store.waivers import waive

RESOLVED_CODES = ("CLOUD_LINK", "NO_MATERIALS")
MAX_FILES = 50


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def _clean_name(name: str) -> str:
    # A browser sends a base name; anything else is cut to its last part (the pipeline's own
    # expansion treats names as hostile as well).
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:200] or "upload.bin"


def upload_mail(original: m.Message, uploads: list[Upload], actor: str, domain: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = (
        formataddr((original.sender_name, original.sender))
        if original.sender_name
        else original.sender
    )
    mail["To"] = "intake@localhost"
    mail["Subject"] = original.subject or "（无主题）"
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid("console-upload", domain=domain)
    if original.message_id:
        mail["References"] = f"<{original.message_id.strip('<>')}>"
    mail["X-Intake-Uploaded-By"] = actor
    contact = [
        f"联系人：{original.contact_name}" if original.contact_name else "",
        f"联系电话：{original.contact_phone}" if original.contact_phone else "",
        f"邮箱：{original.contact_email}" if original.contact_email else "",
    ]
    body = [
        f"工作人员 {actor} 代为上传的材料（原邮件编号 {original.id}）。",
        *filter(None, contact),
    ]
    mail.set_content("\n".join(body) + "\n", cte="base64")
    for up in uploads:
        maintype, _, subtype = sniff_type(up.data, up.name).partition("/")
        mail.add_attachment(
            up.data, maintype=maintype, subtype=subtype or "octet-stream", filename=up.name
        )
    return mail.as_bytes(policy=SMTP)


def attach_files(app: App, actor: str, message_id: int, uploads: list[Upload]) -> Back:
    uploads = [Upload(_clean_name(u.name), u.data) for u in uploads if u.data]
    if not uploads:
        raise ActionError("请选择要上传的文件")
    if len(uploads) > MAX_FILES:
        raise ActionError(f"一次最多上传 {MAX_FILES} 个文件")
    with app.sessions() as session:
        original = session.get(m.Message, message_id)
        if original is None:
            raise NotFound(message_id)
        if original.kind != "submission" or original.state != "processed":
            raise ActionError("只能向已处理的申报邮件补充材料")
        original.unit  # noqa: B018 - loaded before the row leaves the session
        session.expunge(original)
    for up in uploads:
        app.blobs.put(up.data)
    domain = (original.sender.rsplit("@", 1)[-1] or "localhost").strip(">")
    raw = upload_mail(original, uploads, actor, domain)
    key = f"console:{message_id}:{uuid.uuid4().hex}"
    outcome = app.pipeline.ingest(
        raw, source="console", source_key=key, arrived_at=original.received_at
    )
    with app.sessions() as session:
        new = session.scalar(select(m.Message).where(m.Message.source_key == key))
        new_id = new.id if new is not None else None
        reassign = (
            new is not None
            and new.kind == "submission"
            and original.unit_id is not None
            and new.unit_id != original.unit_id
        )
        unit_name = original.unit.name if reassign and original.unit else None
    if new_id is not None and unit_name:
        # The upload has the original's sender and subject; when staff assigned the unit by
        # hand, only the original knows it.
        Work(app).assign_unit(actor, new_id, unit_name, "补充材料沿用原邮件的单位")
    with app.sessions() as session, session.begin():
        note = f"材料已由 {actor} 上传（邮件编号 {new_id}）"
        for f in session.scalars(
            select(m.Finding).where(
                m.Finding.message_id == message_id,
                m.Finding.level == "message",
                m.Finding.code.in_(RESOLVED_CODES),
                m.Finding.waived.is_(None),
            )
        ):
            waive(session, f, note, actor)
        files = [
            {"name": u.name, "size": len(u.data), "sha256": sha256_hex(u.data)} for u in uploads
        ]
        record(
            session, actor, "message.attach", f"message:{message_id}", "",
            files=files, outcome=outcome, upload_message=new_id,
        )  # fmt: skip
    if outcome == "quarantined":
        raise ActionError(f"上传的材料无法处理，已作为邮件 {new_id} 保存供工作人员查看")
    return Back(f"/messages/{new_id or message_id}")
