"""Services without HTTP: finalization, regrading (and its CLI), concurrent starts."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from core.accounts.models import UserAccount
from core.audit import AuditEntry
from core.errors import Conflict
from exam.models import Answer, Attempt
from exam.runner import autosave
from exam.runner.marking import score_attempt
from exam.runner.review import review_payload
from exam.runner.start import start_or_resume
from exam.runner.submit import finalize_expired, submit
from tests.conftest import NOW, edit_version
from tests.runner.conftest import seed_committed


def _save(session, attempt, item, answer, seq, now=NOW):
    account = session.scalar(select(UserAccount).where(UserAccount.person_id == attempt.person_id))
    claim = autosave.AccountClaim(account.id, account.session_version)
    body = {"answer": answer, "seq": seq}
    return autosave.save_in_session(session, claim, attempt.id, item.id, body, now=now)


def test_finalize_expired_scores_saved_answers(session, sitting):
    attempt = start_or_resume(session, sitting.exam.id, sitting.person.id, now=NOW)
    _save(session, attempt, sitting.items["single"], "B", 1)
    _save(session, attempt, sitting.items["true_false"], True, 2)
    assert finalize_expired(session, NOW + dt.timedelta(minutes=30, seconds=10)) == 0
    later = NOW + dt.timedelta(minutes=31)
    assert finalize_expired(session, later) == 1
    assert finalize_expired(session, later) == 0
    session.refresh(attempt)
    assert attempt.status == "submitted" and attempt.submitted_by == "timeout"
    assert attempt.submitted_at == attempt.deadline_at
    assert (attempt.score, attempt.max_score, attempt.passed) == (20.0, 40.0, False)


def test_start_resumes_and_lazily_finalizes(session, sitting):
    a = start_or_resume(session, sitting.exam.id, sitting.person.id, now=NOW)
    b = start_or_resume(
        session, sitting.exam.id, sitting.person.id, now=NOW + dt.timedelta(minutes=5)
    )
    assert a.id == b.id
    with pytest.raises(Conflict):  # attempt limit 1: the expired one is finalized first
        start_or_resume(
            session, sitting.exam.id, sitting.person.id, now=NOW + dt.timedelta(hours=1)
        )
    assert a.status == "submitted"


def test_extra_time_and_window_cap(session, build_sitting):
    from exam.models import Participant

    s = build_sitting(closes_at=NOW + dt.timedelta(minutes=20))
    part = session.scalar(select(Participant).where(Participant.person_id == s.person.id))
    part.extra_minutes = 10
    attempt = start_or_resume(session, s.exam.id, s.person.id, now=NOW)
    assert attempt.deadline_at == NOW + dt.timedelta(minutes=20)  # capped by the window


def test_score_attempt_is_repeatable_and_handles_missing(session, sitting):
    attempt = start_or_resume(session, sitting.exam.id, sitting.person.id, now=NOW)
    _save(session, attempt, sitting.items["multiple"], ["B", "D"], 1)
    assert score_attempt(session, attempt) == 10
    assert score_attempt(session, attempt) == 10
    rows = session.scalars(select(Answer).where(Answer.attempt_id == attempt.id)).all()
    assert len(rows) == 4 and sorted(r.marks for r in rows) == [0, 0, 0, 10]


def test_regrade_after_key_correction_records_audit(session, sitting, runner):
    attempt = start_or_resume(session, sitting.exam.id, sitting.person.id, now=NOW)
    _save(session, attempt, sitting.items["single"], "A", 1)  # authored C
    submit(session, attempt.id, sitting.person.id, now=NOW + dt.timedelta(minutes=1))
    assert attempt.score == 0
    single = sitting.versions[0]
    single.answer = "C"  # key correction
    session.flush()
    result = runner.invoke(["exam", "regrade", str(sitting.exam.id)])
    assert result.exit_code == 0, result.output
    assert "0.0 -> 10.0" in result.output
    session.expire_all()
    assert session.get(Attempt, attempt.id).score == 10
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "attempt.regrade"))
    assert entry.before == {"score": 0.0} and entry.after["score"] == 10.0
    assert entry.after["items"] == [{"position": 1, "before": 0.0, "after": 10.0}]
    again = runner.invoke(["exam", "regrade", str(sitting.exam.id)])
    assert "0 份成绩发生变化" in again.output


def test_key_correction_through_the_bank_is_used_by_regrade_and_review(
    session, build_sitting, runner
):
    sitting = build_sitting(review_policy="after_close")
    attempt = start_or_resume(session, sitting.exam.id, sitting.person.id, now=NOW)
    _save(session, attempt, sitting.items["single"], "A", 1)  # authored C; key says A
    submit(session, attempt.id, sitting.person.id, now=NOW + dt.timedelta(minutes=1))
    assert attempt.score == 0
    single, multiple = sitting.versions[0], sitting.versions[1]
    new = edit_version(session, single, answer="C")  # only the key: a correction
    assert new.id != single.id and single.answer == "A"  # the paper's version is kept
    edit_version(
        session, multiple, answer=["A"], options=[*multiple.options, {"key": "E", "text": "新"}]
    )
    result = runner.invoke(["exam", "regrade", str(sitting.exam.id)])
    assert result.exit_code == 0, result.output
    assert "0.0 -> 10.0" in result.output  # single corrected; multiple (new options) not
    session.expire_all()
    attempt = session.get(Attempt, attempt.id)
    assert attempt.score == 10
    after_close = sitting.exam.closes_at + dt.timedelta(minutes=1)
    review = {q["id"]: q for q in review_payload(session, attempt, after_close)["questions"]}
    assert review[sitting.items["single"].id]["key"] == "A"  # authored C shown as A
    assert review[sitting.items["multiple"].id]["key"] == ["B", "D"]  # unchanged A, C


def test_finalize_expired_cli(session, build_sitting, runner):
    real_now = dt.datetime.now(dt.UTC)  # the CLI reads the real clock
    past = real_now - dt.timedelta(minutes=50)
    sitting = build_sitting(
        opens_at=real_now - dt.timedelta(hours=2), closes_at=real_now + dt.timedelta(hours=2)
    )
    attempt = start_or_resume(session, sitting.exam.id, sitting.person.id, now=past)
    _save(session, attempt, sitting.items["single"], "B", 1, now=past)
    result = runner.invoke(["exam", "finalize-expired"])
    assert result.exit_code == 0
    assert result.output.strip() == "1"
    session.expire_all()
    assert session.get(Attempt, attempt.id).score == 10
    assert runner.invoke(["exam", "regrade", "999999"]).exit_code == 1


def _concurrent_starts(factory, exam_id, person_id, n=2):
    barrier = threading.Barrier(n)
    ids, errors = [], []

    def worker():
        try:
            with factory.begin() as s:
                barrier.wait(timeout=10)
                ids.append(start_or_resume(s, exam_id, person_id, now=NOW).id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return ids, errors


def test_two_concurrent_starts_get_one_attempt(committed_factory):
    exam_id, person_id = seed_committed(committed_factory)
    ids, errors = _concurrent_starts(committed_factory, exam_id, person_id)
    assert not errors and len(ids) == 2 and ids[0] == ids[1]
    with committed_factory() as s:
        assert len(s.scalars(select(Attempt)).all()) == 1


@pytest.mark.postgres
def test_two_concurrent_starts_on_postgresql(request):
    from sqlalchemy.orm import sessionmaker

    from core.db import Base

    pg_engine = request.getfixturevalue("pg_engine")  # after the skip check
    factory = sessionmaker(bind=pg_engine, expire_on_commit=False)
    try:
        exam_id, person_id = seed_committed(factory)
        for _ in range(3):
            ids, errors = _concurrent_starts(factory, exam_id, person_id, n=4)
            assert not errors and len(set(ids)) == 1
            with factory() as s:
                assert len(s.scalars(select(Attempt)).all()) == 1
    finally:
        with pg_engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


def test_submission_stores_the_highest_accepted_seq(session, build_sitting):
    """``Attempt.last_seq`` is the highest accepted save once submitted, by the
    candidate or by finalization (autosave itself leaves the attempt row alone)."""
    for finish in ("submit", "finalize"):
        sitting = build_sitting()
        attempt = start_or_resume(session, sitting.exam.id, sitting.person.id, now=NOW)
        _save(session, attempt, sitting.items["single"], "B", 3)
        _save(session, attempt, sitting.items["true_false"], True, 7)
        _save(session, attempt, sitting.items["single"], "C", 5)  # older than 7: accepted
        _save(session, attempt, sitting.items["true_false"], False, 6)  # older: ignored
        session.expire_all()
        assert session.get(Attempt, attempt.id).last_seq == 0  # untouched while saving
        if finish == "submit":
            submit(session, attempt.id, sitting.person.id, now=NOW + dt.timedelta(minutes=1))
        else:
            assert finalize_expired(session, NOW + dt.timedelta(hours=1)) == 1
        session.expire_all()
        assert session.get(Attempt, attempt.id).last_seq == 7


def test_regrade_dry_run_shows_gains_per_item_then_applies_audited(session, sitting, runner):
    """A synonym added after the exam (同义答案): the dry run names the candidate and the
    item that gains, writes nothing; the real regrade applies it and audits the item."""
    attempt = start_or_resume(session, sitting.exam.id, sitting.person.id, now=NOW)
    fill = sitting.items["fill_blank"]
    _save(session, attempt, fill, ["扣押", "10日"], 1)  # first blank wrong, second right
    submit(session, attempt.id, sitting.person.id, now=NOW + dt.timedelta(minutes=1))
    assert attempt.score == 5.0  # "10日" = "十日": half of the item
    fill.question_version.question.synonyms = [["留置", "扣押"]]
    session.flush()
    preview = runner.invoke(["exam", "regrade", str(sitting.exam.id), "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert sitting.person.person_no in preview.output
    assert "5.0 -> 10.0" in preview.output and "第 4 题：5 -> 10" in preview.output
    assert "1 份成绩将发生变化" in preview.output
    session.expire_all()
    assert session.get(Attempt, attempt.id).score == 5.0  # nothing written
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "attempt.regrade")) is None
    applied = runner.invoke(["exam", "regrade", str(sitting.exam.id)])
    assert applied.exit_code == 0, applied.output
    session.expire_all()
    assert session.get(Attempt, attempt.id).score == 10.0
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "attempt.regrade"))
    assert entry.after["items"] == [{"position": 4, "before": 5.0, "after": 10.0}]
