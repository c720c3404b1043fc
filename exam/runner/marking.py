"""Scoring an attempt and regrading an exam.

``score_attempt`` is used by submission, lazy finalization, regrading and the offline
answer-sheet import; ``score_paper`` is the Core pass behind it (one read, bulk writes).
"""

from __future__ import annotations

import datetime as dt
import functools
import json

from sqlalchemy import and_, bindparam, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.audit import Actor, record
from core.db import UTCDateTime
from exam.keys import key_in_force
from exam.models import Answer, Attempt, Blueprint, Exam, PaperItem
from exam.runner.helpers import SUBMITTED, json_text, load_json
from exam.runner.statements import ANSWERS, ATTEMPTS
from exam.scoring import ItemKey, check_answer, section_spec
from question_bank.models import Question, QuestionVersion

_SCORE_ROWS = (
    select(
        PaperItem.id,
        PaperItem.section,
        PaperItem.points,
        json_text(PaperItem.option_order),
        QuestionVersion.type,
        json_text(QuestionVersion.options),
        json_text(key_in_force()),
        Answer.id,
        json_text(Answer.response),
        json_text(Question.synonyms),
    )
    .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
    .join(Question, Question.id == QuestionVersion.question_id)
    .outerjoin(
        Answer,
        and_(Answer.paper_item_id == PaperItem.id, Answer.attempt_id == bindparam("attempt_id")),
    )
    .where(PaperItem.paper_id == bindparam("paper_id"))
)
_INSERT_ANSWERS = insert(ANSWERS)
_SET_MARKS = (
    update(ANSWERS)
    .where(ANSWERS.c.id == bindparam("b_id"))
    .values(marks=bindparam("b_marks"), is_correct=bindparam("b_ok"))
)
_SET_SCORE = (
    update(ATTEMPTS)
    .where(ATTEMPTS.c.id == bindparam("b_id"))
    .values(score=bindparam("b_score"), max_score=bindparam("b_max"), passed=bindparam("b_passed"))
)
_PG_WRITE_SCORE = text(
    """
    WITH marks AS (
        INSERT INTO answers
            (attempt_id, paper_item_id, response, flagged, seq, saved_at, marks, is_correct)
        SELECT :attempt_id, u.item_id, CAST('null' AS JSON), false, 0, :saved_at, u.marks, u.ok
        FROM unnest(
            CAST(:item_ids AS INTEGER[]),
            CAST(:marks AS DOUBLE PRECISION[]),
            CAST(:oks AS BOOLEAN[])
        ) AS u(item_id, marks, ok)
        ON CONFLICT (attempt_id, paper_item_id)
        DO UPDATE SET marks = excluded.marks, is_correct = excluded.is_correct
    )
    UPDATE attempts SET score = :score, max_score = :max_score, passed = :passed
    WHERE id = :attempt_id
    """
).bindparams(bindparam("saved_at", type_=UTCDateTime()))

#: (paper item id, answer id or None, marks, is correct)
Marked = tuple[int, int | None, float, bool]


@functools.lru_cache(maxsize=4096)
def _check_texts(
    typ: str,
    answer_t: str,
    points: float,
    order_t: str | None,
    options_t: str | None,
    section_t: str,
    response_t: str | None,
    synonyms_t: str | None = None,
) -> tuple[float, float, bool]:
    """``check_answer`` on the stored JSON texts of one item and response: pure, so
    memoized (the same item, option order and response recur across an exam's
    attempts). Returns ``(marks, max_marks, is_correct)``."""
    key = ItemKey(
        type=typ,
        answer=load_json(answer_t),
        points=float(points),
        option_order=tuple(load_json(order_t) or ()),
        authored_keys=tuple(o["key"] for o in (load_json(options_t) or [])),
        section=load_json(section_t),
        synonyms=tuple(tuple(g) for g in load_json(synonyms_t) or ()),
    )
    result = check_answer(load_json(response_t), key)
    return result.marks, result.max_marks, result.is_correct


def _mark_items(conn, attempt_id: int, paper_id: int, spec: dict | None):
    """Check every item of the paper against the saved answers, from one read.
    Returns ``(marked items, total, max total)``."""
    marked: list[Marked] = []
    total = max_total = 0.0
    sections: dict[int, str] = {}
    rows = conn.execute(_SCORE_ROWS, {"attempt_id": attempt_id, "paper_id": paper_id})
    for item_id, section, points, order, typ, options, answer, answer_id, response, syn in rows:
        section_t = sections.get(section)
        if section_t is None:
            section_t = sections[section] = json.dumps(section_spec(spec, section), sort_keys=True)
        marks, max_marks, is_correct = _check_texts(
            typ, answer, points, order, options, section_t, response, syn
        )
        total += marks
        max_total += max_marks
        marked.append((item_id, answer_id, marks, is_correct))
    return marked, total, max_total


