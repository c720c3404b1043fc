from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.audit import AuditEntry
from core.org.models import Person
from exam.models import Exam, Participant, SelfReportedResult
from tests.admin.conftest import PASSWORD, xlsx
from tests.conftest import NOW


def _login(client, no):
    resp = client.post("/api/v1/auth/login", json={"person_no": no, "password": PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["csrf_token"]


@pytest.fixture
def exams_ab(world, make_exam, make_attempt):
    exam_a = make_exam([world.cand_a, world.cand_a2], owner_unit=world.town_a, title="甲镇考试")
    exam_b = make_exam([world.cand_b], owner_unit=world.town_b, title="乙街道考试")
    make_attempt(exam_a, world.cand_a, score=85)
    make_attempt(exam_b, world.cand_b, score=55)
    return exam_a, exam_b


def test_admin_pages_render(client, world, exams_ab):
    exam_a, _ = exams_ab
    _login(client, "ADM1")
    for url in [
        "/admin/",
        "/admin/org",
        "/admin/org/import",
        "/admin/people",
        "/admin/people/TA-0001",
        "/admin/users",
        "/admin/credentials",
        "/admin/exams",
        "/admin/exams/new",
        f"/admin/exams/{exam_a.id}",
        f"/admin/exams/{exam_a.id}/edit",
        f"/admin/exams/{exam_a.id}/monitor",
        f"/admin/exams/{exam_a.id}/results",
        "/admin/self-reported",
        "/admin/audit",
    ]:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert "csrf" in resp.get_data(as_text=True)
    for url in ["/admin/org/template.xlsx", f"/admin/exams/{exam_a.id}/results.xlsx",
                "/admin/people.xlsx", "/admin/self-reported/template.xlsx"]:  # fmt: skip
        resp = client.get(url)
        assert resp.status_code == 200 and resp.data[:2] == b"PK", url


def test_candidate_and_anonymous_are_kept_out(client, app, world):
    assert client.get("/admin/").status_code == 302
    assert client.get("/api/v1/admin/people").status_code == 401
    _login(client, "TA-0001")
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/people").status_code == 403
    assert client.get("/api/v1/admin/people").status_code == 403


def test_unit_admin_cannot_reach_another_unit(client, world, exams_ab):
    exam_a, exam_b = exams_ab
    token = _login(client, "UA1")
    # lists show only town A
    html = client.get("/admin/people").get_data(as_text=True)
    assert "TA-0001" in html and "TB-0001" not in html
    people = client.get("/api/v1/admin/people").get_json()["people"]
    assert {p["person_no"] for p in people} >= {"TA-0001"}
    assert "TB-0001" not in {p["person_no"] for p in people}
    assert client.get("/admin/people?unit=TB").status_code == 403
    html = client.get("/admin/exams").get_data(as_text=True)
    assert "甲镇考试" in html and "乙街道考试" not in html
    # reading another unit's person, exam, monitor, results
    assert client.get("/admin/people/TB-0001").status_code == 404
    for url in [
        f"/admin/exams/{exam_b.id}",
        f"/admin/exams/{exam_b.id}/monitor",
        f"/admin/exams/{exam_b.id}/results",
        f"/admin/exams/{exam_b.id}/results.xlsx",
        f"/admin/exams/{exam_b.id}/edit",
        f"/api/v1/admin/exams/{exam_b.id}/monitor",
        f"/api/v1/admin/exams/{exam_b.id}/results",
    ]:
        assert client.get(url).status_code in (403, 404), url
    # exports contain only town A
    wb = load_workbook(io.BytesIO(client.get("/admin/people.xlsx").data))
    nos = {r[0] for r in wb.active.iter_rows(min_row=2, values_only=True)}
    assert "TA-0001" in nos and "TB-0001" not in nos
    # changing another unit's exam or people
    for url, data in [
        (f"/admin/exams/{exam_b.id}/open", {}),
        (f"/admin/exams/{exam_b.id}/close", {}),
        (f"/admin/exams/{exam_b.id}/extend", {"until": "2026-06-16T10:00"}),
        (f"/admin/exams/{exam_b.id}/extra-time",
         {"person_no": "TB-0001", "minutes": "10", "reason": "x"}),
        (f"/admin/exams/{exam_b.id}/enrol", {"people": "TA-0002"}),
        (f"/admin/exams/{exam_b.id}/papers", {}),
        ("/admin/people/TB-0001/logout", {}),
        ("/admin/credentials", {"unit": "TB", "kind": "password"}),
        ("/admin/users/grant", {"person_no": "UA1", "role": "admin"}),
    ]:  # fmt: skip
        resp = client.post(url, data={**data, "csrf_token": token})
        assert resp.status_code in (403, 404), url
    # enrolling another unit's person in their own exam is refused (named in a flash)
    client.post(f"/admin/exams/{exam_a.id}/enrol", data={"people": "TB-0001", "csrf_token": token})
    assert client.get(f"/admin/exams/{exam_a.id}").status_code == 200
    # creating an exam owned by another unit
    resp = client.post("/admin/exams/new", data={
        "csrf_token": token, "title": "越权", "blueprint_id": str(exam_a.blueprint_id),
        "owner_unit": "TB", "opens_at": "2026-06-15T09:00", "closes_at": "2026-06-15T18:00",
        "duration_minutes": "30",
    })  # fmt: skip
    assert resp.status_code == 403
    # a district exam enrolling both towns shows the unit admin only their own people
    # (and they cannot change it)


def test_unit_admin_sees_own_results_and_monitor(client, session, world, exams_ab, make_exam):
    exam_a, _ = exams_ab
    district_exam = make_exam([world.cand_a, world.cand_b], owner_unit=world.district)
    token = _login(client, "UA1")
    data = client.get(f"/api/v1/admin/exams/{district_exam.id}/monitor").get_json()
    assert [c["person_no"] for c in data["candidates"]] == ["TA-0001"]
    data = client.get(f"/api/v1/admin/exams/{district_exam.id}/results").get_json()
    assert [r["person_no"] for r in data["rows"]] == ["TA-0001"]
    resp = client.post(f"/admin/exams/{district_exam.id}/close", data={"csrf_token": token})
    assert resp.status_code == 403
    data = client.get(f"/api/v1/admin/exams/{exam_a.id}/results").get_json()
    assert {r["person_no"] for r in data["rows"]} == {"TA-0001", "TA-0002"}


def test_contact_only_for_roles_that_need_it(client, session, world):
    world.cand_a.contact = "13912345678"
    session.flush()
    _login(client, "ANA1")
    assert "13912345678" not in client.get("/admin/people").get_data(as_text=True)
    assert "contact" not in client.get("/api/v1/admin/people").get_json()["people"][0]
    client.post("/api/v1/auth/logout")
    _login(client, "UA1")
    assert "13912345678" in client.get("/admin/people").get_data(as_text=True)


def test_analyst_reads_but_cannot_change(client, world, exams_ab):
    _, exam_b = exams_ab
    token = _login(client, "ANA1")
    assert client.get(f"/admin/exams/{exam_b.id}/results").status_code == 200
    resp = client.post(f"/admin/exams/{exam_b.id}/close", data={"csrf_token": token})
    assert resp.status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_create_exam_through_the_form_and_operate_it(client, session, world, make_blueprint):
    bp = make_blueprint()
    token = _login(client, "UA1")
    resp = client.post("/admin/exams/new", data={
        "csrf_token": token, "title": "甲镇七月测试", "blueprint_id": str(bp.id),
        "owner_unit": "TA", "opens_at": "2099-07-01T09:00", "closes_at": "2099-07-01T18:00",
        "duration_minutes": "40", "ranks": ["township"], "people": "TA-0002",
        "navigation": "single", "mode": "offline",
    })  # fmt: skip
    assert resp.status_code == 302, resp.get_data(as_text=True)
    exam = session.scalar(select(Exam).where(Exam.title == "甲镇七月测试"))
    assert (exam.navigation, exam.mode, exam.duration_minutes) == ("single", "offline", 40)
    nos = {p.person.person_no for p in exam.participants}
    assert nos == {"TA-0001", "UA1", "TA-0002"}
    # bad input: a clear message, not a 500
    resp = client.post("/admin/exams/new", data={
        "csrf_token": token, "title": "", "blueprint_id": str(bp.id), "owner_unit": "TA",
        "opens_at": "2099-07-01T09:00", "closes_at": "2099-07-01T08:00", "duration_minutes": "x",
    })  # fmt: skip
    assert resp.status_code == 422
    assert (
        client.post(f"/admin/exams/{exam.id}/open", data={"csrf_token": token}).status_code == 302
    )
    resp = client.post(f"/admin/exams/{exam.id}/extend",
                       data={"csrf_token": token, "until": "2099-07-01T20:00", "reason": "停电"})  # fmt: skip
    assert resp.status_code == 302
    resp = client.post(f"/admin/exams/{exam.id}/extra-time", data={
        "csrf_token": token, "person_no": "TA-0002", "minutes": "15", "reason": "视力障碍"})  # fmt: skip
    assert resp.status_code == 302
    session.expire_all()
    part = session.scalar(select(Participant).where(Participant.exam_id == exam.id,
                          Participant.person_id == world.cand_a2.id))  # fmt: skip
    assert part.extra_minutes == 15
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id.in_(
        [str(exam.id), str(part.id)]))))  # fmt: skip
    assert {"exam.create", "exam.enrol", "exam.open", "exam.extend_window",
            "exam.extra_time"} <= actions  # fmt: skip


