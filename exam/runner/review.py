"""Result, review and score sheet payloads: the score once the result policy shows it;
the key, explanation and cited article text once the review policy allows it.

Review policies (``ReviewPolicy``): ``none``; ``after_submit`` (once submitted, and no
attempt is left to take: keys never help a later attempt); ``after_close`` (once the
window closes or the exam is closed early); ``manual`` (when an admin releases it).
An admin's 公布答案 (``Exam.review_released_at``) opens the review at once under any
policy. Until then nothing of the key leaves the server.

A question that also sits on a paper of another exam still being sat (open and before
its close, or with an attempt in progress) is reviewed without its key, explanation,
citations or marks (``withheld``) until that exam is over: one exam's review must not
hand out the key of another's live paper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.errors import PermissionDenied
from core.org.services import unit_full_names
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
    SubmittedBy,
)
from exam.runner.helpers import IN_PROGRESS, SUBMITTED, displayed_options, iso, item_key
from exam.scoring import kind_of
from question_bank import kinds
from question_bank.models import Article, Citation, LawRevision, LawSource, QuestionVersion

#: what the result page says about how the attempt ended
ENDED_BY_TEXT = {
    SubmittedBy.candidate.value: "已交卷。",
    SubmittedBy.timeout.value: "作答时间到，系统已自动交卷。",
    SubmittedBy.admin.value: "已由考试管理员交卷。",
    SubmittedBy.offline.value: "答题卡已录入。",
}
#: the same, short (score sheet, lobby)
ENDED_BY_LABEL = {
    SubmittedBy.candidate.value: "考生交卷",
    SubmittedBy.timeout.value: "作答时间到，系统自动交卷",
    SubmittedBy.admin.value: "管理员交卷",
    SubmittedBy.offline.value: "答题卡录入",
}
NO_SOURCE = "未标注法规"


def _shows_score(status: str, result_policy: str, closes_at: dt.datetime, now) -> bool:
    if status != SUBMITTED:
        return False
    if result_policy == ResultPolicy.immediate.value:
        return True
    if result_policy == ResultPolicy.after_close.value:
        return now >= closes_at
    return False


def _shows_review(r: Mapping, now: dt.datetime) -> bool:
    """Whether the review of a submitted attempt is open: ``r`` holds the attempt's
    status and number and the exam's review policy, window, status, attempt limit and
    release time."""
    if r["status"] != SUBMITTED:
        return False
    released = r.get("review_released_at")
    if released is not None and released <= now:
        return True
    policy = r["review_policy"]
    closed = now >= r["closes_at"] or r.get("exam_status") == ExamStatus.closed.value
    if policy == ReviewPolicy.after_close.value:
        return closed
    if policy == ReviewPolicy.after_submit.value:
        return closed or (r.get("attempt_no") or 1) >= (r.get("max_attempts") or 1)
    return False  # none, manual: only when released


def review_note(exam, now: dt.datetime) -> str:
    """When the review will open, for a submitted attempt whose review is not open."""
    policy = exam.review_policy
    if policy == ReviewPolicy.after_submit.value:
        return "用完作答次数或考试结束后可查看答案与解析。"
    if policy == ReviewPolicy.after_close.value:
        return "考试结束后可查看答案与解析。"
    if policy == ReviewPolicy.manual.value:
        return "答案与解析将在考试组织单位公布后开放。"
    return ""


def _attempt_values(attempt: Attempt) -> dict:
    exam = attempt.exam
    return {
        "status": attempt.status,
        "submitted_at": attempt.submitted_at,
        "submitted_by": attempt.submitted_by,
        "score": attempt.score,
        "max_score": attempt.max_score,
        "passed": attempt.passed,
        "attempt_no": attempt.attempt_no,
        "result_policy": exam.result_policy,
        "review_policy": exam.review_policy,
        "review_released_at": exam.review_released_at,
        "exam_status": exam.status,
        "max_attempts": exam.max_attempts,
        "closes_at": exam.closes_at,
        "pass_mark": exam.pass_mark,
    }


def shows_score(attempt: Attempt, now: dt.datetime) -> bool:
    exam = attempt.exam
    return _shows_score(attempt.status, exam.result_policy, exam.closes_at, now)


def shows_review(attempt: Attempt, now: dt.datetime) -> bool:
    return _shows_review(_attempt_values(attempt), now)


def result_dict(attempt_id: int, r, now: dt.datetime) -> dict:
    """The result payload from plain values: ``r`` is a row or mapping with the
    attempt's status, number, submission and score columns and the exam's policies."""
    if not isinstance(r, Mapping):
        r = r._mapping
    data = {
        "attempt_id": attempt_id,
        "status": r["status"],
        "submitted_at": iso(r["submitted_at"]),
        "submitted_by": r["submitted_by"],
        "score_visible": _shows_score(r["status"], r["result_policy"], r["closes_at"], now),
        "review_available": _shows_review(r, now),
    }
    if data["score_visible"]:
        data.update(
            {
                "score": r["score"],
                "max_score": r["max_score"],
                "passed": r["passed"],
                "pass_mark": r.get("pass_mark"),
            }
        )
    return data


def result_payload(attempt: Attempt, now: dt.datetime) -> dict:
    return result_dict(attempt.id, _attempt_values(attempt), now)


# ---------------------------------------------------------------- the result page


@dataclass
class Part:
    """A share of the paper (one law source or one question type) and its marks."""

    name: str
    questions: int = 0
    correct: int = 0
    marks: float = 0.0
    points: float = 0.0

    @property
    def rate(self) -> float | None:
        """Score rate in percent of this part's own points."""
        return round(100 * self.marks / self.points, 1) if self.points else None