def _write_marks(conn, attempt_id: int, marked: list[Marked], score, blank_saved_at) -> None:
    """Marks on the saved answers, blank answer rows for unanswered items, the score on
    the attempt. PostgreSQL: one statement (an upsert over arrays and the score);
    elsewhere one executemany UPDATE, one INSERT and one UPDATE."""
    score_value, max_score, passed = score
    if conn.dialect.name == "postgresql":
        conn.execute(
            _PG_WRITE_SCORE,
            {
                "attempt_id": attempt_id,
                "saved_at": blank_saved_at,
                "item_ids": [m[0] for m in marked],
                "marks": [m[2] for m in marked],
                "oks": [m[3] for m in marked],
                "score": score_value,
                "max_score": max_score,
                "passed": passed,
            },
        )
        return
    updates = [{"b_id": a, "b_marks": m, "b_ok": ok} for _, a, m, ok in marked if a is not None]
    if updates:
        conn.execute(_SET_MARKS, updates)
    inserts = [
        {
            "attempt_id": attempt_id,
            "paper_item_id": item_id,
            "response": None,
            "flagged": False,
            "seq": 0,
            "saved_at": blank_saved_at,
            "marks": m,
            "is_correct": ok,
        }
        for item_id, a, m, ok in marked
        if a is None
    ]
    if inserts:
        conn.execute(_INSERT_ANSWERS, inserts)
    conn.execute(
        _SET_SCORE,
        {"b_id": attempt_id, "b_score": score_value, "b_max": max_score, "b_passed": passed},
    )


def score_paper(
    conn,
    attempt_id: int,
    paper_id: int,
    spec: dict | None,
    pass_mark: float,
    *,
    blank_saved_at: dt.datetime,
) -> tuple[float, float, bool]:
    """Score an attempt in one pass over one read (paper items joined with their
    question versions and saved answers) and write the marks and the score.
    Returns ``(score, max_score, passed)``."""
    marked, total, max_total = _mark_items(conn, attempt_id, paper_id, spec)
    score, max_score = round(total, 4), round(max_total, 4)
    result = (score, max_score, score >= pass_mark)
    _write_marks(conn, attempt_id, marked, result, blank_saved_at)
    return result


def score_attempt(session: Session, attempt: Attempt) -> float:
    """Score every item of the attempt's paper (a missing answer scores 0 and gets a
    blank answer row), set ``Answer.marks/is_correct`` and ``attempt.score``,
    ``max_score`` and ``passed``. Used by submit, finalization, regrading and the
    offline answer-sheet import."""
    exam = attempt.exam
    spec = session.scalar(select(Blueprint.spec).where(Blueprint.id == exam.blueprint_id))
    session.flush()
    score, max_score, passed = score_paper(
        session.connection(),
        attempt.id,
        attempt.paper_id,
        spec,
        exam.pass_mark,
        blank_saved_at=attempt.submitted_at or attempt.deadline_at,
    )
    set_committed_value(attempt, "score", score)
    set_committed_value(attempt, "max_score", max_score)
    set_committed_value(attempt, "passed", passed)
    session.expire(attempt, ["answers"])
    return score


def _regrade_changes(session: Session, exam: Exam) -> list[dict]:
    """What rescoring every submitted attempt would change, nothing written: per
    attempt its score before and after and each item whose marks change."""
    spec = session.scalar(select(Blueprint.spec).where(Blueprint.id == exam.blueprint_id))
    pass_mark = exam.pass_mark
    conn = session.connection()
    attempts = session.scalars(
        select(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.status == SUBMITTED)
        .order_by(Attempt.id)
    ).all()
    out = []
    for attempt in attempts:
        marked, total, _max_total = _mark_items(conn, attempt.id, attempt.paper_id, spec)
        stored = {
            item_id: marks
            for item_id, marks in session.execute(
                select(Answer.paper_item_id, Answer.marks).where(Answer.attempt_id == attempt.id)
            )
        }
        positions = dict(
            session.execute(
                select(PaperItem.id, PaperItem.position).where(
                    PaperItem.paper_id == attempt.paper_id
                )
            ).all()
        )
        items = [
            {
                "position": positions.get(item_id),
                "paper_item_id": item_id,
                "before": stored.get(item_id) or 0.0,
                "after": marks,
            }
            for item_id, _answer_id, marks, _ok in marked
            if round(stored.get(item_id) or 0.0, 4) != round(marks, 4)
        ]
        after = round(total, 4)
        out.append(
            {
                "attempt": attempt,
                "before": attempt.score,
                "after": after,
                "passed_before": attempt.passed,
                "passed_after": after >= pass_mark,
                "items": sorted(items, key=lambda r: r["position"] or 0),
            }
        )
    return out


def preview_regrade(session: Session, exam: Exam) -> list[dict]:
    """``jifa exam regrade --dry-run``: who would gain or lose what, per candidate and
    per item (position on their paper, marks before and after); nothing is written."""
    return [c for c in _regrade_changes(session, exam) if c["items"] or c["before"] != c["after"]]


def regrade_exam(session: Session, exam: Exam, actor: Actor | None) -> list[tuple]:
    """Rescore every submitted attempt (after a key correction or a change of the
    answer normalisation or synonyms). Returns ``[(attempt, before, after)]`` for the
    attempts whose score changed; each change is recorded in the audit log with the
    items whose marks changed."""
    changed = []
    preview = {c["attempt"].id: c for c in _regrade_changes(session, exam)}
    attempts = session.scalars(
        select(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.status == SUBMITTED)
        .order_by(Attempt.id)
    ).all()
    for attempt in attempts:
        before = attempt.score
        after = score_attempt(session, attempt)
        items = preview.get(attempt.id, {}).get("items", [])
        if before != after or items:
            changed.append((attempt, before, after))
            record(
                session,
                actor,
                "attempt.regrade",
                "attempt",
                attempt.id,
                before={"score": before},
                after={
                    "score": after,
                    "passed": attempt.passed,
                    # each item whose marks changed: position on the paper, before, after
                    "items": [
                        {"position": i["position"], "before": i["before"], "after": i["after"]}
                        for i in items
                    ],
                },
            )
    record(
        session,
        actor,
        "exam.regrade",
        "exam",
        exam.id,
        after={"attempts": len(attempts), "changed": len(changed)},
    )
    return changed