def test_roster_upload_page_names_bad_rows(client, session, world):
    token = _login(client, "ADM1")
    data = xlsx({"名册": [["姓名", "人员编号", "单位", "职级"], ["甲", "N-1", "NOPE", "一般干部"],
                          ["乙", "N-2", "TA", "县长"]]})  # fmt: skip
    resp = client.post("/admin/org/import", data={
        "csrf_token": token, "file": (io.BytesIO(data), "r.xlsx")},
        content_type="multipart/form-data")  # fmt: skip
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "未知单位" in html and "未知职级" in html and "未写入" in html
    assert session.scalar(select(Person).where(Person.person_no == "N-1")) is None
    resp = client.post("/admin/org/import", data={"csrf_token": token},
                       content_type="multipart/form-data")  # fmt: skip
    assert resp.status_code == 422  # no file: a message, not a 500


def test_self_reported_upload_page(client, session, world):
    token = _login(client, "UA1")
    data = xlsx({"S": [["人员编号", "成绩", "满分", "考试日期", "考试名称"],
                       ["TA-0001", 90, 100, "2026-05-01", "纸笔测试"],
                       ["TB-0001", 90, 100, "2026-05-01", "纸笔测试"]]})  # fmt: skip
    resp = client.post("/admin/self-reported", data={
        "csrf_token": token, "file": (io.BytesIO(data), "s.xlsx")},
        content_type="multipart/form-data")  # fmt: skip
    assert resp.status_code == 422 and "不在您的管理范围" in resp.get_data(as_text=True)
    assert session.scalar(select(SelfReportedResult)) is None


