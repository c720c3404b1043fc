"""Simulated attempts for a cohort, so the demo statistics mean something.

Each person gets an ability θ (normal, shifted by unit and rank); each item a difficulty b
from its 1–5 rating; P(correct) = logistic(θ − b) (a one-parameter IRT model). Wrong
answers pick a distractor, so the option analysis has something to show. Attempts are
scored by the engine's own ``exam.runner.marking.score_attempt``.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.org.models import Person
from exam.models import Answer, Attempt, AttemptStatus, Exam, Paper, PaperItem, Participant
from exam.papers.persist import generate_papers
from exam.runner.marking import score_attempt
from question_bank import kinds
from question_bank.models import QuestionVersion

RANK_SHIFT = {"county": 0.4, "township": 0.2, "general": 0.0, "other": -0.3}


def item_difficulty(rating: int) -> float:
    """1 (easy) .. 5 (hard) on the logit scale."""
    return -2.0 + 0.9 * (rating - 1)


def p_correct(ability: float, difficulty: float) -> float:
    return 1 / (1 + math.exp(-(ability - difficulty)))


def simulated_response(
    qtype: str, answer, option_order: list, correct: bool, rng: random.Random
) -> object:
    """A response in displayed keys: the key if ``correct``, otherwise a wrong one."""
    kind = kinds.KINDS.get(qtype)
    return kind.simulated_response(answer, option_order, correct, rng) if kind else None


def _cohort(session: Session, exam: Exam, people: int, now: dt.datetime) -> list[Participant]:
    """``people`` participants without an attempt, enrolling more active people (in
    person-number order) when the exam has too few."""
    done = set(session.scalars(select(Attempt.person_id).where(Attempt.exam_id == exam.id)))
    parts = [
        p
        for p in session.scalars(
            select(Participant).where(Participant.exam_id == exam.id).order_by(Participant.id)
        )
        if p.person_id not in done
    ]
    if len(parts) < people:
        enrolled = {p.person_id for p in session.scalars(
            select(Participant).where(Participant.exam_id == exam.id))}  # fmt: skip
        extra = session.scalars(
            select(Person)
            .where(Person.is_active.is_(True), Person.id.not_in(enrolled or {0}))
            .order_by(Person.person_no)
            .limit(people - len(parts))
        ).all()
        for person in extra:
            part = Participant(exam_id=exam.id, person_id=person.id, unit_id=person.unit_id,
                               enrolled_via="named", enrolled_at=now)  # fmt: skip
            session.add(part)
            parts.append(part)
        session.flush()
    return parts[:people]


def _sit(
    session: Session,
    exam: Exam,
    part: Participant,
    paper: Paper,
    ability: float,
    *,
    rng: random.Random,
    now: dt.datetime,
    skip_rate: float,
) -> None:
    """One submitted attempt answered by the ability model, scored by the engine."""
    started = now - dt.timedelta(minutes=exam.duration_minutes + rng.randint(5, 60))
    attempt = Attempt(
        exam_id=exam.id,
        person_id=part.person_id,
        paper_id=paper.id,
        unit_id=part.unit_id,
        attempt_no=1,
        status=AttemptStatus.submitted.value,
        started_at=started,
        deadline_at=started + dt.timedelta(minutes=exam.duration_minutes),
        submitted_at=started + dt.timedelta(minutes=rng.randint(5, exam.duration_minutes)),
        submitted_by="candidate",
    )
    session.add(attempt)
    session.flush()
    rows = session.execute(
        select(PaperItem.id, PaperItem.option_order, QuestionVersion.type,
               QuestionVersion.answer, QuestionVersion.difficulty)
        .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
        .where(PaperItem.paper_id == paper.id)
        .order_by(PaperItem.position)
    ).all()  # fmt: skip
    answers = []
    for r in rows:
        if rng.random() < skip_rate:
            continue
        correct = rng.random() < p_correct(ability, item_difficulty(r.difficulty))
        answers.append(
            {
                "attempt_id": attempt.id,
                "paper_item_id": r.id,
                "response": simulated_response(
                    r.type, r.answer, list(r.option_order or []), correct, rng
                ),
                "flagged": False,
                "seq": 1,
                "saved_at": attempt.submitted_at,
            }
        )
    if answers:
        session.execute(insert(Answer), answers)
    score_attempt(session, attempt)


def simulate(
    session: Session,
    exam: Exam,
    *,
    people: int,
    seed: int = 610,
    now: dt.datetime,
    skip_rate: float = 0.03,
) -> dict:
    if people <= 0:
        raise InvalidInput("模拟人数应为正整数。")
    rng = random.Random(seed)
    parts = _cohort(session, exam, people, now)
    generate_papers(session, exam, now=now)
    ids = [p.person_id for p in parts]
    papers = {
        p.person_id: p
        for p in session.scalars(
            select(Paper).where(Paper.exam_id == exam.id, Paper.person_id.in_(ids))
        )
    }
    ranks = dict(session.execute(select(Person.id, Person.rank).where(Person.id.in_(ids))).all())
    unit_shift: dict[int, float] = {}
    created = 0
    for part in parts:
        paper = papers.get(part.person_id)
        if paper is None:
            continue
        shift = unit_shift.setdefault(part.unit_id, rng.gauss(0, 0.5))
        ability = rng.gauss(0.6 + shift + RANK_SHIFT.get(ranks.get(part.person_id), 0), 1.0)
        _sit(session, exam, part, paper, ability, rng=rng, now=now, skip_rate=skip_rate)
        created += 1
    session.flush()
    return {"exam_id": exam.id, "attempts": created}
