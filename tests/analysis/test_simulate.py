"""Simulated attempts: a simple ability model, scored by the engine."""

from __future__ import annotations

import random

from sqlalchemy import select

from analysis import report
from analysis.simulate import p_correct, simulate, simulated_response
from exam.models import Attempt
from tests.conftest import NOW


def test_responses_use_displayed_keys():
    rng = random.Random(1)
    assert simulated_response("single", "A", ["C", "A", "B", "D"], True, rng) == "B"
    assert simulated_response("single", "A", ["C", "A", "B", "D"], False, rng) != "B"
    assert simulated_response("multiple", ["A", "C"], ["C", "A", "B", "D"], True, rng) == ["A", "B"]
    assert simulated_response("true_false", False, [], True, rng) is False
    assert simulated_response("fill_blank", [["留置", "留置措施"]], [], True, rng) == ["留置"]
    assert p_correct(0, 0) == 0.5 and p_correct(3, 0) > 0.9


def test_simulate_scores_attempts(session, roster_district, make_question, make_blueprint,
                                  make_exam, make_paper):  # fmt: skip
    qs = [make_question(type="single", difficulty=d) for d in (1, 2, 3, 4, 5)]
    qs += [make_question(type="true_false", source="supervision_law") for _ in range(3)]
    bp = make_blueprint(sections=[{"type": "single", "count": 5, "points": 10},
                                  {"type": "true_false", "count": 3, "points": 10}])  # fmt: skip
    people = roster_district["people"]
    exam = make_exam(people, blueprint=bp)
    for p in people:
        make_paper(
            exam, p, [(q, 10, ["B", "A", "C", "D"] if q.type == "single" else []) for q in qs]
        )
    result = simulate(session, exam, people=15, seed=3, now=NOW)
    assert result["attempts"] == 15
    attempts = session.scalars(select(Attempt).where(Attempt.exam_id == exam.id)).all()
    assert len(attempts) == 15 and all(
        a.status == "submitted" and a.score is not None for a in attempts
    )
    rep = report.build(session, exam.id)
    assert rep.overall["n"] == 15
    # easy items are answered correctly more often than hard ones
    items = rep.item_table.set_index("version_id")
    assert items.loc[qs[0].id, "facility"] > items.loc[qs[4].id, "facility"]