def test_bulk_passwords_slips_and_forced_change(client, app, session, world):
    token = _login(client, "UA1")
    resp = client.post("/admin/credentials",
                       data={"csrf_token": token, "unit": "TA", "kind": "password"})  # fmt: skip
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "TA-0002" in html and "首次登录后须修改密码" in html
    # people who chose their own password, and the administrator, are left alone
    assert "TA-0001" not in html and "UA1" not in html
    assert resp.headers["Cache-Control"] == "no-store"
    resp = client.post("/admin/credentials",
                       data={"csrf_token": token, "unit": "TAB1", "kind": "password",
                             "format": "xlsx", "reset_existing": "1"})  # fmt: skip
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    rows = {r[0]: r[3] for r in wb.active.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"TA-0001"}  # the branch only
    c2 = app.test_client()
    resp = c2.post("/api/v1/auth/login", json={"person_no": "TA-0001", "password": rows["TA-0001"]})
    assert resp.get_json()["must_change_password"] is True
    resp = c2.get("/admin/")  # any page sends them to the password change first
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/password")
    token2 = c2.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    resp = c2.post("/password", data={"csrf_token": token2, "new": "NewPassw0rd",
                                      "confirm": "NewPassw0rd"})  # fmt: skip
    assert resp.status_code == 302
    session.expire_all()
    from core.accounts.services import account_for_person_no

    assert account_for_person_no(session, "TA-0001").must_change_password is False
    assert c2.get("/").status_code == 200


