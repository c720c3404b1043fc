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
    import jifa.web.runner.autosave as lean
    import jifa.web.runner.views as runner_views

    c = Clock(NOW)
    monkeypatch.setattr(runner_views, "utcnow", c)
    monkeypatch.setattr(lean, "utcnow", c)
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


@pytest.fixture
def started(client, login, sitting, clock):
    """``sitting`` logged in through the JSON API with its attempt started: adds
    ``token`` (CSRF), ``payload`` (the start reply) and ``attempt_id``."""
    token = login(sitting.person.person_no, PASSWORD)
    resp = client.post(
        f"/api/v1/exams/{sitting.exam.id}/attempts", json={}, headers={"X-CSRF-Token": token}
    )
    assert resp.status_code == 200, resp.get_json()
    sitting.token = token
    sitting.payload = resp.get_json()
    sitting.attempt_id = sitting.payload["attempt_id"]
    return sitting


def seed_committed(factory, password: str | None = None, items: int = 1):
    """Minimal committed data for tests that need real commits (no factories: they use
    the savepoint-isolated session): one open exam, one candidate (with a password if
    given), a paper of ``items`` single-choice questions. Returns (exam id, person id)."""
    from core.accounts.services import ensure_account, set_password
    from core.org.models import OrgUnit, Person
    from exam.models import Blueprint, Exam, Paper, PaperItem, Participant
    from question_bank.models import Question, QuestionVersion

    with factory.begin() as s:
        unit = OrgUnit(code="CC1", name="并发单位", kind="town", path="/")
        s.add(unit)
        s.flush()
        unit.path = f"/{unit.id}/"
        person = Person(person_no="CC0001", name="并发", unit=unit, rank="township")
        bp = Blueprint(
            code="CC",
            name="cc",
            spec={"sections": [{"type": "single"}]},
            total_points=10,
            pass_mark=6,
        )
        exam = Exam(
            title="并发考试",
            blueprint=bp,
            owner_unit=unit,
            seed="s",
            opens_at=NOW - dt.timedelta(hours=1),
            closes_at=NOW + dt.timedelta(hours=1),
            duration_minutes=30,
            pass_mark=6,
            status="open",
        )
        versions = []
        for i in range(1, items + 1):
            q = Question(code=f"QCC{i}", status="active")
            versions.append(
                QuestionVersion(
                    question=q,
                    type="single",
                    stem=f"s{i}",
                    options=[{"key": "A", "text": "a"}, {"key": "B", "text": "b"}],
                    answer="A",
                    fingerprint=f"x{i}",
                )
            )
        s.add_all([person, exam, *versions])
        s.flush()
        if password:
            set_password(s, ensure_account(s, person), password)
        s.add(Participant(exam=exam, person=person, unit_id=unit.id))
        paper = Paper(
            exam_id=exam.id,
            person_id=person.id,
            blueprint_id=bp.id,
            total_points=10,
            mean_difficulty=3,
        )
        for pos, v in enumerate(versions, start=1):
            paper.items.append(PaperItem(position=pos, question_version=v, points=10))
        s.add(paper)
        s.flush()
        return exam.id, person.id
