"""What the candidate's page reads: the paper with saved answers (never the key), the
attempt's status, and the light read behind the paper page's HTML shell."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from core.errors import NotFound, PermissionDenied
from exam.models import Answer, Attempt, Exam, PaperItem
from exam.runner import timing
from exam.runner.helpers import (
    IN_PROGRESS,
    displayed_options,
    get_owned_attempt,
    iso,
    json_text,
    load_json,
)
from exam.runner.submit import finalize_if_expired
from question_bank.models import QuestionVersion

_PAPER_ROWS = (
    select(
        PaperItem.id,
        PaperItem.position,
        PaperItem.points,
        json_text(PaperItem.option_order),
        QuestionVersion.type,
        QuestionVersion.stem,
        json_text(QuestionVersion.options),
        json_text(QuestionVersion.answer),
        Answer.id,
        json_text(Answer.response),
        Answer.flagged,
        Answer.seq,
    )
    .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
    .outerjoin(
        Answer,
        and_(Answer.paper_item_id == PaperItem.id, Answer.attempt_id == bindparam("attempt_id")),
    )
    .where(PaperItem.paper_id == bindparam("paper_id"))
    .order_by(PaperItem.position)
)


class SavedAnswer(NamedTuple):
    paper_item_id: int
    response: Any
    flagged: bool
    seq: int


_SAVED_ANSWERS = select(
    Answer.paper_item_id, json_text(Answer.response), Answer.flagged, Answer.seq
).where(Answer.attempt_id == bindparam("attempt_id"))


def saved_answers(session: Session, attempt_id: int) -> list[SavedAnswer]:
    rows = session.execute(_SAVED_ANSWERS, {"attempt_id": attempt_id})
    return [
        SavedAnswer(item, load_json(response), flagged, seq)
        for item, response, flagged, seq in rows
    ]


def status_payload(attempt: Attempt, now: dt.datetime, answers=None) -> dict:
    exam = attempt.exam
    data = {
        "attempt_id": attempt.id,
        "exam_id": attempt.exam_id,
        "status": attempt.status,
        "deadline": iso(attempt.deadline_at),
        "accept_until": iso(timing.accept_until(attempt.deadline_at, exam.grace_seconds)),
        "server_time": iso(now),
        "seconds_left": timing.seconds_left(attempt.deadline_at, now)
        if attempt.status == IN_PROGRESS
        else 0,
        "last_seq": attempt.last_seq,
        "submitted_at": iso(attempt.submitted_at),
    }
    if answers is not None:
        data["last_seq"] = max([attempt.last_seq or 0, *(r.seq for r in answers)])
        data["answers"] = {
            str(r.paper_item_id): r.response for r in answers if r.response is not None
        }
        data["flagged"] = [r.paper_item_id for r in answers if r.flagged]
        data["answer_seqs"] = {str(r.paper_item_id): r.seq for r in answers}
    return data


def _question(item_id, position, points, order, typ, stem, options, key) -> dict:
    """One question as the candidate sees it: displayed options, blanks, no key."""
    q = {
        "id": item_id,
        "number": position,
        "type": typ,
        "stem": stem,
        "points": points,
        "options": displayed_options(load_json(options), load_json(order))
        if typ in ("single", "multiple")
        else [],
    }
    if typ == "fill_blank":
        key = load_json(key)
        q["blanks"] = len(key) if isinstance(key, list) else 1
    return q


def candidate_payload(session: Session, attempt: Attempt, now: dt.datetime) -> dict:
    """Everything the paper page needs, and nothing that reveals the key: one read of
    the paper's items with their question versions and saved answers."""
    exam = attempt.exam
    questions, answers = [], []
    rows = session.connection().execute(
        _PAPER_ROWS, {"attempt_id": attempt.id, "paper_id": attempt.paper_id}
    )
    for row in rows:
        item_id, answer_id, response, flagged, seq = row[0], row[8], row[9], row[10], row[11]
        questions.append(_question(*row[:8]))
        if answer_id is not None:
            answers.append(SavedAnswer(item_id, load_json(response), flagged, seq))
    data = status_payload(attempt, now, answers)
    data["exam"] = {
        "id": exam.id,
        "title": exam.title,
        "navigation": exam.navigation,
        "duration_minutes": exam.duration_minutes,
        "instructions": exam.instructions,
    }
    data["questions"] = questions
    return data


class PaperPage(NamedTuple):
    """What the paper page's HTML shell needs (the questions come from the API)."""

    id: int
    exam_id: int
    exam: Any  # .title, .navigation


class _PageExam(NamedTuple):
    title: str
    navigation: str


_PAGE_ROW = (
    select(
        Attempt.person_id,
        Attempt.status,
        Attempt.deadline_at,
        Attempt.exam_id,
        Exam.grace_seconds,
        Exam.title,
        Exam.navigation,
    )
    .join(Exam, Exam.id == Attempt.exam_id)
    .where(Attempt.id == bindparam("attempt_id"))
)


def paper_page(
    session: Session, attempt_id: int, person_id: int, now: dt.datetime
) -> PaperPage | None:
    """The paper page of an attempt still in progress, from one light read; ``None``
    once it is submitted (an expired attempt is finalized here first)."""
    row = session.execute(_PAGE_ROW, {"attempt_id": attempt_id}).one_or_none()
    if row is None:
        raise NotFound("未找到该作答记录。")
    if row.person_id != person_id:
        raise PermissionDenied("这不是您的作答记录。")
    if row.status != IN_PROGRESS:
        return None
    if timing.is_expired(row.deadline_at, row.grace_seconds, now):
        finalize_if_expired(session, get_owned_attempt(session, attempt_id, person_id), now)
        return None
    return PaperPage(attempt_id, row.exam_id, _PageExam(row.title, row.navigation))
