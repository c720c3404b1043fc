"""Fixtures for blueprints, papers and offline exams: a small balanced bank and a
blueprint it satisfies."""

from __future__ import annotations

import pytest

BLUEPRINT_DATA = {
    "code": "t-bp",
    "name": "测试组卷规则",
    "tier": "乡科级",
    "pass_mark": 30,
    "target_difficulty": 3,
    "difficulty_tolerance": 0.5,
    "source_shares": {"刑法": 50, "监察法": 50},
    "difficulty_shares": {"容易": 40, "中等": 20, "较难": 40},
    "sections": [
        {"type": "单选", "count": 4, "points": 5},
        {"type": "多选", "count": 2, "points": 5, "policy": "部分得分", "partial_fraction": 0.5},
        {"type": "判断", "count": 2, "points": 5},
        {"type": "填空", "count": 2, "points": 5},
    ],
}


@pytest.fixture
def bank(make_question):
    """2 questions per (type, source, difficulty 1-5) for criminal law and supervision law."""
    made = []
    for qtype in ("single", "multiple", "true_false", "fill_blank"):
        for source in ("criminal_law", "supervision_law"):
            for difficulty in range(1, 6):
                for _ in range(2):
                    made.append(make_question(type=qtype, source=source, difficulty=difficulty))
    return made


@pytest.fixture
def blueprint_row(session, sources):
    from exam.papers import blueprints as bps

    return bps.save_blueprint(session, bps.validate(session, dict(BLUEPRINT_DATA)))


@pytest.fixture
def exam_with_people(session, bank, blueprint_row, make_exam, make_person, make_unit, district):
    town = make_unit("城关镇", parent=district)
    other = make_unit("东城街道", parent=district)
    people = [make_person(unit=town) for _ in range(3)] + [
        make_person(unit=other) for _ in range(2)
    ]
    exam = make_exam(people, blueprint=blueprint_row, owner_unit=town, seed="seed-42")
    return exam, people, town, other
