"""The exam window and the time of each candidate: open and close, extend the
window, extra time as an accommodation or after an incident. Only the exam's managers
act; every change is audited. Services take a session, ``now`` and the caller's
``Scope``; they never commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts.scope import Scope
from core.audit import record
from core.errors import Conflict, InvalidInput
from core.org.models import Person
from exam.admin.access import participant_in_scope, require_manage
from exam.models import Attempt, AttemptStatus, Exam, ExamStatus, Participant


def _set_status(session: Session, exam: Exam, status: str, *, actor, now: dt.datetime) -> Exam:
    before = exam.status
    exam.status = status
    session.flush()
    action = "exam.open" if status == ExamStatus.open.value else "exam.close"
    record(
        session, actor, action, "exam", exam.id,
        before={"status": before}, after={"status": status}, at=now,
    )  # fmt: skip
    return exam


def open_exam(session: Session, exam: Exam, *, scope: Scope, actor, now: dt.datetime) -> Exam:
    require_manage(exam, scope, "只有主办单位的管理员可以开放此考试。")
    if exam.status == ExamStatus.open.value:
        raise Conflict("考试已经开放。")
    if exam.closes_at <= now:
        raise Conflict("考试结束时间已过，请先延长考试窗口。")
    return _set_status(session, exam, ExamStatus.open.value, actor=actor, now=now)


def close_exam(session: Session, exam: Exam, *, scope: Scope, actor, now: dt.datetime) -> Exam:
    require_manage(exam, scope, "只有主办单位的管理员可以关闭此考试。")
    if exam.status == ExamStatus.closed.value:
        raise Conflict("考试已经关闭。")
    return _set_status(session, exam, ExamStatus.closed.value, actor=actor, now=now)


def _natural_deadline(attempt: Attempt, exam: Exam, extra_minutes: int) -> dt.datetime:
    return min(
        attempt.started_at + dt.timedelta(minutes=exam.duration_minutes + extra_minutes),
        exam.closes_at,
    )


def extend_window(
    session: Session,
    exam: Exam,
    until: dt.datetime,
    *,
    scope: Scope,
    actor,
    now: dt.datetime,
    reason: str = "",
) -> int:
    """Move the window's close later. In-progress attempts that were cut short by the
    old close get the time their duration allows, up to the new close. Returns how
    many attempts got a later deadline."""
    require_manage(exam, scope, "只有主办单位的管理员可以延长考试窗口。")
    if until <= exam.closes_at:
        raise InvalidInput("新的结束时间必须晚于当前结束时间。")
    before = exam.closes_at
    exam.closes_at = until
    extra = dict(
        session.execute(
            select(Participant.person_id, Participant.extra_minutes).where(
                Participant.exam_id == exam.id
            )
        ).all()
    )
    moved = 0
    for attempt in session.scalars(
        select(Attempt).where(
            Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.in_progress.value
        )
    ):
        target = _natural_deadline(attempt, exam, extra.get(attempt.person_id, 0))
        if target > attempt.deadline_at:
            attempt.deadline_at = target
            moved += 1
    session.flush()
    record(
        session,
        actor,
        "exam.extend_window",
        "exam",
        exam.id,
        before={"closes_at": before.isoformat()},
        after={"closes_at": until.isoformat(), "attempts_extended": moved, "reason": reason},
        at=now,
    )
    return moved


def set_extra_time(
    session: Session,
    exam: Exam,
    person: Person,
    minutes: int,
    reason: str,
    *,
    scope: Scope,
    actor,
    now: dt.datetime,
) -> Participant:
    """Accommodation: ``minutes`` extra on top of the duration (replaces the previous
    value), with a reason. An in-progress attempt gets its deadline recomputed."""
    require_manage(exam, scope, "只有主办单位的管理员可以设置延时。")
    if not isinstance(minutes, int) or minutes < 0 or minutes > 24 * 60:
        raise InvalidInput("延长时间应为 0 到 1440 之间的整数（分钟）。")
    if not (reason or "").strip():
        raise InvalidInput("请填写延时原因。")
    part = participant_in_scope(session, exam, person, scope)
    before = {"extra_minutes": part.extra_minutes, "reason": part.extra_reason}
    part.extra_minutes = minutes
    part.extra_reason = reason.strip()
    attempt = _in_progress_attempt(session, exam, person)
    if attempt is not None:
        target = _natural_deadline(attempt, exam, minutes)
        if target > attempt.deadline_at:
            attempt.deadline_at = target
    session.flush()
    record(
        session,
        actor,
        "exam.extra_time",
        "participant",
        part.id,
        before={"person_no": person.person_no, **before},
        after={"person_no": person.person_no, "extra_minutes": minutes, "reason": reason.strip()},
        at=now,
    )
    return part


def extend_person_time(
    session: Session,
    exam: Exam,
    person: Person,
    minutes: int,
    reason: str,
    *,
    scope: Scope,
    actor,
    now: dt.datetime,
) -> Attempt | None:
    """During an incident: ``minutes`` more for one person. Adds to their extra time
    and pushes an in-progress attempt's deadline by ``minutes`` (even past the window's
    close, since the time was lost through no fault of theirs)."""
    require_manage(exam, scope, "只有主办单位的管理员可以延长考生时间。")
    if not isinstance(minutes, int) or minutes <= 0 or minutes > 24 * 60:
        raise InvalidInput("延长时间应为 1 到 1440 之间的整数（分钟）。")
    if not (reason or "").strip():
        raise InvalidInput("请填写延时原因。")
    part = participant_in_scope(session, exam, person, scope)
    attempt = _in_progress_attempt(session, exam, person)
    before = {
        "person_no": person.person_no,
        "extra_minutes": part.extra_minutes,
        "deadline_at": attempt.deadline_at.isoformat() if attempt else None,
    }
    part.extra_minutes += minutes
    part.extra_reason = "；".join(x for x in (part.extra_reason, reason.strip()) if x)
    if attempt is not None:
        attempt.deadline_at = max(attempt.deadline_at, now) + dt.timedelta(minutes=minutes)
    session.flush()
    record(
        session,
        actor,
        "exam.extend_person",
        "participant",
        part.id,
        before=before,
        after={
            "person_no": person.person_no,
            "extra_minutes": part.extra_minutes,
            "deadline_at": attempt.deadline_at.isoformat() if attempt else None,
            "minutes": minutes,
            "reason": reason.strip(),
        },
        at=now,
    )
    return attempt


def _in_progress_attempt(session: Session, exam: Exam, person: Person) -> Attempt | None:
    return session.scalar(
        select(Attempt)
        .where(
            Attempt.exam_id == exam.id,
            Attempt.person_id == person.id,
            Attempt.status == AttemptStatus.in_progress.value,
        )
        .order_by(Attempt.attempt_no.desc())
        .limit(1)
    )
