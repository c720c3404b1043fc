"""Every response carries the security headers (``jifa.web.headers``, added by
``jifa.web.edge.Edge`` around both WSGI apps): every route of the URL map with every
method, the lean autosave app, static files and error pages; and no page needs an
inline script (the policy forbids them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.security.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def assert_security_headers(resp, *, hsts: bool = False) -> None:
    where = f"{resp.request.method} {resp.request.path} -> {resp.status_code}"
    csp = resp.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ") if d}
    assert directives.get("frame-ancestors") == ["'none'"], where
    assert directives.get("object-src") == ["'none'"], where
    assert directives.get("script-src") == ["'self'"], where  # no inline script, no eval
    assert directives.get("default-src") == ["'self'"], where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    assert resp.headers.get("Referrer-Policy") == "same-origin", where
    assert resp.headers.get("X-Frame-Options") == "DENY", where
    if hsts:
        assert resp.headers["Strict-Transport-Security"].startswith("max-age="), where
    else:
        assert "Strict-Transport-Security" not in resp.headers, where


def _url(rule) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", "1", rule.rule)


@pytest.mark.parametrize("role", [None, "CA1", "UA1", "ADM1"])
def test_every_route_of_the_url_map_carries_the_headers(app, world, role):
    client = app.test_client()
    token = ""
    if role:
        token = client.post(
            "/api/v1/auth/login", json={"person_no": role, "password": PASSWORD}
        ).get_json()["csrf_token"]
    walked = 0
    for rule in app.url_map.iter_rules():
        if "logout" in rule.rule:
            continue  # would end the walk's session
        for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
            resp = client.open(_url(rule), method=method, headers={"X-CSRFToken": token},
                               data={"csrf_token": token})  # fmt: skip
            assert resp.status_code < 500, (rule.rule, method, resp.status_code)
            assert_security_headers(resp)
            resp.close()
            walked += 1
    assert walked >= 60
    # the lean autosave app (its own WSGI app) and a path nobody routes
    for resp in (
        client.put("/api/v1/autosave/attempts/1/answers/1", json={}),
        client.get("/api/v1/autosave/elsewhere"),
        client.get("/nowhere"),
        client.get("/static/app.js"),
    ):
        assert_security_headers(resp)
        resp.close()


def test_hsts_behind_https(session_factory, db_url, tmp_path, world):
    from jifa.web import create_app

    secure = create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "SESSION_FACTORY": session_factory,
         "SECRET_KEY": "test-secret", "INSTANCE_PATH": str(tmp_path / "s"),
         "SECURE_COOKIES": True}
    ).test_client()  # fmt: skip
    for resp in (
        secure.get("/login"),
        secure.put("/api/v1/autosave/attempts/1/answers/1", json={}),
        secure.get("/static/app.css"),
    ):
        assert_security_headers(resp, hsts=True)
        resp.close()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(
    r"""\son(?:click|submit|change|input|load|error|focus|blur|reset|select|key[a-z]+"""
    r"""|mouse[a-z]+|touch[a-z]+|pointer[a-z]+)\s*=\s*["']""",
    re.I,
)


def test_no_template_needs_an_inline_script():
    """The policy blocks inline scripts and handlers: a template with one would break
    in the browser, so none may have any (scripts live in static files)."""
    offenders = []
    for path in sorted((ROOT / "jifa").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, HANDLER):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert not offenders, offenders
