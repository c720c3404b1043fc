from __future__ import annotations

import re

from openpyxl import load_workbook
from sqlalchemy import select

from core.accounts.services import account_for_person_no
from core.audit import AuditEntry
from tests.admin.conftest import PASSWORD


def _app(session_factory, db_url, tmp_path, name):
    from jifa.web import create_app

    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SESSION_FACTORY": session_factory,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / name),
        }
    )


def _try(client, no, password):
    return client.post("/api/v1/auth/login", json={"person_no": no, "password": password})


def test_sixth_wrong_password_is_refused_even_when_right(client, world):
    for _ in range(5):
        assert _try(client, "TA-0001", "wrong-pass1").status_code == 401
    resp = _try(client, "TA-0001", PASSWORD)
    assert resp.status_code == 429
    assert "锁定" in resp.get_json()["error"]["message"]
    # the HTML form says so too
    token = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    resp = client.post(
        "/login", data={"csrf_token": token, "person_no": "TA-0001", "password": PASSWORD}
    )
    assert resp.status_code == 429 and "锁定" in resp.get_data(as_text=True)


def test_lockout_holds_across_two_app_servers(session_factory, db_url, tmp_path, world):
    one = _app(session_factory, db_url, tmp_path, "one").test_client()
    two = _app(session_factory, db_url, tmp_path, "two").test_client()
    for i in range(5):
        server = one if i % 2 == 0 else two  # failures spread over both servers
        assert _try(server, "TB-0001", "wrong-pass1").status_code == 401
    assert _try(two, "TB-0001", PASSWORD).status_code == 429
    assert _try(one, "TB-0001", PASSWORD).status_code == 429
    # another account is unaffected
    assert _try(one, "TA-0001", PASSWORD).status_code == 200


def test_every_post_route_rejects_a_missing_csrf_token(app, client, world):
    token = client.post(
        "/api/v1/auth/login", json={"person_no": "ADM1", "password": PASSWORD}
    ).get_json()["csrf_token"]
    assert token
    checked = 0
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.endpoint == "auth_api.api_login":
            continue
        url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "1", rule.rule)
        for method in methods:
            resp = client.open(url, method=method, data={"x": "1"})
            assert resp.status_code == 400, (rule.rule, method, resp.status_code)
            checked += 1
            # and with JSON, as the API clients send
            resp = client.open(url, method=method, json={"x": 1})
            assert resp.status_code == 400, (rule.rule, method, "json")
    assert checked >= 20
    # still logged in and nothing was changed
    assert client.get("/admin/").status_code == 200


def test_logout_everywhere_invalidates_other_sessions(app, world):
    phone, desktop = app.test_client(), app.test_client()
    for c in (phone, desktop):
        assert _try(c, "TA-0001", PASSWORD).status_code == 200
    token = phone.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    resp = phone.post("/logout", data={"csrf_token": token, "everywhere": "1"})
    assert resp.status_code == 302
    assert desktop.get("/password").status_code == 302  # back to the login page


def test_admin_forces_logout_of_a_person(app, client, world):
    cand = app.test_client()
    assert _try(cand, "TA-0001", PASSWORD).status_code == 200
    token = _try(client, "ADM1", PASSWORD).get_json()["csrf_token"]
    resp = client.post("/admin/people/TA-0001/logout", data={"csrf_token": token})
    assert resp.status_code == 302
    assert cand.get("/password").status_code == 302


def test_cli_user_commands(runner, session, world, tmp_path, make_exam):
    result = runner.invoke(["user", "passwd", "TA-0002"], input="Recover3d!\n")
    assert result.exit_code == 0, result.output
    from werkzeug.security import check_password_hash

    session.expire_all()
    assert check_password_hash(
        account_for_person_no(session, "TA-0002").password_hash, "Recover3d!"
    )
    result = runner.invoke(["user", "passwd", "TA-0002"], input="short\n")
    assert result.exit_code == 1 and "至少" in result.output
    result = runner.invoke(["user", "grant", "TA-0002", "unit_admin"])
    assert result.exit_code == 1 and "--unit" in result.output
    result = runner.invoke(["user", "grant", "TA-0002", "unit_admin", "--unit", "TAB1"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    grants = {(g.role, g.unit_id) for g in account_for_person_no(session, "TA-0002").grants}
    assert ("unit_admin", world.branch_a.id) in grants
    result = runner.invoke(["user", "revoke", "TA-0002", "unit_admin"])
    assert result.exit_code == 0 and "1" in result.output
    assert runner.invoke(["user", "grant", "NOPE", "admin"]).exit_code == 1
    out = tmp_path / "pw.xlsx"
    result = runner.invoke(["user", "issue-passwords", "--unit", "TB", "--out", str(out),
                            "--reset-existing"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == ["TB-0001"] and len(rows[0][3]) == 10
    session.expire_all()
    assert account_for_person_no(session, "TB-0001").must_change_password is True
    out = tmp_path / "codes.xlsx"
    result = runner.invoke(["user", "issue-codes", "--unit", "TA", "--out", str(out)])
    assert result.exit_code == 1 and "一场考试" in result.output  # codes are for one exam
    exam = make_exam([world.cand_a, world.cand_a2, world.unit_admin], owner_unit=world.town_a)
    result = runner.invoke(
        ["user", "issue-codes", "--unit", "TA", "--exam", str(exam.id), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in rows} == {"TA-0001", "TA-0002"}  # never the unit admin (UA1)
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"account.set_password", "account.grant", "account.revoke",
            "account.issue_passwords", "account.issue_codes"} <= actions  # fmt: skip
