"""Start or resume an attempt. The attempt limit holds under concurrency; a different
browser resuming an attempt is recorded as a takeover."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core.errors import Conflict, NotFound
from exam.models import Attempt, Exam, ExamMode, ExamStatus, IntegrityEvent, Paper, Participant
from exam.runner import timing
from exam.runner.helpers import IN_PROGRESS
from exam.runner.statements import ATTEMPTS, attempt_insert
from exam.runner.submit import finalize_if_expired

_START_READ = (
    select(
        Exam,
        Participant.id.label("participant_id"),
        Participant.unit_id,
        Participant.extra_minutes,
        Paper.id.label("paper_id"),
    )
    .outerjoin(
        Participant,
        and_(Participant.exam_id == Exam.id, Participant.person_id == bindparam("person_id")),
    )
    .outerjoin(Paper, and_(Paper.exam_id == Exam.id, Paper.person_id == bindparam("person_id")))
    .where(Exam.id == bindparam("exam_id"))
)
_PERSON_ATTEMPTS = (
    select(Attempt)
    .where(Attempt.exam_id == bindparam("exam_id"), Attempt.person_id == bindparam("person_id"))
    .order_by(Attempt.attempt_no)
)


def start_or_resume(
    session: Session,
    exam_id: int,
    person_id: int,
    *,
    now: dt.datetime,
    client_token: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Attempt:
    """Resume the person's in-progress attempt or start the next one.

    The attempt limit holds under concurrency: a second simultaneous start collides on
    the unique (exam, person, attempt_no) and gets the attempt the first one created.
    """
    client = {"client_token": client_token, "now": now, "ip": ip, "user_agent": user_agent}
    # one read for the exam, the person's enrolment and pre-generated paper
    found = session.execute(_START_READ, {"exam_id": exam_id, "person_id": person_id}).first()
    if found is None:
        raise NotFound("未找到该考试。")
    if found.participant_id is None:
        raise NotFound("您不在该考试的考生名单中。")
    existing = list(session.scalars(_PERSON_ATTEMPTS, {"exam_id": exam_id, "person_id": person_id}))
    for attempt in existing:
        finalize_if_expired(session, attempt, now)
    current = next((a for a in existing if a.status == IN_PROGRESS), None)
    if current is not None:
        _note_client(session, current, **client)
        return current

    _check_may_start(found, len(existing), now)
    values = _new_attempt(found, person_id, len(existing) + 1, now, client_token)
    attempt = _insert_attempt(session, values)
    if attempt is not None:
        set_committed_value(attempt, "exam", found.Exam)  # already loaded: no lazy SELECT
        return attempt
    # another request (second tab) created this attempt at the same moment
    winner = session.scalar(
        select(Attempt).where(
            Attempt.exam_id == exam_id,
            Attempt.person_id == person_id,
            Attempt.attempt_no == values["attempt_no"],
        )
    )
    if winner is None or winner.status != IN_PROGRESS:  # pragma: no cover - defensive
        raise Conflict("您的作答次数已用完。")
    _note_client(session, winner, **client)
    return winner


def _check_may_start(found: Any, attempts_used: int, now: dt.datetime) -> None:
    """Refuse a new attempt outside the window, beyond the limit or without a paper."""
    exam: Exam = found.Exam
    if exam.status != ExamStatus.open.value or exam.mode == ExamMode.offline.value:
        raise Conflict("该考试当前未开放。")
    if now < exam.opens_at:
        raise Conflict("考试尚未开始，请在规定时间内进入。")
    if now >= exam.closes_at:
        raise Conflict("考试已结束。")
    if attempts_used >= exam.max_attempts:
        raise Conflict("您的作答次数已用完。")
    if found.paper_id is None:
        raise Conflict("您的试卷尚未生成，请联系考试组织单位。")


def _new_attempt(
    found: Any, person_id: int, attempt_no: int, now: dt.datetime, client_token: str | None
) -> dict:
    """The column values of a new attempt (its deadline fixed at the start)."""
    exam: Exam = found.Exam
    return {
        "exam_id": exam.id,
        "person_id": person_id,
        "paper_id": found.paper_id,
        "unit_id": found.unit_id,
        "attempt_no": attempt_no,
        "status": IN_PROGRESS,
        "started_at": now,
        "deadline_at": timing.deadline(
            now, exam.duration_minutes, found.extra_minutes, exam.closes_at
        ),
        "last_seq": 0,
        "client_token": client_token[:64] if client_token else None,
    }


def _insert_attempt(session: Session, values: dict) -> Attempt | None:
    """Insert the attempt unless (exam, person, attempt_no) exists; ``None`` if another
    request got there first. One Core ``INSERT .. ON CONFLICT DO NOTHING RETURNING id``
    (no savepoint, no unit-of-work flush) on PostgreSQL and SQLite; the returned
    ``Attempt`` is built from the inserted values and attached without a SELECT."""
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - savepoint and flush
        attempt = Attempt(**values)
        try:
            with session.begin_nested():
                session.add(attempt)
                session.flush()
        except IntegrityError:
            return None
        return attempt
    new_id = conn.execute(attempt_insert(dialect), values).scalar()
    if new_id is None:
        return None
    row = dict.fromkeys(ATTEMPTS.c.keys())  # columns not given are NULL, as inserted
    row.update(values, id=new_id)
    attempt = Attempt(**row)
    make_transient_to_detached(attempt)  # "this row exists": persistent once added
    session.add(attempt)
    return attempt


def _note_client(
    session: Session,
    attempt: Attempt,
    client_token: str | None,
    *,
    now: dt.datetime,
    ip: str | None,
    user_agent: str | None,
) -> None:
    """A different browser resuming the attempt is recorded as a takeover."""
    if not client_token or client_token == attempt.client_token:
        return
    if attempt.client_token:
        session.add(
            IntegrityEvent(
                attempt_id=attempt.id,
                kind="takeover",
                at=now,
                ip=(ip or "")[:64] or None,
                user_agent=(user_agent or "")[:400] or None,
                detail={"previous": attempt.client_token[:8], "new": client_token[:8]},
            )
        )
    attempt.client_token = client_token[:64]
