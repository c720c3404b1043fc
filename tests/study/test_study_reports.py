"""Study records for unit admins (their subtree, per week, Excel) and study beside
exam results for analysts; pages on the demo-like data respect the scope."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from analysis.study_results import study_vs_results, unit_report, unit_report_xlsx, week_start
from core.accounts.scope import CONSOLE, scope_of
from exam.models import Attempt
from study import practice

DAY = dt.timedelta(days=1)


@pytest.fixture
def district_study(session, make_unit, make_person, bank, now):
    """Town A (with a branch) and town B; two of A's people and one of B's practised."""
    root = make_unit("示范区", kind="district")
    a = make_unit("甲镇", parent=root)
    branch = make_unit("甲镇支部", kind="branch", parent=a)
    b = make_unit("乙镇", parent=root)
    a1, a2, a3 = (make_person(unit=u) for u in (a, branch, a))
    b1 = make_person(unit=b)

    def practise(person, when, n):
        row = practice.start_session(session, person.id, practice.PracticeRequest(size=n),
                                     now=when, seed=person.id)  # fmt: skip
        answers = {"single": "A", "multiple": ["A"], "true_false": True, "fill_blank": ["x"]}
        for q in practice.session_payload(session, row)["questions"]:
            practice.answer(session, person.id, row.id, q["id"], {"answer": answers[q["type"]]},
                            now=when)  # fmt: skip

    practise(a1, now - 8 * DAY, 3)  # the week before
    practise(a1, now, 2)
    practise(a2, now, 4)
    practise(b1, now, 5)
    return {"root": root, "a": a, "branch": branch, "b": b, "people": (a1, a2, a3, b1)}


def test_unit_admin_sees_the_subtree_per_unit_and_week(session, district_study, now):
    a = district_study["a"]
    scope = scope_of(session, ["unit_admin"], [a.id])
    report = unit_report(session, scope, now=now, weeks=4)
    names = [u["name"] for u in report["units"]]
    assert names == ["甲镇", "甲镇支部"]  # 乙镇 is outside the scope
    town, branch = report["units"]
    assert (town["people"], town["practised"], town["answers"]) == (3, 2, 9)
    assert (branch["people"], branch["practised"], branch["answers"]) == (1, 1, 4)
    assert report["totals"] == {"people": 3, "practised": 2, "answers": 9}
    weeks = {w["week"]: w for w in report["by_week"]}
    assert len(weeks) == 4
    this_week = weeks[week_start(now).isoformat()]
    assert (this_week["practised"], this_week["answers"]) == (2, 6)
    whole = unit_report(session, CONSOLE, now=now, weeks=4)
    assert whole["totals"]["answers"] == 14
    nothing = unit_report(session, scope_of(session, ["unit_admin"], []), now=now)
    assert nothing["units"] == [] and nothing["totals"]["answers"] == 0


def test_unit_report_workbook(session, district_study, now):
    scope = scope_of(session, ["unit_admin"], [district_study["a"].id])
    wb = openpyxl.load_workbook(io.BytesIO(unit_report_xlsx(unit_report(session, scope, now=now))))
    assert wb.sheetnames == ["各单位学习情况", "每周学习情况"]
    rows = list(wb["各单位学习情况"].iter_rows(values_only=True))
    assert rows[0][:4] == ("单位代码", "单位", "人数", "练习人数")
    assert [r[1].strip("　") for r in rows[1:]] == ["甲镇", "甲镇支部"]
    assert len(list(wb["每周学习情况"].iter_rows())) == 1 + 8


def test_study_beside_exam_results(session, district_study, make_exam, make_paper, bank, now):
    a1, a2, a3, b1 = district_study["people"]
    exam = make_exam(people=[a1, a2, a3, b1], mode="centralized")
    for person, score in ((a1, 90), (a2, 70), (a3, 40), (b1, 80)):
        paper = make_paper(exam, person, [(bank[0], 100, None)])
        session.add(Attempt(exam_id=exam.id, person_id=person.id, paper_id=paper.id,
                            unit_id=person.unit_id, status="submitted", started_at=now,
                            deadline_at=now + DAY, submitted_at=now + DAY / 2, score=score,
                            max_score=100, passed=score >= 60))  # fmt: skip
    session.flush()
    data = study_vs_results(session, CONSOLE)
    assert data["exam"]["id"] == exam.id
    # nobody reached 10 answers before sitting: all count as not practised
    assert data["groups"]["practised"]["n"] == 0
    assert data["groups"]["not_practised"]["n"] == 4
    assert data["groups"]["difference"] is None
    by_unit = {u["unit"]: u for u in data["units"]}
    assert by_unit["甲镇"]["candidates"] == 3 and by_unit["乙镇"]["candidates"] == 1
    assert by_unit["甲镇"]["answers_per_candidate"] == pytest.approx(3.0)  # (5 + 4 + 0) / 3
    assert by_unit["甲镇"]["mean_pct"] == pytest.approx(66.7)
    # a unit admin of 乙镇 sees 乙镇's results only
    scope = scope_of(session, ["unit_admin"], [district_study["b"].id])
    assert [u["unit"] for u in study_vs_results(session, scope)["units"]] == ["乙镇"]


def test_pages_and_roles(app, client, login, session, make_person, district_study, now):
    a = district_study["a"]
    unit_admin = make_person(unit=a, password="Passw0rd!", roles=["unit_admin"], admin_unit=a)
    login(unit_admin.person_no)
    page = client.get("/study/units")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "甲镇支部" in text and "乙镇" not in text
    xlsx = client.get("/study/units.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("sheet")
    assert client.get("/study/units?weeks=abc").status_code == 422
    assert client.get("/analysis/study").status_code in (403, 404)
    learner = app.test_client()
    candidate = make_person(password="Passw0rd!")
    login(candidate.person_no, c=learner)
    assert learner.get("/study/units").status_code == 403
    assert learner.get("/study/").status_code == 200
    analyst = app.test_client()
    login(make_person(password="Passw0rd!", roles=["analyst"]).person_no, c=analyst)
    resp = analyst.get("/analysis/study")
    assert resp.status_code == 200 and "学习与考试成绩" in resp.get_data(as_text=True)
