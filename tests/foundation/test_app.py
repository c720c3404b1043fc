from __future__ import annotations


def test_home_page_is_chinese_and_mobile_ready(client):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert 'name="viewport"' in html
    assert "纪法知识测试" in html
    assert "http://" not in html.replace("http://localhost", "")  # no CDN assets


def test_api_404_uses_the_json_envelope(client):
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    body = resp.get_json()
    assert body["ok"] is False
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"]


def test_html_404_is_a_chinese_page(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "出错了" in resp.get_data(as_text=True)


def test_malformed_login_body_is_a_400_not_a_500(client):
    resp = client.post("/api/v1/auth/login", data="not json", content_type="application/json")
    assert resp.status_code == 400
    assert resp.get_json()["ok"] is False


def test_form_post_without_csrf_token_is_rejected(client):
    resp = client.post("/logout")
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)


def test_login_logout_and_session_cookie_flags(client, make_person):
    person = make_person(password="Passw0rd!")
    resp = client.post(
        "/api/v1/auth/login", json={"person_no": person.person_no, "password": "Passw0rd!"}
    )
    assert resp.status_code == 200
    assert resp.get_json()["csrf_token"]
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_wrong_password_is_401_with_message(client, make_person):
    person = make_person(password="Passw0rd!")
    resp = client.post(
        "/api/v1/auth/login", json={"person_no": person.person_no, "password": "nope"}
    )
    assert resp.status_code == 401
    assert "密码错误" in resp.get_json()["error"]["message"]


def test_request_session_rolls_back_on_error(app, session):
    from core.audit import AuditEntry, record
    from jifa.web.database import db

    @app.get("/api/v1/_test_fail")
    def _fail():
        record(db(), None, "should.not.persist", "x")
        db().flush()
        from core.errors import Conflict

        raise Conflict("nope")

    resp = app.test_client().get("/api/v1/_test_fail")
    assert resp.status_code == 409
    assert session.query(AuditEntry).filter_by(action="should.not.persist").count() == 0


def test_successful_logins_do_not_count_towards_the_ip_limit(session, make_person):
    """Candidates behind one office NAT all log in at 09:00: successes never throttle."""
    from core.accounts.models import LoginAttempt
    from core.accounts.services import ThrottlePolicy, authenticate
    from tests.conftest import NOW

    person = make_person(password="Passw0rd!")
    policy = ThrottlePolicy(max_ip_failures=3)
    for _ in range(5):
        authenticate(session, person.person_no, "Passw0rd!", now=NOW, ip="10.0.0.1", policy=policy)
    session.flush()
    rows = session.query(LoginAttempt).filter_by(ip="10.0.0.1").all()
    assert len(rows) == 5 and all(r.success for r in rows)


def test_database_errors_become_409_and_503_not_500(app):
    from sqlalchemy.exc import IntegrityError, OperationalError

    @app.get("/api/v1/_test_integrity")
    def _integrity():
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    @app.get("/api/v1/_test_locked")
    def _locked():
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    c = app.test_client()
    assert c.get("/api/v1/_test_integrity").status_code == 409
    resp = c.get("/api/v1/_test_locked")
    assert resp.status_code == 503
    assert "稍后重试" in resp.get_json()["error"]["message"]
