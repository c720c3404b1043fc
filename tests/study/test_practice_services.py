"""Practice services: sessions by source, knowledge point and difficulty; instant
feedback with the cited article; the notebook; 每日一练 with time passed in; reserved
questions never reach practice."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from core.errors import Conflict, InvalidInput, NotFound
from question_bank.models import Question
from question_bank.services import set_reserved
from study import practice, reader
from study.models import MistakeEntry, PracticeAnswer

DAY = dt.timedelta(days=1)


def _start(session, person, now, seed=1, **body):
    return practice.start_session(
        session, person.id, practice.parse_request(body), now=now, seed=seed
    )


def _wrong(version):
    if version.type == "true_false":
        return not version.answer
    return {"single": "D", "multiple": ["B"], "fill_blank": ["错"]}[version.type]


def _right(version):
    if version.type == "fill_blank":
        return [version.answer[0][0]]
    return version.answer


def test_session_by_source_knowledge_point_and_difficulty(session, bank, learner, now):
    by_source = _start(session, learner, now, source="criminal_law", size=50)
    assert sorted(by_source.question_ids) == sorted(v.question_id for v in bank[:5])
    by_kp = _start(session, learner, now, knowledge_point="受贿罪")
    assert sorted(by_kp.question_ids) == sorted([bank[0].question_id, bank[2].question_id])
    hard = _start(session, learner, now, difficulty=5)
    assert hard.question_ids == [bank[4].question_id]
    assert by_source.filters == {"source": "criminal_law"}
    with pytest.raises(NotFound):
        _start(session, learner, now, knowledge_point="不存在的知识点")
    with pytest.raises(InvalidInput, match="没有符合条件"):
        _start(session, learner, now, source="supervision_law", difficulty=1)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"mode": "exam"}, "mode"),
        ({"size": 0}, "题量"),
        ({"size": 51}, "题量"),
        ({"size": "十"}, "题量"),
        ({"size": True}, "题量"),
        ({"difficulty": 9}, "难度"),
        ({"source": ["criminal_law"]}, "法规"),
        ({"knowledge_point": "很" * 101}, "知识点"),
    ],
)
def test_bad_requests_are_refused_in_chinese(body, message):
    with pytest.raises(InvalidInput, match=message):
        practice.parse_request(body)


def test_payload_has_no_key_and_the_answer_gives_key_explanation_and_article(
    session, bank, learner, now
):
    row = _start(session, learner, now, knowledge_point="受贿罪", size=1, seed=3)
    payload = practice.session_payload(session, row)
    q = payload["questions"][0]
    assert set(q) >= {"id", "code", "type", "stem", "options"}
    assert not {"answer", "key", "explanation"} & set(q)
    version = next(v for v in bank if v.question_id == q["id"])
    result = practice.answer(
        session, learner.id, row.id, q["id"], {"answer": _wrong(version)}, now=now
    )
    assert result["correct"] is False
    assert result["key"] == _right(version)
    assert result["explanation"] == "解析"
    assert result["citation"]["source"] == "中华人民共和国刑法"
    assert result["citation"]["article"] == "第三百八十五条"
    assert "是受贿罪" in result["citation"]["text"]
    stored = session.scalar(select(PracticeAnswer).where(PracticeAnswer.session_id == row.id))
    assert (stored.person_id, stored.version_id, stored.correct) == (learner.id, version.id, False)
    assert stored.answered_at == now
    # the same question again: the first result, nothing stored twice
    again = practice.answer(
        session, learner.id, row.id, q["id"], {"answer": _right(version)}, now=now
    )
    assert again["repeated"] and again["correct"] is False
    assert session.scalar(select(func.count()).select_from(PracticeAnswer)) == 1


def test_answers_are_validated_and_sessions_are_private(session, bank, learner, other_learner, now):
    row = _start(session, learner, now, source="criminal_law", size=5)
    qid = row.question_ids[0]
    with pytest.raises(InvalidInput):
        practice.answer(session, learner.id, row.id, qid, {"nothing": 1}, now=now)
    with pytest.raises(InvalidInput):
        practice.answer(session, learner.id, row.id, qid, {"answer": {"x": 1}}, now=now)
    with pytest.raises(InvalidInput, match="请先作答"):
        practice.answer(session, learner.id, row.id, qid, {"answer": None}, now=now)
    with pytest.raises(NotFound):
        practice.answer(session, other_learner.id, row.id, qid, {"answer": "A"}, now=now)
    with pytest.raises(NotFound):
        practice.answer(session, learner.id, row.id, 10**9, {"answer": "A"}, now=now)
    with pytest.raises(NotFound):
        practice.page(session, other_learner.id, row.id, 1)
    assert session.scalar(select(func.count()).select_from(PracticeAnswer)) == 0


def test_yesterdays_mistake_returns_in_daily_practice(session, bank, learner, now):
    yesterday = now - DAY
    row = _start(session, learner, yesterday, source="criminal_law", size=5)
    versions = {v.question_id: v for v in bank}
    wrong_qid = row.question_ids[0]
    practice.answer(session, learner.id, row.id, wrong_qid,
                    {"answer": _wrong(versions[wrong_qid])}, now=yesterday)  # fmt: skip
    for qid in row.question_ids[1:]:
        practice.answer(session, learner.id, row.id, qid,
                        {"answer": _right(versions[qid])}, now=yesterday)  # fmt: skip
    items = practice.mistakes(session, learner.id, now)
    assert [(m["code"], m["due"], m["streak"]) for m in items] == [
        (versions[wrong_qid].question.code, True, 0)
    ]
    # before the day has passed it is not due, and daily practice does not force it
    assert practice.mistakes(session, learner.id, yesterday + DAY / 2)[0]["due"] is False
    daily = _start(session, learner, now, mode="daily")
    assert daily.question_ids[0] == wrong_qid
    assert len(daily.question_ids) == len(bank)  # 8 questions in the bank, all offered
    practice.answer(session, learner.id, daily.id, wrong_qid,
                    {"answer": _right(versions[wrong_qid])}, now=now)  # fmt: skip
    entry = session.scalar(select(MistakeEntry).where(MistakeEntry.person_id == learner.id))
    assert entry.streak == 1 and entry.due_at == yesterday + 3 * DAY and entry.cleared_at is None
    # the mistakes session offers it at any time; right again: out of the book
    redo = _start(session, learner, now + DAY, mode="mistakes")
    assert redo.question_ids == [wrong_qid]
    result = practice.answer(session, learner.id, redo.id, wrong_qid,
                             {"answer": _right(versions[wrong_qid])}, now=now + DAY)  # fmt: skip
    assert result["notebook"]["cleared"] is True
    assert practice.mistakes(session, learner.id, now + DAY) == []
    with pytest.raises(InvalidInput, match="错题本"):
        _start(session, learner, now + DAY, mode="mistakes")


def test_practice_never_enters_exam_statistics(session, bank, learner, now):
    from exam.models import Answer, Attempt

    row = _start(session, learner, now, size=8)
    for qid in row.question_ids:
        version = next(v for v in bank if v.question_id == qid)
        practice.answer(session, learner.id, row.id, qid, {"answer": _right(version)}, now=now)
    assert session.scalar(select(func.count()).select_from(Answer)) == 0
    assert session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_a_question_reserved_after_the_draw_is_refused_without_its_key(session, bank, learner, now):
    row = _start(session, learner, now, source="criminal_law", size=5)
    qid = row.question_ids[0]
    code = session.get(Question, qid).code
    set_reserved(session, [code], True)
    with pytest.raises(Conflict, match="仅限考试"):
        practice.answer(session, learner.id, row.id, qid, {"answer": "A"}, now=now)
    page = practice.page(session, learner.id, row.id, 1)
    assert page["withdrawn"] and page["feedback"] is None


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    reserved=st.sets(st.integers(0, 7), max_size=8),
    requests=st.lists(
        st.fixed_dictionaries(
            {
                "mode": st.sampled_from(["new", "mistakes", "daily"]),
                "source": st.sampled_from([None, "criminal_law", "supervision_law"]),
                "knowledge_point": st.sampled_from([None, "受贿罪"]),
                "size": st.integers(1, 12),
            }
        ),
        min_size=1,
        max_size=6,
    ),
    seed=st.integers(0, 2**30),
)
def test_reserved_questions_never_reach_practice(
    session, bank, learner, now, reserved, requests, seed
):
    """Property: whatever is reserved and whatever is asked for, no session, notebook
    list or reader page shows a reserved question, even one already in the notebook."""
    # every question once in the notebook (answered wrong before any reservation)
    session.execute(update(Question).values(reserved=False))
    session.execute(MistakeEntry.__table__.delete())
    warm = _start(session, learner, now - DAY, size=8, seed=seed)
    for qid in warm.question_ids:
        if session.scalar(select(func.count()).select_from(PracticeAnswer).where(
                PracticeAnswer.session_id == warm.id, PracticeAnswer.question_id == qid)) == 0:  # fmt: skip
            version = next(v for v in bank if v.question_id == qid)
            practice.answer(session, learner.id, warm.id, qid, {"answer": _wrong(version)},
                            now=now - DAY)  # fmt: skip
    codes = [bank[i].question.code for i in sorted(reserved)]
    if codes:
        set_reserved(session, codes, True)
    banned = {bank[i].question_id for i in reserved}
    for k, body in enumerate(requests):
        try:
            row = _start(session, learner, now, seed=seed + k, **body)
        except (InvalidInput, NotFound):
            continue
        assert not banned & set(row.question_ids)
        shown = {q["id"] for q in practice.session_payload(session, row)["questions"]}
        assert not banned & shown
    listed = {m["code"] for m in practice.mistakes(session, learner.id, now)}
    assert not listed & set(codes)
    for key in ("382", "385", "389"):
        cited = {q["code"] for q in reader.article(session, "criminal_law", key)["questions"]}
        assert not cited & set(codes)
