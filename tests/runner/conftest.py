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
def build_sitting(make_person, session):
    """``build_sitting(**exam_fields)`` -> namespace(person, exam, paper, items, versions),
    seeded by ``jifa.app.seed``: one question of each kind, choices shown shuffled, each
    explanation a secret the candidate must not see before the review."""
    from core.org.models import Person
    from exam.models import Exam, Paper, PaperItem
    from jifa.app.seed import LETTERS4, Item, seed_sitting
    from question_bank.models import QuestionVersion

    def _build(person=None, **exam_fields):
        person = person or make_person(password=PASSWORD)
        cited = {"source": "criminal_law", "article": "385"}
        items = [
            # authored A shown as B
            Item("single", "A", LETTERS4, explanation="解析甲机密", order=["C", "A", "D", "B"], **cited),
            # authored A,C shown as B,D
            Item("multiple", ["A", "C"], LETTERS4, explanation="解析乙机密", order=["B", "A", "D", "C"], **cited),
            Item("true_false", True, explanation="解析丙机密", **cited),
            Item("fill_blank", [["留置", "留置措施"], ["十日"]], stem="____和____", explanation="解析丁机密", **cited),
        ]  # fmt: skip
        seeded = seed_sitting(
            session, now=NOW, items=items, candidates=[person.id], pass_mark=60.0, **exam_fields
        )
        paper = session.get(Paper, seeded.papers[person.id])
        items_by_type = {
            i.question_version.type: i
            for i in (session.get(PaperItem, pid) for pid in seeded.items[person.id])
        }
        return SimpleNamespace(
            person=session.get(Person, person.id),
            exam=session.get(Exam, seeded.exam_id),
            paper=paper,
            items=items_by_type,
            versions=tuple(session.get(QuestionVersion, v) for v in seeded.version_ids),
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
    """Committed data for tests that need real commits (the savepoint-isolated session
    cannot give them), through ``jifa.app.seed``: one open exam, one candidate
    ``CC0001`` (with a password if given), a paper of ``items`` single-choice
    questions. Returns (exam id, person id)."""
    from jifa.app.seed import Item, seed_sitting

    two = [{"key": "A", "text": "a"}, {"key": "B", "text": "b"}]
    with factory.begin() as s:
        seeded = seed_sitting(
            s,
            now=NOW,
            items=[Item("single", "A", two, stem=f"s{i}") for i in range(1, items + 1)],
            password=password,
            person_nos=["CC0001"],
            tag="CC",
            title="并发考试",
            seed="s",
            closes_at=NOW + dt.timedelta(hours=1),
            pass_mark=6,
        )
        return seeded.exam_id, seeded.person_ids[0]
