"""What staff may do to a reply, for the console and `intake replies requeue`.

| action | from | to |
|---|---|---|
| approve | held | queued (the next send run delivers it) |
| hold | queued | held |
| cancel | queued, held | cancelled (never sent) |
| requeue | failed; unknown only when staff checked it was not delivered | queued, attempts reset |
| close | unknown | sent (staff saw it arrive) or failed (it did not) |

Each change is one conditional UPDATE (`WHERE state IN …`), so a send run that claims the reply
at the same moment wins cleanly and the action reports that it came too late, and each writes
an audit row in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from store import models as m
from store.audit import record

Action = Literal["approve", "hold", "cancel", "requeue", "close_sent", "close_not_sent"]

STATE_LABELS = {
    "queued": "待发送",
    "held": "待审核",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "unknown": "发送结果不明",
    "cancelled": "已取消",
}


class ReplyActionError(ValueError):
    """The action does not apply to the reply in its present state; the text says why."""


def _allowed(action: Action, unknown_checked: bool) -> tuple[str, ...]:
    if action == "approve":
        return ("held",)
    if action == "hold":
        return ("queued",)
    if action == "cancel":
        return ("queued", "held")
    if action == "requeue":
        return ("failed", "unknown") if unknown_checked else ("failed",)
    return ("unknown",)


def _values(action: Action, now: datetime, actor: str) -> dict[str, Any]:
    if action == "approve":
        return {"state": "queued", "next_attempt_at": None}
    if action == "hold":
        return {"state": "held"}
    if action == "cancel":
        return {"state": "cancelled", "next_attempt_at": None, "error": f"{actor} 取消"}
    if action == "requeue":
        return {"state": "queued", "attempts": 0, "next_attempt_at": None, "error": None}
    if action == "close_sent":
        return {"state": "sent", "sent_at": now, "error": f"{actor} 确认已送达"}
    return {"state": "failed", "next_attempt_at": None, "error": f"{actor} 确认未送达"}


def act_on_reply(
    session: Session,
    reply_id: int,
    action: Action,
    actor: str,
    note: str = "",
    *,
    unknown_checked: bool = False,
) -> m.Reply:
    """Apply `action` inside the caller's transaction; raises ReplyActionError when it does not
    apply (wrong state, or no such reply)."""
    reply = session.get(m.Reply, reply_id)
    if reply is None:
        raise ReplyActionError(f"没有编号为 {reply_id} 的回复")
    before = reply.state
    allowed = _allowed(action, unknown_checked)
    if before not in allowed:
        hint = ""
        if action == "requeue" and before == "unknown":
            hint = (
                "；发送结果不明的回复须先确认对方确实没有收到（--i-checked-it-was-not-delivered）"
            )
        raise ReplyActionError(
            f"回复 {reply_id} 当前为“{STATE_LABELS.get(before, before)}”，不能执行此操作{hint}"
        )
    now = datetime.now(UTC)
    result = cast(
        CursorResult[Any],
        session.execute(
            update(m.Reply)
            .where(m.Reply.id == reply_id, m.Reply.state.in_(allowed))
            .values(**_values(action, now, actor))
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise ReplyActionError(f"回复 {reply_id} 的状态刚刚改变（可能正在发送），请刷新后再试")
    session.refresh(reply)
    record(
        session,
        actor,
        f"reply.{action}",
        f"reply:{reply_id}",
        note,
        before=before,
        after=reply.state,
    )
    return reply
