"""Submission: by the candidate (idempotent), and lazy finalization of attempts whose
time (plus grace) is over, on access or from cron.

Who ended an attempt is stored as it happened (``SubmittedBy``): ``timeout`` when the
time ran out, whether the page submitted at zero or the server finalized the attempt
later; ``candidate`` only for a 交卷 while time was left."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.errors import NotFound, PermissionDenied
from exam.models import Attempt, Blueprint, Exam, SubmittedBy
from exam.runner import timing
from exam.runner.helpers import IN_PROGRESS, SUBMITTED
from exam.runner.marking import score_attempt, score_paper
from exam.runner.review import result_dict
from exam.runner.statements import ANSWERS, ATTEMPTS

_HIGHEST_SEQ = (
    select(func.coalesce(func.max(ANSWERS.c.seq), 0))
    .where(ANSWERS.c.attempt_id == bindparam("attempt_id"))
    .scalar_subquery()
)
_FLIP_SUBMITTED = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.id == bindparam("attempt_id"), ATTEMPTS.c.status == IN_PROGRESS)
    .values(
        status=SUBMITTED,
        submitted_at=bindparam("at", type_=ATTEMPTS.c.submitted_at.type),
        submitted_by=bindparam("by"),
        # autosave leaves the attempt row alone; the highest accepted seq is kept here
        last_seq=_HIGHEST_SEQ,
    )
    .returning(ATTEMPTS.c.last_seq)
)
_SUBMIT_ROW = (
    select(
        Attempt.person_id,
        Attempt.status,
        Attempt.paper_id,
        Attempt.deadline_at,
        Attempt.submitted_at,
        Attempt.submitted_by,
        Attempt.score,
        Attempt.max_score,
        Attempt.passed,
        Attempt.last_seq,
        Attempt.attempt_no,
        Exam.grace_seconds,
        Exam.pass_mark,
        Exam.closes_at,
        Exam.result_policy,
        Exam.review_policy,
        Exam.review_released_at,
        Exam.status.label("exam_status"),
        Exam.max_attempts,
        Blueprint.spec,
    )
    .join(Exam, Exam.id == Attempt.exam_id)
    .join(Blueprint, Blueprint.id == Exam.blueprint_id)
    .where(Attempt.id == bindparam("attempt_id"))
)
#: the page submits when its countdown (synchronised with the server's clock) reaches
#: zero; a claim of time-out this close to the deadline is believed, an earlier one not
TIMEOUT_TOLERANCE = dt.timedelta(seconds=3)
CANDIDATE = SubmittedBy.candidate.value
TIMEOUT = SubmittedBy.timeout.value

_MIRRORED = (
    "status",
    "submitted_at",
    "submitted_by",
    "score",
    "max_score",
    "passed",
    "last_seq",
)


def submission_reason(
    deadline_at: dt.datetime, now: dt.datetime, claimed: str | None = None
) -> str:
    """``timeout`` when the submission comes at or after the deadline, or when the page
    says its countdown reached zero and the deadline is at most ``TIMEOUT_TOLERANCE``
    away (clock offset); otherwise ``candidate``."""
    if now >= deadline_at:
        return TIMEOUT
    if claimed == TIMEOUT and deadline_at - now <= TIMEOUT_TOLERANCE:
        return TIMEOUT
    return CANDIDATE


def submit(
    session: Session,
    attempt_id: int,
    person_id: int,
    *,
    now: dt.datetime,
    by: str = CANDIDATE,
    reason: str | None = None,
) -> dict:
    """Submit (idempotent: a second call returns the same result). ``reason`` is what
    the page says (``timeout`` from its countdown); ``submission_reason`` decides what is
    stored.

    Hot path of the submission storm, without ORM objects: one read (attempt, exam,
    blueprint spec); an already submitted attempt returns at once (a duplicate never
    waits on the attempt's row lock); otherwise a conditional UPDATE whose rowcount
    decides who scores, then ``score_paper`` (one read, bulk writes, one UPDATE).
    """
    session.flush()
    conn = session.connection()
    row = conn.execute(_SUBMIT_ROW, {"attempt_id": attempt_id}).one_or_none()
    if row is None:
        raise NotFound("未找到该作答记录。")
    if row.person_id != person_id:
        raise PermissionDenied("这不是您的作答记录。")
    if row.status != IN_PROGRESS:
        return result_dict(attempt_id, row, now)
    if timing.is_expired(row.deadline_at, row.grace_seconds, now):
        at, by = row.deadline_at, TIMEOUT
    else:
        at = now
        if by == CANDIDATE:
            by = submission_reason(row.deadline_at, now, reason)
    last_seq = _flip_submitted(session, attempt_id, at=at, by=by)
    if last_seq is None:
        # a concurrent submission won: report what it stored
        row = conn.execute(_SUBMIT_ROW, {"attempt_id": attempt_id}).one()
        _mirror_attempt(session, attempt_id, row)
        return result_dict(attempt_id, row, now)
    score, max_score, passed = score_paper(
        conn, attempt_id, row.paper_id, row.spec, row.pass_mark, blank_saved_at=at
    )
    values = {
        "status": SUBMITTED,
        "submitted_at": at,
        "submitted_by": by,
        "score": score,
        "max_score": max_score,
        "passed": passed,
        "last_seq": last_seq,
    }
    _mirror_attempt(session, attempt_id, values)
    return result_dict(attempt_id, {**row._asdict(), **values}, now)


def _mirror_attempt(session: Session, attempt_id: int, values) -> None:
    """Core writes bypass the identity map: copy them onto a loaded ``Attempt``."""
    attempt = session.identity_map.get(identity_key(Attempt, attempt_id))
    if attempt is None:
        return
    get = values.get if isinstance(values, dict) else values._mapping.get
    for name in _MIRRORED:
        set_committed_value(attempt, name, get(name))
    session.expire(attempt, ["answers"])


def finalize_if_expired(session: Session, attempt: Attempt, now: dt.datetime) -> bool:
    """Lazy finalization: submit and score an in-progress attempt whose time (plus
    grace) is over. Returns True if it was finalized now."""
    if attempt.status != IN_PROGRESS:
        return False
    if not timing.is_expired(attempt.deadline_at, attempt.exam.grace_seconds, now):
        return False
    _mark_submitted(session, attempt, at=attempt.deadline_at, by=TIMEOUT)
    score_attempt(session, attempt)
    return True


def finalize_expired(session: Session, now: dt.datetime) -> int:
    """Submit and score every in-progress attempt whose deadline plus grace has passed
    (for cron: ``jifa exam finalize-expired``). Returns how many were finalized."""
    candidates = session.scalars(
        select(Attempt)
        .where(Attempt.status == IN_PROGRESS, Attempt.deadline_at < now)
        .order_by(Attempt.id)
    ).all()
    return sum(1 for a in candidates if finalize_if_expired(session, a, now))


def _mark_submitted(session: Session, attempt: Attempt, *, at: dt.datetime, by: str) -> bool:
    """Flip the attempt to submitted exactly once (a conditional UPDATE, so concurrent
    duplicate submissions do not both score). Returns True for the winner."""
    last_seq = _flip_submitted(session, attempt.id, at=at, by=by)
    if last_seq is not None:  # mirror the UPDATE on the loaded object without a SELECT
        set_committed_value(attempt, "status", SUBMITTED)
        set_committed_value(attempt, "submitted_at", at)
        set_committed_value(attempt, "submitted_by", by)
        set_committed_value(attempt, "last_seq", last_seq)
    else:
        session.refresh(attempt)
    return last_seq is not None


def _flip_submitted(session: Session, attempt_id: int, *, at: dt.datetime, by: str) -> int | None:
    """``UPDATE attempts SET status='submitted', last_seq=<highest saved seq> ... WHERE
    id=:id AND status='in_progress' RETURNING last_seq``: the one submission that gets a
    row back scores (the others get ``None``)."""
    return (
        session.connection()
        .execute(_FLIP_SUBMITTED, {"attempt_id": attempt_id, "at": at, "by": by})
        .scalar()
    )
