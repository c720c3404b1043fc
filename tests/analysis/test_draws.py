"""Draw services: freeze, publish, draw, replace, verify (with the database)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from analysis import draws, sampling
from analysis.models import DrawReplacement
from core.audit import Actor, AuditEntry
from core.errors import Conflict, InvalidInput
from exam.models import Participant
from tests.conftest import NOW

ENTROPY = "31415926535897932384"
ACTOR = Actor("test")


def _freeze(session, rule="20%,min=3"):
    return draws.freeze(session, ranks="乡科级", quota_rule=rule, actor=ACTOR, now=NOW)


def test_freeze_builds_canonical_roster(session, roster_district):
    d = _freeze(session)
    assert d.status == "frozen"
    lines = d.roster_csv.splitlines()
    assert lines[0] == "stratum_code,stratum_name,person_no,rank"
    assert len(lines) == 1 + 20  # the general cadre is not eligible
    # branch members are counted under their town
    assert d.stratum_counts == {
        "XD01": {"name": "区某局", "n": 6, "quota": 3},
        "XS01": {"name": "乙街道", "n": 2, "quota": 2},
        "XT01": {"name": "甲镇", "n": 12, "quota": 3},
    }
    assert d.roster_sha256 == sampling.roster_hash(d.roster_csv)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "sample.freeze"))


def test_settings_locked_after_freeze(session, roster_district):
    d = _freeze(session)
    with pytest.raises(Conflict):
        draws.change_settings(session, d, quota_rule="5")
    d.quota_rule = "5"
    with pytest.raises(Conflict):
        session.flush()
    session.rollback()


def test_draw_requires_publish_and_happens_once(session, roster_district, make_exam):
    d = _freeze(session)
    with pytest.raises(Conflict):
        draws.draw(session, d, entropy=ENTROPY, now=NOW)
    draws.publish(session, d, actor=ACTOR, now=NOW)
    with pytest.raises(Conflict):
        draws.publish(session, d, actor=ACTOR, now=NOW)
    with pytest.raises(InvalidInput):
        draws.draw(session, d, entropy="123", now=NOW)
    exam = make_exam(title="集中测试", mode="centralized")
    results = draws.draw(session, d, entropy=ENTROPY, exam_id=exam.id, actor=ACTOR, now=NOW)
    assert d.seed == f"{ENTROPY}|{d.roster_sha256}"
    expected = sampling.draw_sample(
        sampling.parse_roster_csv(d.roster_csv), sampling.parse_quota_rule(d.quota_rule), d.seed
    )
    assert results == expected
    with pytest.raises(Conflict):
        draws.draw(session, d, entropy=ENTROPY, now=NOW)
    parts = session.scalars(select(Participant).where(Participant.exam_id == exam.id)).all()
    assert sorted(p.person.person_no for p in parts) == sorted(
        p for r in results for p, _ in r.selected
    )
    assert {p.enrolled_via for p in parts} == {"draw"}
    assert draws.verify(session, d)["ok"]


def test_replace_takes_next_alternate_in_order(session, roster_district, make_exam):
    d = _freeze(session)
    draws.publish(session, d, actor=ACTOR, now=NOW)
    exam = make_exam(title="集中测试")
    results = {r.code: r for r in draws.draw(session, d, entropy=ENTROPY, exam_id=exam.id, now=NOW)}
    town = results["XT01"]
    first, second = town.selected[0][0], town.selected[1][0]
    with pytest.raises(InvalidInput):
        draws.replace(session, d, first, reason=" ", now=NOW)
    rep1 = draws.replace(session, d, first, reason="病假", actor=ACTOR, now=NOW)
    assert rep1.replacement_person_no == town.alternates[0][0]
    rep2 = draws.replace(session, d, second, reason="出差", actor=ACTOR, now=NOW)
    assert rep2.replacement_person_no == town.alternates[1][0]
    # the replacement can be excused too: the next alternate again
    rep3 = draws.replace(session, d, rep1.replacement_person_no, reason="调离", now=NOW)
    assert rep3.replacement_person_no == town.alternates[2][0]
    with pytest.raises(Conflict):
        draws.replace(session, d, first, reason="again", now=NOW)
    # XS01 has no alternates: the excusal is recorded without a replacement
    small = results["XS01"]
    rep4 = draws.replace(session, d, small.selected[0][0], reason="病假", now=NOW)
    assert rep4.replacement_person_no is None
    reasons = session.scalars(
        select(DrawReplacement.reason)
        .where(DrawReplacement.draw_id == d.id)
        .order_by(DrawReplacement.id)
    ).all()
    assert reasons == ["病假", "出差", "调离", "病假"]
    sample = draws.current_sample(session, d)
    assert first not in sample and town.alternates[2][0] in sample
    parts = {
        p.person.person_no
        for p in session.scalars(select(Participant).where(Participant.exam_id == exam.id))
    }
    assert parts == set(sample)
    assert draws.verify(session, d)["ok"]


def test_verify_detects_tampering(session, roster_district):
    d = _freeze(session)
    draws.publish(session, d, actor=ACTOR, now=NOW)
    draws.draw(session, d, entropy=ENTROPY, now=NOW)
    t = d.tickets[0]
    t.role = "alternate" if t.role == "selected" else "selected"
    session.flush()
    report = draws.verify(session, d)
    assert not report["ok"] and report["problems"]
