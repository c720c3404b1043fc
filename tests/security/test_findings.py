"""One regression test per finding of the outside test (issue 14), named after it."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time

import pytest
from sqlalchemy import func, select

from core.accounts import services as accounts
from core.accounts.scope import scope_for
from core.accounts.services import ThrottlePolicy, account_for_person_no, authenticate
from core.audit import AuditEntry
from core.db import utcnow
from core.errors import InvalidInput, NotAuthenticated, TooManyRequests
from core.excel import SheetSpec, workbook_bytes
from exam.admin.codes import issue_code, issue_unit_codes
from exam.models import Attempt, Paper, PaperItem
from tests.security.conftest import PASSWORD, live_window, zip_bomb


def _scope(session, person_no):
    return scope_for(session, account_for_person_no(session, person_no))


def _audit(session, action):
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# ------------------------------------------------------------------ exam codes


def test_exam_codes_give_staff_rights(app, session, world, sign_in, make_exam, blueprint_row):
    # a unit admin's codes for the exam: the candidates of the unit, never its staff
    issued = issue_unit_codes(
        session,
        world.town_a,
        exam_id=world.exam.id,
        scope=_scope(session, "UA1"),
        actor=None,
        now=utcnow(),
    )
    assert sorted(p.person_no for p, _ in issued.issued) == ["CA1", "CA2"]
    with pytest.raises(InvalidInput):  # no code without an exam
        issue_unit_codes(
            session, world.town_a, scope=_scope(session, "UA1"), actor=None, now=utcnow()
        )
    # a code of a staff member (issued before the fix) opens a candidate's session only
    other = make_exam([world.staff_a], blueprint=blueprint_row, owner_unit=world.town_a,
                      title="另一场考试", **live_window())  # fmt: skip
    code = issue_code(session, world.staff_a, now=utcnow(), exam_id=world.exam.id)
    session.flush()
    client, token, reply = sign_in(code=code)
    assert reply["roles"] == ["candidate"]
    for url in ("/admin/people", "/bank/export.xlsx", "/analysis/", "/papers/"):
        assert client.get(url).status_code in (302, 403, 404), url
    assert client.get("/api/v1/admin/people").status_code in (403, 404)
    listed = [e["exam_id"] for e in client.get("/api/v1/exams").get_json()["exams"]]
    assert listed == [world.exam.id]
    headers = {"X-CSRFToken": token}
    assert (
        client.post(f"/api/v1/exams/{other.id}/attempts", json={}, headers=headers).status_code
        == 404
    )
    assert client.get(f"/exam/{other.id}").status_code == 404
    started = client.post(f"/api/v1/exams/{world.exam.id}/attempts", json={}, headers=headers)
    assert started.status_code == 200, started.get_json()
    # the code is one-time
    again = app.test_client().post("/api/v1/auth/login", json={"exam_code": code})
    assert again.status_code == 401


# ------------------------------------------------------------------ uploads


@pytest.fixture(scope="module")
def bomb():
    return zip_bomb(200)


def test_one_upload_takes_the_service_down(app, session, world, sign_in, bomb, monkeypatch):
    world.exam.mode = "offline"
    session.flush()
    admin, token, _ = sign_in("ADM1")
    uploads = [
        ("/bank/import", {}),
        ("/admin/org/import", {}),
        (f"/papers/exams/{world.exam.id}/answers", {}),
    ]
    for url, extra in uploads:
        started = time.perf_counter()
        resp = admin.post(
            url,
            data={"csrf_token": token, "file": (io.BytesIO(bomb), "bomb.xlsx"), **extra},
            content_type="multipart/form-data",
        )
        elapsed = time.perf_counter() - started
        assert resp.status_code == 413, (url, resp.status_code)
        assert "解压后" in resp.get_data(as_text=True), url
        assert elapsed < 5, (url, elapsed)  # refused from the zip directory, not parsed
    # a malformed file: a clear 422
    resp = admin.post(
        "/bank/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"PK\x03\x04 not a zip"), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "无法读取 Excel 文件" in resp.get_data(as_text=True)
    # the parse runs with no transaction open (on SQLite: without the write lock)
    from flask import g

    import core.excel

    seen = []
    real = core.excel._raw_sheets

    def spy(source, filename):
        seen.append(g.db_session.in_transaction())
        return real(source, filename)

    monkeypatch.setattr(core.excel, "_raw_sheets", spy)
    sheet = workbook_bytes([SheetSpec("答题卡", ["人员编号", "1"], [["CA1", "A"]])])
    for url, _ in uploads:
        admin.post(
            url,
            data={"csrf_token": token, "file": (io.BytesIO(sheet), "s.xlsx"), "dry_run": "1"},
            content_type="multipart/form-data",
        )
    assert seen and not any(seen), seen
    # meanwhile everybody else is served
    other, _, _ = sign_in("CA1")
    assert other.get("/api/v1/exams").status_code == 200


# ------------------------------------------------------------------ answer sheets


def _answer_sheet(*person_nos):
    return workbook_bytes(
        [SheetSpec("答题卡", ["人员编号", "1", "2"], [[n, "A", "B"] for n in person_nos])]
    )


def test_answer_sheets_written_outside_scope(session, world, sign_in):
    ua, token, _ = sign_in("UA1")
    url = f"/papers/exams/{world.exam.id}/answers"

    def upload(*numbers):
        return ua.post(
            url,
            data={"csrf_token": token, "file": (io.BytesIO(_answer_sheet(*numbers)), "s.xlsx")},
            content_type="multipart/form-data",
        )

    # an online exam takes no answer sheets at all
    resp = upload("CA1")
    assert resp.status_code == 409 and "在线考试" in resp.get_data(as_text=True)
    world.exam.mode = "centralized"
    session.flush()
    # a candidate of another town is not the unit admin's to write
    resp = upload("CB1")
    assert resp.status_code == 422
    assert "不在您的管理范围内" in resp.get_data(as_text=True)
    attempts = select(func.count()).select_from(Attempt).where(Attempt.exam_id == world.exam.id)
    assert session.scalar(attempts) == 0
    # inside the scope it works
    assert upload("CA1").status_code == 200
    assert session.scalar(attempts) == 1


# ------------------------------------------------------------------ keys


def test_keys_of_a_running_exam_revealed_by_another_exams_review(
    app, session, world, sign_in, make_exam, make_paper, blueprint_row, bank
):
    from exam.runner.review import WITHHELD_NOTE, review_payload
    from exam.runner.start import start_or_resume
    from exam.runner.submit import submit

    live_versions = set(
        session.scalars(
            select(PaperItem.question_version_id)
            .join(Paper, Paper.id == PaperItem.paper_id)
            .where(Paper.exam_id == world.exam.id)
        )
    )
    on_live = next(v for v in bank if v.id in live_versions)
    free = next(v for v in bank if v.id not in live_versions)
    now = utcnow()
    short = make_exam([world.cand_a], blueprint=blueprint_row, owner_unit=world.town_a,
                      title="短时考试", opens_at=now - dt.timedelta(hours=3),
                      closes_at=now - dt.timedelta(hours=1))  # fmt: skip
    make_paper(short, world.cand_a, [(on_live, 5, None), (free, 5, None)])
    attempt = start_or_resume(session, short.id, world.cand_a.id, now=now - dt.timedelta(hours=2))
    submit(session, attempt.id, world.cand_a.id, now=now - dt.timedelta(hours=2))
    review = review_payload(session, attempt, now)
    by_version = {q["id"]: q for q in review["questions"]}
    items = {i.question_version_id: i.id for i in attempt.paper.items}
    hidden, shown = by_version[items[on_live.id]], by_version[items[free.id]]
    assert hidden["withheld"] and hidden["key"] is None and hidden["explanation"] is None
    assert hidden["is_correct"] is None and hidden["citations"] == []
    assert shown["key"] is not None and not shown.get("withheld")
    client, _, _ = sign_in("CA1")
    page = client.get(f"/exam/attempt/{attempt.id}/review")
    assert page.status_code == 200 and WITHHELD_NOTE in page.get_data(as_text=True)
    # once the live exam is over, the whole review shows
    world.exam.closes_at = now - dt.timedelta(minutes=1)
    session.flush()
    assert not any(q.get("withheld") for q in review_payload(session, attempt, now)["questions"])
    world.exam.closes_at = now + dt.timedelta(hours=8)
    session.flush()
    # keyed print and export of the live online exam are refused; printing is audited
    admin, _, _ = sign_in("ADM1")
    assert admin.get(f"/papers/exams/{world.exam.id}/print?key=1").status_code == 409
    assert admin.get(f"/papers/exams/{world.exam.id}/export.xlsx").status_code == 409
    assert admin.get(f"/papers/exams/{world.exam.id}/print").status_code == 200
    printed = _audit(session, "papers.print")
    assert printed and printed[-1].after["key"] is False and printed[-1].after["papers"] == 4


# ------------------------------------------------------------------ print scope


def test_printed_papers_outside_scope(session, world, sign_in):
    world.exam.mode = "offline"
    session.flush()
    ua, _, _ = sign_in("UA1")
    printed = ua.get(f"/papers/exams/{world.exam.id}/print?key=1").get_data(as_text=True)
    assert "CA1" in printed and "CA2" in printed and "CB1" not in printed and "乙一" not in printed
    page = ua.get(f"/papers/exams/{world.exam.id}").get_data(as_text=True)
    assert "城关镇" in page and "东城街道" not in page
    assert "考生 3 人" in page  # CA1, CA2 and STA1 of town A, not CB1
    from openpyxl import load_workbook

    export = ua.get(f"/papers/exams/{world.exam.id}/export.xlsx")
    assert export.status_code == 200
    numbers = {r[0] for r in load_workbook(io.BytesIO(export.data))["答题卡"].iter_rows(
        min_row=2, values_only=True)}  # fmt: skip
    assert numbers == {"CA1", "CA2", "STA1"}
    # naming the other town's people or unit does not help
    assert ua.get(f"/papers/exams/{world.exam.id}/print?unit=TB").status_code == 403
    assert (
        ua.get(f"/papers/exams/{world.exam.id}/print?person={world.cand_b.id}").status_code == 404
    )
    # the admin sees everyone; both outputs were audited with who asked
    admin, _, _ = sign_in("ADM1")
    assert "CB1" in admin.get(f"/papers/exams/{world.exam.id}/print").get_data(as_text=True)
    assert {e.actor.split()[0] for e in _audit(session, "papers.print")} == {"UA1", "ADM1"}
    assert _audit(session, "papers.export")[-1].after["papers"] == 3


# ------------------------------------------------------------------ sessions


def _first_single(payload):
    return next(q for q in payload["questions"] if q["type"] == "single")


def test_logout_does_not_end_the_session(app, world, sign_in):
    client, token, _ = sign_in("CA1")
    started = client.post(
        f"/api/v1/exams/{world.exam.id}/attempts", json={}, headers={"X-CSRFToken": token}
    ).get_json()
    lean = started["autosave"]
    item = _first_single(started)

    def save(seq):
        return client.put(
            f"{lean['url']}{item['id']}",
            json={"answer": "A", "seq": seq},
            headers={lean["header"]: lean["token"]},
        )

    assert save(1).status_code == 200
    stolen = app.test_client()
    stolen.set_cookie("jifa_session", client.get_cookie("jifa_session").value)
    assert stolen.get("/api/v1/exams").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    # the copied cookie and the autosave token are dead on the server
    assert stolen.get("/api/v1/exams").status_code == 401
    assert stolen.get(f"/exam/{world.exam.id}").status_code == 302
    refused = save(2)
    assert refused.status_code == 401 and refused.get_json()["ok"] is False


def test_logout_does_not_end_the_session_json_api(app, world, sign_in):
    client, token, _ = sign_in("CA2")
    stolen = app.test_client()
    stolen.set_cookie("jifa_session", client.get_cookie("jifa_session").value)
    assert client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token}).status_code == 200
    assert stolen.get("/api/v1/exams").status_code == 401


def test_logout_does_not_end_the_session_password_reset_by_unit_admin(session, world, sign_in):
    cand, _, _ = sign_in("CA1")
    assert cand.get("/api/v1/exams").status_code == 200
    ua, token, _ = sign_in("UA1")
    resp = ua.post(
        "/admin/credentials",
        data={"csrf_token": token, "unit": "TA", "kind": "password", "reset_existing": "1"},
    )
    assert resp.status_code == 200 and "CA1" in resp.get_data(as_text=True)
    assert cand.get("/api/v1/exams").status_code == 401


def test_logout_does_not_end_the_session_api_skips_forced_password_change(session, world, sign_in):
    accounts.set_password(
        session, account_for_person_no(session, "CA2"), "Initial123", must_change=True
    )
    session.flush()
    client, token, reply = sign_in("CA2", "Initial123")
    assert reply["must_change_password"] is True
    headers = {"X-CSRFToken": token}
    refused = client.post(f"/api/v1/exams/{world.exam.id}/attempts", json={}, headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["details"] == {"must_change_password": True}
    assert client.get("/api/v1/exams").status_code == 403
    changed = client.post("/api/v1/auth/password", json={"new": "MyOwn12345"}, headers=headers)
    assert changed.status_code == 200, changed.get_json()
    started = client.post(f"/api/v1/exams/{world.exam.id}/attempts", json={}, headers=headers)
    assert started.status_code == 200


def test_logout_does_not_end_the_session_analysts_regenerate_papers(session, world, sign_in):
    before = sorted(session.scalars(select(Paper.id).where(Paper.exam_id == world.exam.id)))
    analyst, token, _ = sign_in("ANA1")
    for url in (
        f"/papers/exams/{world.exam.id}/generate",
        f"/admin/exams/{world.exam.id}/papers",
    ):
        resp = analyst.post(url, data={"csrf_token": token, "regenerate": "1"})
        assert resp.status_code == 403, url
    page = analyst.get(f"/papers/exams/{world.exam.id}").get_data(as_text=True)
    assert "全部重新生成" not in page and "生成缺少的试卷" not in page
    session.expire_all()
    assert sorted(session.scalars(select(Paper.id).where(Paper.exam_id == world.exam.id))) == before


# ------------------------------------------------------------------ redirects

HOSTILE_NEXT = [
    "https://evil.example/x",
    "http:evil.example",
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    " //evil.example",
    "/\t/evil.example",
    "/exam/\r\nSet-Cookie: x=1",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_open_redirect_at_login(app, world, target):
    client = app.test_client()
    token = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    resp = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": token, "person_no": "CA1", "password": PASSWORD},
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/", target


@pytest.mark.parametrize("target", ["/exam/", "/exam/?tab=1", f"/admin/people?page={2}"])
def test_open_redirect_at_login_keeps_same_site_paths(app, world, target):
    client = app.test_client()
    token = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    resp = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": token, "person_no": "CA1", "password": PASSWORD},
    )
    assert resp.headers["Location"] == target


# ------------------------------------------------------------------ headers


def test_no_security_headers_on_any_page(app, world, sign_in):
    from tests.security.test_headers import assert_security_headers

    client, token, _ = sign_in("CA1")
    started = client.post(
        f"/api/v1/exams/{world.exam.id}/attempts", json={}, headers={"X-CSRFToken": token}
    ).get_json()
    responses = [
        client.get("/"),
        client.get("/exam/"),
        client.get(f"/exam/attempt/{started['attempt_id']}"),
        client.get("/no/such/page"),
        client.get("/static/app.css"),
        client.get("/api/v1/exams"),
        client.put(
            f"{started['autosave']['url']}{_first_single(started)['id']}",
            json={"answer": "A", "seq": 1},
            headers={started["autosave"]["header"]: started["autosave"]["token"]},
        ),
    ]
    for resp in responses:
        assert_security_headers(resp)
        resp.close()


# ------------------------------------------------------------------ throttling


def _proxied_app(session_factory, db_url, tmp_path, proxies):
    from jifa.web import create_app

    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SESSION_FACTORY": session_factory,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / f"proxied{proxies}"),
            "TRUSTED_PROXIES": proxies,
        }
    )


def _login_from(client, address, person_no, password):
    return client.post(
        "/api/v1/auth/login",
        json={"person_no": person_no, "password": password},
        headers={"X-Forwarded-For": address},
    )


def test_throttling_behind_a_proxy(session_factory, db_url, tmp_path, world):
    behind = _proxied_app(session_factory, db_url, tmp_path, 1).test_client()
    for _ in range(5):  # one client behind the proxy guesses
        assert _login_from(behind, "10.0.0.9", "CA1", "wrong-pass1").status_code == 401
    assert _login_from(behind, "10.0.0.9", "CA1", PASSWORD).status_code == 429
    # another client behind the same proxy is not locked out with them
    assert _login_from(behind, "10.0.0.2", "CA1", PASSWORD).status_code == 200
    # without the setting a forged X-Forwarded-For buys nothing: the peer address counts
    direct = _proxied_app(session_factory, db_url, tmp_path, 0).test_client()
    for i in range(5):
        assert _login_from(direct, f"10.1.0.{i}", "CA2", "wrong-pass1").status_code == 401
    assert _login_from(direct, "10.1.0.99", "CA2", PASSWORD).status_code == 429


def test_account_probing(session, world, app, monkeypatch):
    client = app.test_client()
    hashes = []
    real = accounts.check_password_hash
    monkeypatch.setattr(
        accounts, "check_password_hash", lambda h, p: hashes.append(1) or real(h, p)
    )

    def attempt(person_no, password):
        before = len(hashes)
        resp = client.post(
            "/api/v1/auth/login", json={"person_no": person_no, "password": password}
        )
        assert len(hashes) - before == 1  # one hash whatever the case: the same cost
        return resp

    for _ in range(5):
        known = attempt("CA1", "wrong-pass1")
        unknown = attempt("NOBODY-77", "wrong-pass1")
        assert known.status_code == unknown.status_code == 401
        assert known.get_json() == unknown.get_json()
    known, unknown = attempt("CA1", PASSWORD), attempt("NOBODY-77", PASSWORD)
    assert known.status_code == unknown.status_code == 429
    assert known.get_json() == unknown.get_json()
    assert "锁定" in known.get_json()["error"]["message"]
    # the same wait (to the second the failures happened in)
    assert abs(int(known.headers["Retry-After"]) - int(unknown.headers["Retry-After"])) <= 2
    assert 0 < int(known.headers["Retry-After"]) <= 301


def test_account_probing_sliding_window_catches_slow_guessers(session, world):
    policy = ThrottlePolicy()
    start = utcnow()
    # a guess every 2 minutes never trips the per-address limit (5 in 5 minutes) ...
    for i in range(policy.max_account_failures):
        with pytest.raises(NotAuthenticated):
            authenticate(session, "CA1", "guess", now=start + dt.timedelta(minutes=2 * i),
                         ip="10.2.0.1", policy=policy)  # fmt: skip
        session.flush()
    later = start + dt.timedelta(minutes=2 * policy.max_account_failures)
    # ... but the account-wide window does (the old window restarted and never did)
    with pytest.raises(TooManyRequests):
        authenticate(session, "CA1", "guess", now=later, ip="10.2.0.2", policy=policy)
    # a newcomer cannot lock the person out of an address they logged in from before
    authenticate(session, "CA2", PASSWORD, now=start, ip="10.3.0.1", policy=policy)
    for i in range(policy.max_account_failures):
        with pytest.raises(NotAuthenticated):
            authenticate(session, "CA2", "guess", now=start + dt.timedelta(minutes=2 * i),
                         ip=f"10.4.0.{i}", policy=policy)  # fmt: skip
        session.flush()
    with pytest.raises(TooManyRequests):
        authenticate(session, "CA2", PASSWORD, now=later, ip="10.9.9.9", policy=policy)
    assert authenticate(session, "CA2", PASSWORD, now=later, ip="10.3.0.1", policy=policy)


def test_account_probing_code_login_is_throttled(app, world):
    client = app.test_client()
    for _ in range(ThrottlePolicy().max_code_failures):
        assert (
            client.post("/api/v1/auth/login", json={"exam_code": "WRONGCODE1"}).status_code == 401
        )
    resp = client.post("/api/v1/auth/login", json={"exam_code": "WRONGCODE2"})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0


def test_429_without_retry_after(app, world, monkeypatch, sign_in):
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    client = app.test_client()
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"person_no": "CA1", "password": "nope-1234"})
    throttled = client.post("/api/v1/auth/login", json={"person_no": "CA1", "password": PASSWORD})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    token = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    page = client.post("/login", data={"csrf_token": token, "person_no": "CA1", "password": "x"})
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    # a database that is away: 503 with Retry-After, through Flask ...
    cand, csrf, _ = sign_in("CA2")
    started = cand.post(
        f"/api/v1/exams/{world.exam.id}/attempts", json={}, headers={"X-CSRFToken": csrf}
    ).get_json()
    import jifa.web.runner.views as runner_views

    def away(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(runner_views, "exams_for_person", away)
    busy = cand.get("/api/v1/exams")
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
    # ... and through the lean autosave app
    lean = app.extensions["jifa_autosave"]

    def broken(*args, **kwargs):
        raise SQLAlchemyError("gone")

    monkeypatch.setattr(lean, "_save", broken)
    resp = cand.put(
        f"{started['autosave']['url']}{_first_single(started)['id']}",
        json={"answer": "A", "seq": 1},
        headers={started["autosave"]["header"]: started["autosave"]["token"]},
    )
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0


# ------------------------------------------------------------------ odd input


def test_500s_on_odd_input(app, world, sign_in, tmp_path):
    admin, _, _ = sign_in("ADM1")
    huge = 10**30
    for url in (
        f"/admin/exams/{huge}",
        f"/api/v1/attempts/{huge}",
        f"/exam/attempt/{huge}",
        f"/papers/exams/{huge}/print",
    ):
        assert admin.get(url).status_code == 404, url
    for page in (str(huge), str(2**62), "-5", "x"):
        status = admin.get("/admin/people", query_string={"page": page}).status_code
        assert status in (200, 400, 422), (page, status)
    nested = "[" * 100_000 + "]" * 100_000
    resp = app.test_client().post(
        "/api/v1/auth/login", data=nested, content_type="application/json"
    )
    assert 400 <= resp.status_code < 500
    # the SQLite file is readable by its owner only
    from core.db import make_engine

    path = tmp_path / "private" / "jifa.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert os.stat(path).st_mode & 0o077 == 0


# ------------------------------------------------------------------ CSV


def test_formula_injection_in_the_draws_roster_csv(session, world):
    from analysis.sampling import RosterEntry, canonical_roster_csv
    from core.accounts.scope import CONSOLE
    from core.org.roster import import_org

    roster = workbook_bytes(
        [SheetSpec("人员名册", ["姓名", "人员编号", "单位", "职级"],
                   [["张三", "=1+2", "TA", "乡科级"], ["李四", "@SUM(A1)", "TA", "乡科级"]])]
    )  # fmt: skip
    report = import_org(session, roster, filename="r.xlsx", scope=CONSOLE)
    messages = " ".join(e.reason for e in report.errors)
    assert "=1+2" in messages and "@SUM(A1)" in messages
    with pytest.raises(InvalidInput, match="公式"):
        canonical_roster_csv([RosterEntry("T01", "=1+2", "城关镇", "乡科级")])
    text = canonical_roster_csv([RosterEntry("T01", "T01-0001", "城关镇", "乡科级")])
    assert "T01-0001" in text


# ------------------------------------------------------------------ production


def test_demo_accounts_in_production(app, session_factory, db_url, tmp_path, runner, monkeypatch):
    from jifa.app.demo import DEMO_PASSWORD
    from jifa.app.safety import UnsafeConfiguration
    from jifa.web import create_app

    base = {"TESTING": True, "DATABASE_URL": db_url, "SESSION_FACTORY": session_factory,
            "INSTANCE_PATH": str(tmp_path / "prod"), "ENV": "production"}  # fmt: skip
    with pytest.raises(UnsafeConfiguration, match="默认值或过短"):
        create_app({**base, "SECRET_KEY": "test-secret"})
    with pytest.raises(UnsafeConfiguration, match="自动生成"):
        create_app(base)  # the key generated into instance/secret_key
    create_app({**base, "ALLOW_GENERATED_SECRET": True})  # told to: starts
    monkeypatch.setenv("JIFA_ENV", "production")
    refused = runner.invoke(["demo", "load"])
    assert refused.exit_code == 1 and "生产环境" in refused.output
    monkeypatch.delenv("JIFA_ENV")
    loaded = runner.invoke(["demo", "load", "--json"])
    assert loaded.exit_code == 0, loaded.output
    production = create_app({**base, "SECRET_KEY": "k" * 40}).test_client()
    development = app.test_client()
    for person_no in ("A0001", "A0003", "T01-0002"):
        body = {"person_no": person_no, "password": DEMO_PASSWORD}
        assert production.post("/api/v1/auth/login", json=body).status_code == 401
        assert development.post("/api/v1/auth/login", json=body).status_code == 200
    # the first real administrator, password from standard input
    made = runner.invoke(["user", "create-admin", "T01-0003"], input="Real-Admin-2026\n")
    assert made.exit_code == 0, made.output
    login = production.post(
        "/api/v1/auth/login", json={"person_no": "T01-0003", "password": "Real-Admin-2026"}
    )
    assert login.status_code == 200 and "admin" in login.get_json()["roles"]
    weak = runner.invoke(["user", "create-admin", "T01-0004"], input="short\n")
    assert weak.exit_code == 1
    assert json.loads(loaded.output)["logins"]