def test_exam_codes_slips(client, session, world, make_exam):
    exam = make_exam([world.cand_a], owner_unit=world.town_a)
    token = _login(client, "UA1")
    resp = client.post("/admin/credentials", data={
        "csrf_token": token, "unit": "TA", "kind": "code", "exam": str(exam.id)})  # fmt: skip
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "TA-0001" in html and "TA-0002" not in html  # only the exam's candidates
    import re

    code = re.search(r'class="secret">([A-Z0-9]{10})<', html).group(1)
    c2 = client.application.test_client()
    resp = c2.post("/api/v1/auth/login", json={"exam_code": code})
    assert resp.status_code == 200 and resp.get_json()["person_no"] == "TA-0001"
    resp = client.application.test_client().post("/api/v1/auth/login", json={"exam_code": code})
    assert resp.status_code == 401  # one-time


def test_audit_log_search_admin_only_and_no_edit_path(client, app, session, world):
    from core.audit import record

    record(session, None, "exam.extend_window", "exam", 42, after={"x": 1}, at=NOW)
    session.flush()
    _login(client, "ADM1")
    html = client.get("/admin/audit?action=exam.extend").get_data(as_text=True)
    assert "exam.extend_window" in html
    html = client.get("/admin/audit?action=nothing.like.this").get_data(as_text=True)
    assert "exam.extend_window" not in html
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_generate_papers_from_the_exam_page(client, session, world, make_blueprint, make_exam,
                                            make_question):  # fmt: skip
    pytest.importorskip("exam.papers")
    from exam.models import Paper

    bp = make_blueprint(sections=[{"type": "single", "count": 2, "points": 50}], pass_mark=60)
    for _ in range(6):
        make_question(type="single")
    exam = make_exam([world.cand_a, world.cand_a2], blueprint=bp, owner_unit=world.town_a,
                     status="draft")  # fmt: skip
    token = _login(client, "UA1")
    resp = client.post(f"/admin/exams/{exam.id}/papers", data={"csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    session.expire_all()
    papers = session.scalars(select(Paper).where(Paper.exam_id == exam.id)).all()
    assert len(papers) == 2 and all(len(p.items) == 2 for p in papers)


def test_candidate_cannot_read_another_attempt(client, session, world, exams_ab):
    exam_a, exam_b = exams_ab
    from exam.models import Attempt

    _login(client, "TA-0001")
    other = session.scalar(select(Attempt.id).where(Attempt.exam_id == exam_b.id))
    for url in [f"/api/v1/attempts/{other}", f"/exam/attempt/{other}",
                f"/exam/attempt/{other}/result", f"/exam/attempt/{other}/review",
                f"/api/v1/admin/exams/{exam_a.id}/results", "/api/v1/admin/people"]:  # fmt: skip
        resp = client.get(url)
        assert resp.status_code in (403, 404), url
