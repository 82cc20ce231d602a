"""What the console's actions do, without HTTP: each one transaction with its audit row.

The routes (`intake.console.actions`) check the session and the CSRF token, then call these.
Errors a person can fix (no note, a state that does not allow it) raise `ActionError` with the
sentence to show; a missing row raises `NotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from intake.app import App
from intake.replies import queue_reply, rerender_reply
from intake.reply_actions import Action, ReplyActionError, act_on_reply
from intake.triage import case_status
from store import models as m
from store import repo
from store.audit import record
from store.waivers import unwaive, waive

NOTE_MAX = 2000
KINDS = ("submission", "other")


class ActionError(ValueError):
    """The action cannot be done as asked; the text (zh-CN) says why."""


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class Back:
    """The page to show after an action: where its result can be seen."""

    path: str


def _back_for_finding(f: m.Finding, session: Session) -> Back:
    if f.case_id is not None:
        return Back(f"/cases/{f.case_id}")
    if f.level == "unit" and f.unit_id is not None:
        unit = session.get(m.Unit, f.unit_id)
        return Back(f"/units/{unit.name}" if unit else "/")
    return Back(f"/messages/{f.message_id}")


def _note(note: str, required: bool) -> str:
    note = note.strip()
    if required and not note:
        raise ActionError("请填写理由（备注不能为空）")
    if len(note) > NOTE_MAX:
        raise ActionError(f"备注过长（上限 {NOTE_MAX} 字）")
    return note


@dataclass
class Work:
    app: App

    # -- findings --------------------------------------------------------------------------------

    def waive(self, actor: str, finding_id: int, note: str) -> Back:
        note = _note(note, required=True)
        with self.app.sessions() as session, session.begin():
            f = session.get(m.Finding, finding_id)
            if f is None:
                raise NotFound(finding_id)
            waive(session, f, note, actor)
            status = self._restatus(session, f)
            record(
                session, actor, "finding.waive", f"finding:{f.id}", note,
                code=f.code, detail=f.detail, file=f.file, case=f.case_id,
                message=f.message_id, case_status=status,
            )  # fmt: skip
            return _back_for_finding(f, session)

    def restore(self, actor: str, finding_id: int, note: str = "") -> Back:
        note = _note(note, required=False)
        with self.app.sessions() as session, session.begin():
            f = session.get(m.Finding, finding_id)
            if f is None:
                raise NotFound(finding_id)
            if f.waived is None:
                raise ActionError("这个问题没有被豁免")
            unwaive(session, f)
            status = self._restatus(session, f)
            record(
                session, actor, "finding.restore", f"finding:{f.id}", note,
                code=f.code, case=f.case_id, message=f.message_id, case_status=status,
            )  # fmt: skip
            return _back_for_finding(f, session)

    @staticmethod
    def _restatus(session: Session, f: m.Finding) -> str | None:
        if f.case_id is None:
            return None
        session.flush()
        case = session.get_one(m.Case, f.case_id)
        case.status = case_status(session, case)
        return case.status

    # -- messages ------------------------------------------------------------------------------

    def assign_unit(self, actor: str, message_id: int, unit_name: str, note: str = "") -> Back:
        note = _note(note, required=False)
        campaign = self.app.campaign
        unit_name = unit_name.strip()
        if campaign.unit(unit_name) is None:
            raise ActionError(f"“{unit_name}”不是本次征集的报送单位")
        pipeline = self.app.pipeline
        with self.app.sessions() as session, session.begin():
            msg = session.get(m.Message, message_id)
            if msg is None:
                raise NotFound(message_id)
            if msg.kind != "submission" or msg.state != "processed":
                raise ActionError("只有已处理的申报邮件可以指定单位")
            old = msg.unit
            unit = repo.get_or_create_unit(session, unit_name)
            msg.unit = unit
            session.execute(
                update(m.Case).where(m.Case.message_id == msg.id).values(unit_id=unit.id)
            )
            session.flush()
            session.expire_all()
            msg = session.get_one(m.Message, message_id)
            triage = pipeline.triage
            # Its cases are judged again under that unit: names, quota, order, versions.
            triage.retriage_message(session, msg)
            triage.triage_unit(session, unit)
            if old is not None and old.id != unit.id:
                triage.triage_unit(session, session.get_one(m.Unit, old.id))
            reply = queue_reply(session, self.app.campaign, self.app.settings, msg)
            record(
                session, actor, "message.unit", f"message:{msg.id}", note,
                before=old.name if old else None, after=unit_name,
                reply=reply.id if reply else None,
            )  # fmt: skip
        return Back(f"/messages/{message_id}")

    def set_kind(self, actor: str, message_id: int, kind: str, note: str = "") -> Back:
        note = _note(note, required=False)
        if kind not in KINDS:
            raise ActionError("类型只能是“申报材料”或“非申报邮件”")
        with self.app.sessions() as session, session.begin():
            msg = session.get(m.Message, message_id)
            if msg is None:
                raise NotFound(message_id)
            if msg.state == "quarantined":
                raise ActionError("这封邮件无法处理（已隔离），不能更改类型")
            before = msg.kind
            if kind == before:
                raise ActionError("邮件已经是这个类型")
            cancelled: int | None = None
            if kind == "other":
                if session.scalar(select(m.Case.id).where(m.Case.message_id == msg.id).limit(1)):
                    raise ActionError("这封邮件含有案例材料，不能标为非申报邮件")
                msg.kind = "other"
                msg.state = "processed"
                # Findings judge a submission; a mail that is none has nothing to fix.
                session.execute(delete(m.Finding).where(m.Finding.message_id == msg.id))
                cancelled = self._cancel_pending_reply(session, actor, msg.id)
                if msg.unit is not None:
                    self.app.pipeline.triage_unit(session, msg.unit)
            else:
                session.execute(delete(m.Finding).where(m.Finding.message_id == msg.id))
                msg.state = "processed"
                self.app.pipeline.reprocess_as_submission(session, msg)
                session.flush()
                queue_reply(session, self.app.campaign, self.app.settings, msg)
            record(
                session, actor, "message.kind", f"message:{msg.id}", note,
                before=before, after=kind, cancelled_reply=cancelled,
            )  # fmt: skip
        return Back(f"/messages/{message_id}")

    @staticmethod
    def _cancel_pending_reply(session: Session, actor: str, message_id: int) -> int | None:
        reply = session.scalar(select(m.Reply).where(m.Reply.message_id == message_id))
        if reply is None or reply.state not in ("queued", "held"):
            return None
        act_on_reply(session, reply.id, "cancel", actor, "邮件被标为非申报邮件")
        return reply.id

    # -- replies -------------------------------------------------------------------------------

    def reply(
        self, actor: str, reply_id: int, action: Action, note: str = "", *, checked: bool = False
    ) -> Back:
        note = _note(note, required=False)
        with self.app.sessions() as session, session.begin():
            if session.get(m.Reply, reply_id) is None:
                raise NotFound(reply_id)
            try:
                reply = act_on_reply(
                    session, reply_id, action, actor, note, unknown_checked=checked
                )
            except ReplyActionError as exc:
                raise ActionError(str(exc)) from None
            if action == "approve":
                # What staff changed while it was held (a waived finding) shows in what goes out.
                rerender_reply(session, self.app.campaign, self.app.settings, reply)
            return Back(f"/messages/{reply.message_id}")
