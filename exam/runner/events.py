"""Integrity events: evidence for review that never changes a score.

Only what could be a breach is stored (``IntegrityKind``): the page left for more than
``AWAY_SECONDS`` (hidden or unfocused, measured by the page from leaving to coming
back), text pasted into a fill-in, and a second device resuming the attempt (recorded
by ``start.py``). Reloading, moving within the exam or the browser restoring a tab are
not events: the page does not send them, and the kinds older pages sent are accepted
and ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from exam.models import IntegrityEvent, IntegrityKind, PaperItem
from exam.runner.helpers import IN_PROGRESS, get_owned_attempt
from question_bank.models import QuestionVersion

#: leaving the page for longer than this is an event (the page measures it)
AWAY_SECONDS = 5
#: what the page may report (a second device is detected by the server itself)
PAGE_KINDS = {IntegrityKind.left_page.value, IntegrityKind.paste.value}
#: sent by earlier versions of the page: not integrity events, accepted and dropped
IGNORED_KINDS = {"focus_lost", "page_hidden", "copy", "resume", "reload"}
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
    """Store an integrity event as evidence; it never changes a score."""
    attempt = get_owned_attempt(session, attempt_id, person_id)  # whose, before what
    kind = body.get("kind") if isinstance(body, dict) else None
    if kind not in PAGE_KINDS and kind not in IGNORED_KINDS:
        raise InvalidInput("未知的事件类型。", details={"allowed": sorted(PAGE_KINDS)})
    if attempt.status != IN_PROGRESS:
        raise Conflict("该作答已结束。")
    if kind in IGNORED_KINDS:
        return {"recorded": False}
    raw = body.get("detail")
    detail = _detail(session, attempt.paper_id, kind, raw if isinstance(raw, dict) else {})
    if detail is None:
        return {"recorded": False}
    count = session.scalar(
        select(func.count())
        .select_from(IntegrityEvent)
        .where(IntegrityEvent.attempt_id == attempt.id)
    )
    if count >= MAX_EVENTS_PER_ATTEMPT:
        return {"recorded": False}
    session.add(
        IntegrityEvent(
            attempt_id=attempt.id,
            kind=kind,
            at=now,
            ip=(ip or "")[:64] or None,
            user_agent=(user_agent or "")[:400] or None,
            detail=detail,
        )
    )
    return {"recorded": True}


def _detail(session: Session, paper_id: int, kind: str, raw: dict) -> dict | None:
    """The event's evidence, checked; ``None`` when it is not an integrity event."""
    if kind == IntegrityKind.left_page.value:
        seconds = _number(raw.get("seconds"))
        if seconds is None:
            raise InvalidInput("离开页面事件应注明离开的秒数。")
        if seconds <= AWAY_SECONDS:
            return None  # a glance away (or a reload): not an event
        how = raw.get("how") if raw.get("how") in ("hidden", "blur", "navigation") else None
        return {"seconds": round(min(seconds, 86400.0), 1), "how": how}
    item_id = _number(raw.get("question_id"))
    item_type = (
        session.scalar(
            select(QuestionVersion.type)
            .join(PaperItem, PaperItem.question_version_id == QuestionVersion.id)
            .where(PaperItem.id == int(item_id), PaperItem.paper_id == paper_id)
        )
        if item_id is not None
        else None
    )
    if item_type != "fill_blank":
        return None  # paste elsewhere (or into nothing known) is not an event
    return {"question_id": int(item_id)}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and value >= 0 else None
