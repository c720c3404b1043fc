"""Authorization over every id-bearing route for every role, on the demo district (the
crawl of ``tests/test_crawl.py`` follows the links a role is shown; this walks every
route of the URL map with ids the role must not reach).

For each rule with URL arguments and each method, the arguments are filled with
*foreign* values: an exam of 东城街道 that enrols nobody of 城关镇, an attempt of
another person, a person of 东城街道, a draw, a question, a blueprint, an admin's role
grant. Anonymous visitors, the candidate and the unit admin of 城关镇 must be refused
(a redirect to the login, 401, 403 or 404) on every one; the analyst only reads, so
every change in administration and papers is refused; nobody ever gets a 5xx.
State-changing requests carry a valid CSRF token, so the refusal is the
authorization's, not the token check's.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from analysis.models import SamplingDraw
from core.accounts.models import RoleGrant, UserAccount
from core.org.models import Person
from exam.models import Attempt, Blueprint
from question_bank.models import Question
from tests.test_crawl import PASSWORD, demo  # noqa: F401 - the demo fixture

ROLES = {"anonymous": None, "candidate": "T01-0002", "unit_admin": "A0003",
         "analyst": "A0002", "admin": "A0001"}  # fmt: skip
ARGUMENT = re.compile(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>")


@pytest.fixture
def foreign(runner, session, demo):  # noqa: F811
    made = runner.invoke(
        ["exam", "create", "--title", "东城街道专场", "--blueprint", "xk-demo", "--owner", "S01",
         "--opens", "2026-12-01 09:00", "--closes", "2026-12-02 09:00", "--duration", "60",
         "--json"]
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    candidate = session.scalar(select(Person.id).where(Person.person_no == "T01-0002"))
    admin_grant = session.scalar(
        select(RoleGrant.id)
        .join(UserAccount, UserAccount.id == RoleGrant.user_id)
        .join(Person, Person.id == UserAccount.person_id)
        .where(Person.person_no == "A0001", RoleGrant.role == "admin")
    )
    return {
        "exam_id": json.loads(made.output)["exam_id"],
        "attempt_id": session.scalar(
            select(Attempt.id).where(Attempt.person_id != candidate).order_by(Attempt.id)
        ),
        "person_no": session.scalar(
            select(Person.person_no).where(Person.person_no.like("S01-%")).order_by(Person.id)
        ),
        "draw_id": session.scalar(select(SamplingDraw.id)),
        "code": session.scalar(select(Question.code).order_by(Question.id)),
        "blueprint_id": session.scalar(select(Blueprint.id)),
        "grant_id": admin_grant,
    }


def _fill(rule: str, values: dict) -> str:
    def value(match):
        converter, name = match.groups()
        if name in values and values[name] is not None:
            return str(values[name])
        return "1" if converter == "int" else "x"  # a route added later: 1 / "x"

    return ARGUMENT.sub(value, rule)


def _denied(resp) -> bool:
    if resp.status_code in (301, 302, 303):
        location = resp.headers.get("Location", "")
        return location.startswith(("/login", "/password")) or "/login" in location
    return resp.status_code in (401, 403, 404)


def _client(app, person_no):
    client = app.test_client()
    if person_no is None:
        return client, client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    resp = client.post("/api/v1/auth/login", json={"person_no": person_no, "password": PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    return client, resp.get_json()["csrf_token"]


def _id_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.arguments or rule.endpoint == "static" or "logout" in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.mark.parametrize("role", list(ROLES))
def test_every_id_bearing_route_refuses_foreign_ids(app, foreign, role):
    assert all(foreign.values()), foreign
    client, token = _client(app, ROLES[role])
    checked, leaks = 0, []
    for rule, method in _id_routes(app):
        url = _fill(rule.rule, foreign)
        if method == "GET":
            resp = client.get(url)
        elif url.startswith("/api/"):
            resp = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
        else:
            resp = client.open(url, method=method, data={"csrf_token": token},
                               headers={"X-CSRFToken": token})  # fmt: skip
        assert resp.status_code < 500, (role, method, url, resp.status_code)
        resp.close()
        checked += 1
        must_refuse = role in ("anonymous", "candidate", "unit_admin") or (
            role == "analyst"
            and method != "GET"
            and rule.rule.startswith(("/admin/", "/papers/exams/", "/api/v1/admin/"))
        )
        if must_refuse and not _denied(resp):
            leaks.append((method, url, resp.status_code))
    assert checked >= 55
    assert not leaks, f"{role} reached {leaks}"


def test_candidate_reaches_only_their_own_attempt(app, session, demo):  # noqa: F811
    """The positive side: the candidate's own attempt opens, another's does not."""
    client, token = _client(app, "T01-0002")
    exam_id = demo["exam_id"]
    entry = next(e for e in client.get("/api/v1/exams").get_json()["exams"]
                 if e["exam_id"] == exam_id)  # fmt: skip
    own = entry["latest_attempt_id"]  # the simulation may have answered for them already
    if own is None:
        started = client.post(f"/api/v1/exams/{exam_id}/attempts", json={},
                              headers={"X-CSRFToken": token})  # fmt: skip
        assert started.status_code == 200, started.get_json()
        own = started.get_json()["attempt_id"]
    assert client.get(f"/api/v1/attempts/{own}").status_code == 200
    other = session.scalar(select(Attempt.id).where(Attempt.id != own).order_by(Attempt.id))
    for url in (f"/api/v1/attempts/{other}", f"/exam/attempt/{other}",
                f"/exam/attempt/{other}/result", f"/exam/attempt/{other}/review"):  # fmt: skip
        assert client.get(url).status_code in (403, 404), url
    resp = client.post(f"/api/v1/attempts/{other}/submit", headers={"X-CSRFToken": token})
    assert resp.status_code in (403, 404)
