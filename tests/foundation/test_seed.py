"""The shared seeder (``jifa.app.seed``) writes what the services would: the rows of a
sitting, option orders as asked, in-progress attempts that the runner accepts, and
submitted attempts scored as the marking service scores them."""

from __future__ import annotations

from sqlalchemy import func, select

from exam.models import Answer, Attempt, Paper, PaperItem, Participant
from jifa.app.seed import Item, four_kinds, seed_sitting
from tests.conftest import NOW

ORDERS = [["B", "D", "A", "C"], ["C", "A", "D", "B"]]


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_sitting_has_every_row_and_rotates_option_orders(session):
    s = seed_sitting(
        session, now=NOW, candidates=3, option_orders=ORDERS, attempts="in_progress", answers=2
    )
    assert _count(session, Participant, Participant.exam_id == s.exam_id) == 3
    assert _count(session, Paper, Paper.exam_id == s.exam_id) == 3
    assert [len(s.items[p]) for p in s.person_ids] == [4, 4, 4]
    first = [session.get(PaperItem, i).option_order for i in s.items[s.person_ids[0]]]
    second = [session.get(PaperItem, i).option_order for i in s.items[s.person_ids[1]]]
    assert first[:2] == [ORDERS[1], ORDERS[0]] and second[:2] == [ORDERS[0], ORDERS[1]]
    assert first[2:] == [[], []]  # true/false and fill-in have no options
    attempts = [session.get(Attempt, a) for a in s.attempts.values()]
    # last_seq is stored on submission; while in progress the answers hold the sequence
    assert {(a.status, a.last_seq) for a in attempts} == {("in_progress", 0)}
    assert _count(session, Answer, Answer.attempt_id.in_(s.attempts.values())) == 6


def test_submitted_attempts_score_as_the_marking_service_does(session):
    from exam.runner.marking import score_attempt

    responses = [["B", ["A", "C"], False, ["留置"]], ["C", ["A"], True, ["拘留"]]]
    items = four_kinds()
    items[0] = Item("single", "A", items[0].options, order=["B", "A", "C", "D"])
    s = seed_sitting(
        session,
        now=NOW,
        items=items,
        candidates=2,
        attempts="submitted",
        answers=4,
        respond=lambda n, pos, _item: responses[n][pos - 1],
    )
    seeded = []
    for person_id in s.person_ids:
        attempt = session.get(Attempt, s.attempts[person_id])
        seeded.append((attempt.score, attempt.passed, attempt.last_seq))
        score_attempt(session, attempt)
        assert attempt.score == seeded[-1][0]
    # single B (authored A) + multiple + fill-in = 30; single C wrong, multiple half, true = 15
    assert seeded == [(30.0, True, 4), (15.0, False, 4)]


def test_existing_people_keep_their_units(session, make_person, make_unit):
    a, b = make_person(unit=make_unit()), make_person(unit=make_unit())
    s = seed_sitting(session, now=NOW, candidates=[a.id, b.id], items=four_kinds()[:1])
    units = dict(
        session.execute(
            select(Participant.person_id, Participant.unit_id).where(
                Participant.exam_id == s.exam_id
            )
        ).all()
    )
    assert units == {a.id: a.unit_id, b.id: b.unit_id}
    assert s.person_nos == [a.person_no, b.person_no] and s.unit_id == a.unit_id
