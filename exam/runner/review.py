"""Result and review payloads: the score once the result policy shows it; the key,
explanation and cited article text once the review policy allows it.

A question that also sits on a paper of another exam still being sat (open and before
its close, or with an attempt in progress) is reviewed without its key, explanation,
citations or marks (``withheld``) until that exam is over: one exam's review must not
hand out the key of another's live paper."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.errors import PermissionDenied
from exam.keys import key_in_force
from exam.models import (
    Answer,
    Attempt,
    Blueprint,
    Exam,
    ExamStatus,
    Paper,
    PaperItem,
    ResultPolicy,
    ReviewPolicy,
)
from exam.runner.helpers import IN_PROGRESS, SUBMITTED, displayed_options, iso, item_key
from exam.scoring import kind_of
from question_bank.models import Article, Citation, LawRevision, LawSource, QuestionVersion


def _shows_score(status: str, result_policy: str, closes_at: dt.datetime, now) -> bool:
    if status != SUBMITTED:
        return False
    if result_policy == ResultPolicy.immediate.value:
        return True
    if result_policy == ResultPolicy.after_close.value:
        return now >= closes_at
    return False


def _shows_review(status: str, review_policy: str, closes_at: dt.datetime, now) -> bool:
    return (
        status == SUBMITTED and review_policy == ReviewPolicy.after_close.value and now >= closes_at
    )


def shows_score(attempt: Attempt, now: dt.datetime) -> bool:
    exam = attempt.exam
    return _shows_score(attempt.status, exam.result_policy, exam.closes_at, now)


def shows_review(attempt: Attempt, now: dt.datetime) -> bool:
    exam = attempt.exam
    return _shows_review(attempt.status, exam.review_policy, exam.closes_at, now)


def result_dict(attempt_id: int, r, now: dt.datetime) -> dict:
    """The result payload from plain values: ``r`` is a row or mapping with the
    attempt's status, submission and score columns and the exam's policies."""
    if not isinstance(r, dict):
        r = r._mapping
    data = {
        "attempt_id": attempt_id,
        "status": r["status"],
        "submitted_at": iso(r["submitted_at"]),
        "submitted_by": r["submitted_by"],
        "score_visible": _shows_score(r["status"], r["result_policy"], r["closes_at"], now),
        "review_available": _shows_review(r["status"], r["review_policy"], r["closes_at"], now),
    }
    if data["score_visible"]:
        data.update({"score": r["score"], "max_score": r["max_score"], "passed": r["passed"]})
    return data


def result_payload(attempt: Attempt, now: dt.datetime) -> dict:
    exam = attempt.exam
    return result_dict(
        attempt.id,
        {
            "status": attempt.status,
            "submitted_at": attempt.submitted_at,
            "submitted_by": attempt.submitted_by,
            "score": attempt.score,
            "max_score": attempt.max_score,
            "passed": attempt.passed,
            "result_policy": exam.result_policy,
            "review_policy": exam.review_policy,
            "closes_at": exam.closes_at,
        },
        now,
    )


def review_payload(session: Session, attempt: Attempt, now: dt.datetime) -> dict:
    """Key, explanation and cited article text, once the exam's policy allows it."""
    if not shows_review(attempt, now):
        raise PermissionDenied("考试结束后才能查看答案与解析。")
    spec = session.scalar(select(Blueprint.spec).where(Blueprint.id == attempt.exam.blueprint_id))
    answers = {
        a.paper_item_id: a
        for a in session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))
    }
    rows = session.execute(
        select(PaperItem, key_in_force(), QuestionVersion.question_id)
        .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
        .where(PaperItem.paper_id == attempt.paper_id)
        .order_by(PaperItem.position)
    ).all()
    live = questions_in_live_exams(
        session, {r.question_id for r in rows}, now, except_exam_id=attempt.exam_id
    )
    questions = [
        _withheld_item(item, answers.get(item.id))
        if question_id in live
        else _reviewed_item(session, item, answer_key, answers.get(item.id), spec)
        for item, answer_key, question_id in rows
    ]
    data = {**result_payload(attempt, now), "questions": questions}
    data["withheld"] = sum(1 for q in questions if q.get("withheld"))
    return data


WITHHELD_NOTE = "本题正在其他考试中使用，答案与解析将在该考试结束后公布。"


def questions_in_live_exams(
    session: Session, question_ids: set[int], now: dt.datetime, *, except_exam_id: int
) -> set[int]:
    """Those of ``question_ids`` on a paper of another exam still being sat: open and
    before its close, or with an attempt in progress (extra time, a late window)."""
    if not question_ids:
        return set()
    in_progress = (
        select(Attempt.id).where(Attempt.exam_id == Exam.id, Attempt.status == IN_PROGRESS).exists()
    )
    live = or_(
        (Exam.status == ExamStatus.open.value) & (Exam.closes_at > now),
        in_progress,
    )
    return set(
        session.scalars(
            select(QuestionVersion.question_id)
            .join(PaperItem, PaperItem.question_version_id == QuestionVersion.id)
            .join(Paper, Paper.id == PaperItem.paper_id)
            .join(Exam, Exam.id == Paper.exam_id)
            .where(
                QuestionVersion.question_id.in_(sorted(question_ids)),
                Exam.id != except_exam_id,
                live,
            )
            .distinct()
        )
    )


def _withheld_item(item: PaperItem, ans) -> dict:
    """A reviewed item without anything that gives its key away."""
    v = item.question_version
    return {
        "id": item.id,
        "number": item.position,
        "type": v.type,
        "stem": v.stem,
        "options": displayed_options(v.options, item.option_order)
        if v.type in ("single", "multiple")
        else [],
        "response": ans.response if ans else None,
        "key": None,
        "marks": None,
        "points": item.points,
        "is_correct": None,
        "explanation": None,
        "citations": [],
        "withheld": True,
        "note": WITHHELD_NOTE,
    }


def _reviewed_item(session: Session, item: PaperItem, answer_key, ans, spec) -> dict:
    v = item.question_version
    key = item_key(
        v.type, answer_key, item.points, item.option_order, v.options, spec, item.section
    )
    return {
        "id": item.id,
        "number": item.position,
        "type": v.type,
        "stem": v.stem,
        "options": displayed_options(v.options, item.option_order)
        if v.type in ("single", "multiple")
        else [],
        "response": ans.response if ans else None,
        "key": kind_of(v.type).key_displayed(key),
        "marks": ans.marks if ans else 0.0,
        "points": item.points,
        "is_correct": bool(ans and ans.is_correct),
        "explanation": v.explanation,
        "citations": [_citation(session, c) for c in v.citations],
    }


def _citation(session: Session, citation: Citation) -> dict:
    source: LawSource = citation.source
    data = {"source": source.name, "article_key": citation.article_key, "label": None, "text": None}
    if citation.article_key and source.current_revision:
        article = session.scalar(
            select(Article)
            .join(LawRevision, LawRevision.id == Article.revision_id)
            .where(
                LawRevision.source_id == source.id,
                LawRevision.revision_date == source.current_revision,
                Article.key == citation.article_key,
            )
        )
        if article is not None:
            data.update({"label": article.label, "text": article.text})
    return data
