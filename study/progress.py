"""A learner's own progress: mastery (share of practice answers right) by law source
and knowledge point, each with the number of answers behind it, and the notebook."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from question_bank.models import (
    KnowledgePoint,
    LawSource,
    QuestionVersion,
    version_knowledge_points,
)
from study.models import MistakeEntry, PracticeAnswer

#: fewer answers than this: mastery is shown but marked as resting on little
FEW_ANSWERS = 5


def _rate(correct: int, answers: int) -> float | None:
    return round(correct / answers, 4) if answers else None


def person_progress(session: Session, person_id: int, now: dt.datetime) -> dict:
    """{"totals", "by_source", "by_knowledge_point", "notebook"} for one person."""
    mine = PracticeAnswer.person_id == person_id
    correct_sum = func.sum(case((PracticeAnswer.correct.is_(True), 1), else_=0))
    totals = session.execute(
        select(
            func.count(),
            func.coalesce(correct_sum, 0),
            func.count(func.distinct(PracticeAnswer.question_id)),
            func.count(func.distinct(PracticeAnswer.session_id)),
        ).where(mine)
    ).one()
    by_source = [
        {
            "code": code,
            "name": name,
            "answers": n,
            "correct": int(k or 0),
            "mastery": _rate(int(k or 0), n),
            "few": n < FEW_ANSWERS,
        }
        for code, name, n, k in session.execute(
            select(LawSource.code, LawSource.name, func.count(), correct_sum)
            .select_from(PracticeAnswer)
            .join(QuestionVersion, QuestionVersion.id == PracticeAnswer.version_id)
            .join(LawSource, LawSource.id == QuestionVersion.source_id)
            .where(mine)
            .group_by(LawSource.code, LawSource.name, LawSource.sort_order)
            .order_by(LawSource.sort_order, LawSource.code)
        )
    ]
    by_kp = [
        {
            "name": name,
            "answers": n,
            "correct": int(k or 0),
            "mastery": _rate(int(k or 0), n),
            "few": n < FEW_ANSWERS,
        }
        for name, n, k in session.execute(
            select(KnowledgePoint.name, func.count(), correct_sum)
            .select_from(PracticeAnswer)
            .join(
                version_knowledge_points,
                version_knowledge_points.c.version_id == PracticeAnswer.version_id,
            )
            .join(
                KnowledgePoint, KnowledgePoint.id == version_knowledge_points.c.knowledge_point_id
            )
            .where(mine)
            .group_by(KnowledgePoint.name)
            .order_by(func.count().desc(), KnowledgePoint.name)
        )
    ]
    open_entries = MistakeEntry.cleared_at.is_(None)
    notebook = session.execute(
        select(
            func.count().filter(open_entries),
            func.count().filter(open_entries, MistakeEntry.due_at <= now),
            func.count().filter(MistakeEntry.cleared_at.is_not(None)),
        ).where(MistakeEntry.person_id == person_id)
    ).one()
    answers, correct, questions, sessions = (int(x or 0) for x in totals)
    return {
        "totals": {
            "answers": answers,
            "correct": correct,
            "questions": questions,
            "sessions": sessions,
            "mastery": _rate(correct, answers),
        },
        "by_source": by_source,
        "by_knowledge_point": by_kp,
        "notebook": {"open": notebook[0], "due": notebook[1], "cleared": notebook[2]},
    }
