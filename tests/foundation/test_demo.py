from __future__ import annotations

import json

from sqlalchemy import func, select

from core.org.models import OrgUnit, Person, Rank
from exam.models import Exam, Paper, Participant


def test_demo_load_builds_a_district_bank_and_open_exam(runner, session, client):
    result = runner.invoke(["demo", "load", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)

    kinds = dict(session.execute(select(OrgUnit.kind, func.count()).group_by(OrgUnit.kind)).all())
    assert {"district", "town", "street", "park", "department", "unit", "branch"} <= set(kinds)
    assert sum(kinds.values()) - kinds["district"] >= 12
    ranks = dict(session.execute(select(Person.rank, func.count()).group_by(Person.rank)).all())
    assert set(ranks) == {r.value for r in Rank}
    assert sum(ranks.values()) >= 600
    assert data["questions"] >= 470

    exam = session.get(Exam, data["exam_id"])
    assert exam.status == "open"
    participants = session.scalar(
        select(func.count()).select_from(Participant).where(Participant.exam_id == exam.id)
    )
    papers = session.scalar(select(func.count()).select_from(Paper).where(Paper.exam_id == exam.id))
    assert participants == papers > 100

    roles = {login["role"] for login in data["logins"]}
    assert roles == {"admin", "analyst", "unit_admin", "candidate"}
    for login in data["logins"]:
        resp = client.post(
            "/api/v1/auth/login",
            json={"person_no": login["person_no"], "password": login["password"]},
        )
        assert resp.status_code == 200, login
        client.post("/api/v1/auth/logout")


def test_demo_load_refuses_a_non_empty_database_unless_if_empty(runner):
    assert runner.invoke(["demo", "load"]).exit_code == 0
    again = runner.invoke(["demo", "load"])
    assert again.exit_code != 0
    assert "已有数据" in again.output
    reuse = runner.invoke(["demo", "load", "--if-empty"])
    assert reuse.exit_code == 0
    assert "未重复载入" in reuse.output
    assert "A0001" in reuse.output
