"""Fixtures for the exam runner: a controllable clock for the views and a ready
sitting (candidate, exam, four question types, paper)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from tests.conftest import NOW

PASSWORD = "Passw0rd!"


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs) -> dt.datetime:
        self.now += dt.timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The runner views read the time from this clock (starts at conftest ``NOW``)."""
    import jifa.web.runner as runner_views

    c = Clock(NOW)
    monkeypatch.setattr(runner_views, "utcnow", c)
    return c


@pytest.fixture
def build_sitting(make_person, make_exam, make_question, make_paper, session):
    """``build_sitting(**exam_fields)`` -> namespace(person, exam, paper, items, versions)."""

    def _build(person=None, **exam_fields):
        person = person or make_person(password=PASSWORD)
        exam = make_exam([person], **exam_fields)
        single = make_question("single", answer="A")
        multiple = make_question("multiple", answer=["A", "C"])
        tf = make_question("true_false", answer=True)
        fill = make_question(
            "fill_blank", answer=[["留置", "留置措施"], ["十日"]], stem="____和____"
        )
        for v, secret in zip(
            (single, multiple, tf, fill),
            ("解析甲机密", "解析乙机密", "解析丙机密", "解析丁机密"),
            strict=True,
        ):
            v.explanation = secret
        session.flush()
        paper = make_paper(
            exam,
            person,
            [
                (single, 10, ["C", "A", "D", "B"]),  # authored A shown as B
                (multiple, 10, ["B", "A", "D", "C"]),  # authored A,C shown as B,D
                (tf, 10, []),
                (fill, 10, []),
            ],
        )
        items = {i.question_version.type: i for i in paper.items}
        return SimpleNamespace(
            person=person,
            exam=exam,
            paper=paper,
            items=items,
            versions=(single, multiple, tf, fill),
        )

    return _build


@pytest.fixture
def sitting(build_sitting):
    return build_sitting()