def time_used(attempt: Attempt) -> dict:
    """Seconds from the start to the submission (never beyond the deadline: saves in
    the grace period do not add time) and the seconds that were allowed."""
    end = min(attempt.submitted_at or attempt.deadline_at, attempt.deadline_at)
    return {
        "seconds": max(0, int((end - attempt.started_at).total_seconds())),
        "allowed": max(0, int((attempt.deadline_at - attempt.started_at).total_seconds())),
    }


def result_details(session: Session, attempt: Attempt, now: dt.datetime) -> dict:
    """The result page: how the attempt ended and the time used; once the score is
    shown, the pass line and the breakdown by law source and by question type. Marks
    only, never the key."""
    data = result_payload(attempt, now)
    data["ended_by"] = ENDED_BY_TEXT.get(attempt.submitted_by or "", "已交卷。")
    data["ended_by_label"] = ENDED_BY_LABEL.get(attempt.submitted_by or "", "已交卷")
    data["timed_out"] = attempt.submitted_by == SubmittedBy.timeout.value
    data["time_used"] = time_used(attempt)
    data["review_note"] = "" if data["review_available"] else review_note(attempt.exam, now)
    if data["score_visible"]:
        by_source, by_type = _breakdown(session, attempt)
        data["by_source"], data["by_type"] = by_source, by_type
    return data


def _breakdown(session: Session, attempt: Attempt) -> tuple[list[Part], list[Part]]:
    rows = session.execute(
        select(
            PaperItem.points,
            QuestionVersion.type,
            LawSource.name,
            LawSource.sort_order,
            Answer.marks,
            Answer.is_correct,
        )
        .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
        .outerjoin(LawSource, LawSource.id == QuestionVersion.source_id)
        .outerjoin(
            Answer, and_(Answer.paper_item_id == PaperItem.id, Answer.attempt_id == attempt.id)
        )
        .where(PaperItem.paper_id == attempt.paper_id)
    ).all()
    sources: dict[str, Part] = {}
    order: dict[str, int] = {}
    types: dict[str, Part] = {code: Part(kinds.label(code)) for code in kinds.CODES}
    for points, typ, source, sort_order, marks, is_correct in rows:
        name = source or NO_SOURCE
        order.setdefault(name, sort_order if sort_order is not None else 10**6)
        for part in (sources.setdefault(name, Part(name)), types.setdefault(typ, Part(typ))):
            part.questions += 1
            part.correct += bool(is_correct)
            part.marks += marks or 0.0
            part.points += points
    by_source = sorted(sources.values(), key=lambda p: (order[p.name], p.name))
    return by_source, [p for p in types.values() if p.questions]


# ---------------------------------------------------------------- review


def review_payload(
    session: Session, attempt: Attempt, now: dt.datetime, *, only_wrong: bool = False
) -> dict:
    """Key, explanation and cited article text, once the exam's policy allows it;
    ``only_wrong`` keeps the questions not answered fully right (只看错题)."""
    if not shows_review(attempt, now):
        raise PermissionDenied(review_note(attempt.exam, now) or "本次考试不提供答案与解析。")
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
    # a question whose key is held back (``withheld``) is neither right nor wrong here
    wrong = [q for q in questions if not q["is_correct"] and not q.get("withheld")]
    return {
        **result_payload(attempt, now),
        "total": len(questions),
        "wrong": len(wrong),
        "only_wrong": only_wrong,
        "questions": wrong if only_wrong else questions,
        "withheld": sum(1 for q in questions if q.get("withheld")),
    }


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
        "type_label": kind_of(v.type).question_label,
        "stem": v.stem,
        "options": displayed_options(v.options, item.option_order)
        if kind_of(v.type).has_options
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
    kind = kind_of(v.type)
    key = item_key(
        v.type, answer_key, item.points, item.option_order, v.options, spec, item.section
    )
    options = displayed_options(v.options, item.option_order) if kind.has_options else []
    response = ans.response if ans else None
    return {
        "id": item.id,
        "number": item.position,
        "type": v.type,
        "type_label": kind.question_label,
        "stem": v.stem,
        "options": options,
        "response": response,
        "key": kind.key_displayed(key),
        "view": kind.review(response, key, options),
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


# ---------------------------------------------------------------- 成绩单


def score_sheet(
    session: Session, attempt: Attempt, now: dt.datetime, *, staff: bool = False
) -> dict:
    """The printable score sheet (成绩单) of one attempt: who, which exam, when, the
    score against the pass line, the breakdown and the time used. For the candidate
    only once the result policy shows the score; ``staff`` (an administrator who may
    see the person's results) always."""
    data = result_details(session, attempt, now)
    if not data["score_visible"]:
        if not staff:
            raise PermissionDenied("成绩尚未公布，暂不能打印成绩单。")
        by_source, by_type = _breakdown(session, attempt)
        data.update(
            score=attempt.score,
            max_score=attempt.max_score,
            passed=attempt.passed,
            pass_mark=attempt.exam.pass_mark,
            by_source=by_source,
            by_type=by_type,
        )
    person = attempt.person
    data.update(
        {
            "exam_title": attempt.exam.title,
            "person_no": person.person_no,
            "name": person.name,
            "unit": unit_full_names(session, [attempt.unit_id]).get(attempt.unit_id, ""),
            "attempt_no": attempt.attempt_no,
            "started_at": attempt.started_at,
            "submitted_at_time": attempt.submitted_at,
        }
    )
    return data
