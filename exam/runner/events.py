"""Integrity signals (focus lost, page hidden, paste, takeover ...): evidence for
review that never changes a score."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from exam.models import IntegrityEvent
from exam.runner.helpers import IN_PROGRESS, get_owned_attempt

EVENT_KINDS = {"focus_lost", "page_hidden", "paste", "takeover", "copy", "resume"}
MAX_EVENTS_PER_ATTEMPT = 500


def record_event(
    session: Session,
    attempt_id: int,
    person_id: int,
    body: Any,
    *,
    now: dt.datetime,
    ip: str | None,
    user_agent: str | None,
) -> dict:
    """Store an integrity signal as evidence; it never changes a score."""
    attempt = get_owned_attempt(session, attempt_id, person_id)  # whose, before what
    if not isinstance(body, dict) or body.get("kind") not in EVENT_KINDS:
        raise InvalidInput("未知的事件类型。", details={"allowed": sorted(EVENT_KINDS)})
    if attempt.status != IN_PROGRESS:
        raise Conflict("该作答已结束。")
    count = session.scalar(
        select(func.count())
        .select_from(IntegrityEvent)
        .where(IntegrityEvent.attempt_id == attempt.id)
    )
    if count >= MAX_EVENTS_PER_ATTEMPT:
        return {"recorded": False}
    detail = body.get("detail")
    if detail is not None and not isinstance(detail, dict):
        detail = {"value": str(detail)[:200]}
    if detail and len(str(detail)) > 1000:
        detail = {"truncated": True}
    session.add(
        IntegrityEvent(
            attempt_id=attempt.id,
            kind=body["kind"],
            at=now,
            ip=(ip or "")[:64] or None,
            user_agent=(user_agent or "")[:400] or None,
            detail=detail,
        )
    )
    return {"recorded": True}
