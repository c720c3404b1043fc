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
def scored_exam(session, roster_district):
    """An exam taken by the 20 township cadres of ``roster_district``, seeded by
    ``jifa.app.seed``: 4 questions (single, multiple, true/false, fill-in) of two
    sources, every attempt submitted and scored through the kinds, each candidate
    more often right the later they come (a fixed random sequence)."""
    import random

    from exam.models import Exam
    from jifa.app.seed import LETTERS4, Item, seed_sitting
    from tests.conftest import NOW

    crim = {"source": "criminal_law", "article": "385", "points": 25}
    sup = {"source": "supervision_law", "article": "385", "points": 25}
    items = [
        Item("single", "A", LETTERS4, order=["B", "A", "C", "D"], knowledge_points=["受贿罪"], **crim),
        Item("multiple", ["A", "C"], LETTERS4, order=list("ABCD"), knowledge_points=["受贿罪", "行贿罪"], **crim),
        Item("true_false", True, knowledge_points=["留置"], **sup),
        Item("fill_blank", [["留置"]], knowledge_points=["留置"], **sup),
    ]  # fmt: skip
    people = roster_district["people"]
    rng = random.Random(7)
    # displayed B = authored A (the key); a wrong multiple answer earns half marks
    right = {"single": "B", "multiple": ["A", "C"], "true_false": True, "fill_blank": ["留置"]}
    wrong = {"single": "C", "multiple": ["A"], "true_false": False, "fill_blank": ["拘留"]}

    def respond(n, _position, item):
        correct = rng.random() < 0.3 + 0.6 * n / len(people)
        return (right if correct else wrong)[item.type]

    seeded = seed_sitting(
        session,
        now=NOW,
        items=items,
        candidates=[p.id for p in people],
        attempts="submitted",
        answers=len(items),
        respond=respond,
        title="纪法知识集中测试",
    )
    return session.get(Exam, seeded.exam_id)
