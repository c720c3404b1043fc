"""Operations endpoints: /healthz, /readyz, /metrics (off by default, allowlisted),
request ids in the access log, and 503 with Retry-After when the database is away."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy.exc import OperationalError

from jifa.web import create_app


@pytest.fixture
def make_app(session_factory, db_url, tmp_path):
    def _make(**config):
        return create_app(
            {
                "TESTING": True,
                "DATABASE_URL": db_url,
                "SESSION_FACTORY": session_factory,
                "SECRET_KEY": "test-secret",
                "INSTANCE_PATH": str(tmp_path / "instance"),
                **config,
            }
        )

    return _make


def test_healthz_and_readyz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "alive"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    body = ready.get_json()
    assert body["ready"] is True and body["revision"] == body["head"]
    assert ready.headers["Cache-Control"] == "no-store"
    assert ready.headers["X-Content-Type-Options"] == "nosniff"  # the edge wraps it


def test_readyz_refuses_a_database_behind_the_migrations(tmp_path):
    from sqlalchemy import text

    from core.db import make_engine
    from jifa.app.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0001")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"].isdigit()
    body = resp.get_json()
    assert (
        body["database"] is True
        and body["revision"] == "0001"
        and "jifa db upgrade" in body["problem"]
    )
    engine = make_engine(url)
    with engine.begin() as conn:  # no database at all: still a clean 503
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    assert app.test_client().get("/readyz").get_json()["revision"] is None


def test_readyz_when_the_database_does_not_answer(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})
    missing = tmp_path / "missing"
    if missing.exists():  # start-up may have made the folder: put a file in its place
        shutil.rmtree(missing)
    missing.write_text("not a folder")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["database"] is False


def test_metrics_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_counts_routes_and_saves(make_app):
    app = make_app(METRICS=True)
    c = app.test_client()
    assert c.get("/api/v1/ping").status_code == 200
    c.put("/api/v1/autosave/attempts/7/answers/9", json={"answer": "A", "seq": 1})  # no token
    resp = c.get("/metrics")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert 'jifa_http_requests_total{method="GET",route="/api/v1/ping",status="200"} 1.0' in text
    assert 'jifa_autosaves_total{status="400"} 1.0' in text
    assert "jifa_http_request_duration_seconds_bucket" in text
    assert "jifa_attempts_in_progress 0.0" in text
    assert "/attempts/7/" not in text  # routes, never raw paths


def test_metrics_only_to_listed_addresses(make_app):
    app = make_app(METRICS=True, METRICS_ALLOW="10.0.0.0/8")
    c = app.test_client()
    assert c.get("/metrics").status_code == 404  # the test client comes from 127.0.0.1
    ok = c.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 200


def test_access_line_has_the_request_id(client, caplog):
    caplog.set_level("INFO", logger="jifa.access")
    given = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    made = client.get("/healthz", headers={"X-Request-Id": 'bad id " x'})
    assert given.headers["X-Request-Id"] == "abc-123"
    rid = made.headers["X-Request-Id"]
    assert rid != 'bad id " x' and len(rid) == 16
    lines = [r.getMessage() for r in caplog.records if r.name == "jifa.access"]
    assert any(ln.endswith("rid=abc-123") and '"GET /healthz" 200' in ln for ln in lines)
    assert any(ln.endswith(f"rid={rid}") for ln in lines)
    assert all("bad id" not in ln for ln in lines)
    assert all("ms rid=" in ln for ln in lines)  # latency before the id


def test_database_errors_answer_503_with_retry_after(client, login, make_person, monkeypatch):
    make_person(person_no="OPS001", password="Passw0rd!")
    token = login("OPS001")
    c = client

    def down(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    from sqlalchemy.orm import Session

    monkeypatch.setattr(Session, "execute", down)
    resp = c.get("/api/v1/exams", headers={"X-CSRF-Token": token})
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
    assert resp.get_json()["error"]["code"] == "unavailable"


def test_behind_a_proxy_the_client_address_is_forwarded_but_metrics_check_the_peer(
    make_app, caplog
):
    app = make_app(METRICS=True, TRUSTED_PROXIES=1)
    c = app.test_client()
    caplog.set_level("INFO", logger="jifa.access")
    # the app's own routes see the forwarded client (/healthz and /metrics sit outside
    # ProxyFix so that the allowlist checks the peer)
    c.get("/login", headers={"X-Forwarded-For": "203.0.113.9"})
    assert any(r.getMessage().startswith("203.0.113.9 ") for r in caplog.records)
    # a forged X-Forwarded-For does not pass the allowlist: the peer does
    far = {"REMOTE_ADDR": "198.51.100.7"}
    spoof = c.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}, environ_base=far)
    assert spoof.status_code == 404
    assert c.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200


def test_serve_passes_keep_alive_to_gunicorn(monkeypatch):
    from click.testing import CliRunner

    from jifa.cli import serve

    seen = {}
    monkeypatch.setattr(serve.os, "execvp", lambda prog, args: seen.setdefault("args", args))
    result = CliRunner().invoke(
        serve.serve_cmd, ["--port", "8001", "--threads", "4", "--keep-alive", "75"]
    )
    assert result.exit_code == 0, result.output
    args = seen["args"]
    assert args[args.index("--keep-alive") + 1] == "75"
    assert args[args.index("--worker-class") + 1] == "gthread"
    assert args[-1] == "jifa.web.wsgi:app"
