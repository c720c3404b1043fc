"""Fixtures for the analysis tests: a small district roster and a scored exam."""

from __future__ import annotations

import pytest


@pytest.fixture
def roster_district(district, make_unit, make_person):
    """Two towns (one with a branch) and a department; township cadres and others."""
    t1 = make_unit("甲镇", kind="town", parent=district, code="XT01")
    b1 = make_unit("甲镇机关党支部", kind="branch", parent=t1, code="XT01B1")
    t2 = make_unit("乙街道", kind="street", parent=district, code="XS01")
    d1 = make_unit("区某局", kind="department", parent=district, code="XD01")
    people = []
    for i in range(12):
        people.append(
            make_person(unit=b1 if i % 2 else t1, rank="township", person_no=f"XT01-{i:03d}")
        )
    for i in range(2):
        people.append(make_person(unit=t2, rank="township", person_no=f"XS01-{i:03d}"))
    for i in range(6):
        people.append(make_person(unit=d1, rank="township", person_no=f"XD01-{i:03d}"))
    make_person(unit=d1, rank="general", person_no="XD01-G01")
    return {"units": {"t1": t1, "b1": b1, "t2": t2, "d1": d1}, "people": people}


@pytest.fixture
def scored_exam(session, roster_district, make_question, make_blueprint, make_exam, make_paper):
    """An exam taken by the 20 township cadres of ``roster_district``: 4 questions
    (single, multiple, true/false, fill-in) of two sources, answers inserted directly
    with their marks, every attempt submitted."""
    import datetime as dt
    import random

    from exam.models import Answer, Attempt
    from tests.conftest import NOW

    qs = [
        make_question(type="single", source="criminal_law", knowledge_points=["受贿罪"]),
        make_question(
            type="multiple", source="criminal_law", knowledge_points=["受贿罪", "行贿罪"]
        ),
        make_question(type="true_false", source="supervision_law", knowledge_points=["留置"]),
        make_question(type="fill_blank", source="supervision_law", knowledge_points=["留置"]),
    ]
    bp = make_blueprint(
        sections=[{"type": t, "count": 1, "points": 25} for t in ("single", "multiple", "true_false", "fill_blank")],
        pass_mark=60,
    )  # fmt: skip
    people = roster_district["people"]
    exam = make_exam(people, blueprint=bp, title="纪法知识集中测试")
    rng = random.Random(7)
    for k, person in enumerate(people):
        paper = make_paper(exam, person, [(qs[0], 25, ["B", "A", "C", "D"]), (qs[1], 25, ["A", "B", "C", "D"]),
                                          (qs[2], 25, []), (qs[3], 25, [])])  # fmt: skip
        attempt = Attempt(
            exam_id=exam.id, person_id=person.id, paper_id=paper.id, unit_id=person.unit_id,
            status="submitted", started_at=NOW - dt.timedelta(minutes=40),
            deadline_at=NOW - dt.timedelta(minutes=10), submitted_at=NOW - dt.timedelta(minutes=15),
            submitted_by="candidate",
        )  # fmt: skip
        session.add(attempt)
        session.flush()
        ability = k / len(people)
        total = 0.0
        for item in paper.items:
            correct = rng.random() < 0.3 + 0.6 * ability
            qtype = item.question_version.type
            response = {
                "single": "B" if correct else "C",  # displayed B = authored A (the key)
                "multiple": ["A", "C"] if correct else ["A"],
                "true_false": correct,
                "fill_blank": ["留置"] if correct else ["拘留"],
            }[qtype]
            marks = 25.0 if correct else (12.5 if qtype == "multiple" else 0.0)
            total += marks
            session.add(Answer(attempt_id=attempt.id, paper_item_id=item.id, response=response,
                               marks=marks, is_correct=correct, saved_at=NOW))  # fmt: skip
        attempt.score, attempt.max_score, attempt.passed = total, 100.0, total >= 60
    session.flush()
    return exam
