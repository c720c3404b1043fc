"""Crawl the web UI as every role on the demo data.

Each role logs in, visits every GET route that needs no URL parameter and then every
same-origin link found on the pages it may see (breadth first, bounded). Everywhere:
no 5xx, HTML pages are ``lang="zh-CN"``. Per role: the areas it must not see answer with
a redirect, 401, 403 or 404, never 200, and no page shows it a link into such an area.
"""

from __future__ import annotations

import collections
import json
import re
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select

from analysis.models import SamplingDraw

PASSWORD = "Demo2026!"
LIMIT = 300  # pages per role
HREF = re.compile(r"""<a\b[^>]*?\bhref="([^"]*)\"""")
# Downloads (Excel, zip, CSV, charts) are tested by their areas and are slow to build;
# static files are not pages.
SKIP = re.compile(r"\.(xlsx|zip|csv|png)$|^/static/|/logout")
DENIED = {301, 302, 303, 401, 403, 404}

ROLES = {
    # role: (person number, URL prefixes it must never get a 200 from)
    "anonymous": (
        None,
        ("/bank/", "/papers/", "/admin/", "/analysis/", "/exam/", "/password", "/study/"),
    ),
    "candidate": (
        "T01-0002",
        ("/bank/", "/papers/", "/admin/", "/analysis/", "/api/v1/admin/", "/study/units"),
    ),
    "unit_admin": ("A0003", ("/bank/", "/analysis/", "/admin/users", "/admin/audit")),
    "analyst": (
        "A0002",
        ("/admin/users", "/admin/audit", "/admin/credentials", "/admin/org/import"),
    ),
    "admin": ("A0001", ()),
}


@pytest.fixture
def demo(runner, session, tmp_path):
    """The demo district with 30 simulated attempts and a completed sampling draw."""
    loaded = runner.invoke(["demo", "load", "--json"])
    assert loaded.exit_code == 0, loaded.output
    exam_id = json.loads(loaded.output)["exam_id"]
    simulated = runner.invoke(["demo", "simulate", str(exam_id), "--people", "30"])
    assert simulated.exit_code == 0, simulated.output
    frozen = runner.invoke(
        ["sample", "freeze", "--rank", "乡科级", "--strata", "top_unit",
         "--quota", "20%,min=3", "--out", str(tmp_path), "--json"]
    )  # fmt: skip
    assert frozen.exit_code == 0, frozen.output
    draw_id = str(json.loads(frozen.output)["draw_id"])
    assert runner.invoke(["sample", "publish", draw_id]).exit_code == 0
    drawn = runner.invoke(["sample", "draw", draw_id, "--entropy", "31415926535897932384"])
    assert drawn.exit_code == 0, drawn.output
    assert session.get(SamplingDraw, int(draw_id)).seed
    # an exam of 城关镇 without candidates: every page must have an empty state, not a 500
    empty = runner.invoke(
        ["exam", "create", "--title", "城关镇空白考试", "--blueprint", "xk-demo", "--owner", "T01",
         "--opens", "2026-12-01 09:00", "--closes", "2026-12-02 09:00", "--duration", "60", "--json"]
    )  # fmt: skip
    assert empty.exit_code == 0, empty.output
    return {
        "exam_id": exam_id,
        "draw_id": int(draw_id),
        "empty_id": json.loads(empty.output)["exam_id"],
    }


def _start_urls(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not SKIP.search(rule.rule)
    )


def crawl(app, client, limit: int = LIMIT) -> tuple[dict[str, int], dict[str, set[str]]]:
    """Visit pages breadth first; returns {url: status} and {url: pages linking to it}."""
    queue = collections.deque(_start_urls(app))
    statuses: dict[str, int] = {}
    linked_from: dict[str, set[str]] = collections.defaultdict(set)
    while queue and len(statuses) < limit:
        url = queue.popleft()
        if url in statuses:
            continue
        resp = client.get(url)
        statuses[url] = resp.status_code
        assert resp.status_code < 500, f"{url} answered {resp.status_code}"
        # security headers on every page (tests/security walks every route for them)
        assert "frame-ancestors 'none'" in resp.headers.get("Content-Security-Policy", ""), url
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", url
        if resp.mimetype != "text/html" or 300 <= resp.status_code < 400:
            continue
        body = resp.get_data(as_text=True)
        assert '<html lang="zh-CN">' in body, f"{url} is not a zh-CN page"
        if resp.status_code != 200:
            continue
        for href in HREF.findall(body):
            target = urlsplit(urljoin(f"http://localhost{url}", href.replace("&amp;", "&")))
            if target.netloc != "localhost" or SKIP.search(target.path):
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            linked_from[link].add(url)
            if link not in statuses:
                queue.append(link)
    return statuses, linked_from


def _login(app, person_no):
    client = app.test_client()
    if person_no:
        resp = client.post(
            "/api/v1/auth/login", json={"person_no": person_no, "password": PASSWORD}
        )
        assert resp.status_code == 200, resp.get_json()
    return client


@pytest.mark.parametrize("role", list(ROLES))
def test_crawl_as_role(app, demo, role):
    person_no, forbidden = ROLES[role]
    client = _login(app, person_no)
    statuses, linked_from = crawl(app, client)
    # the crawl really walked the UI (page counts on the demo data: 28, 29, ~105, 300, 300)
    assert len(statuses) >= {"anonymous": 20, "candidate": 20, "unit_admin": 80}.get(role, LIMIT)

    leaks = sorted(u for u, s in statuses.items() if s == 200 and u.startswith(forbidden))
    assert not leaks, f"{role} may see {leaks}"
    for prefix in forbidden:
        start = next((u for u in _start_urls(app) if u.startswith(prefix)), None)
        if start:
            assert client.get(start).status_code in DENIED, (role, start)
    # a page never offers a link the user is refused at
    dead = {u: sorted(linked_from[u])[:3] for u, s in statuses.items() if s in (401, 403)}
    dead = {u: src for u, src in dead.items() if src}
    assert not dead, f"{role} is shown links it may not follow: {dead}"

    ok = {u for u, s in statuses.items() if s == 200}
    exam, draw, empty = demo["exam_id"], demo["draw_id"], demo["empty_id"]
    expected = {
        "anonymous": {"/", "/login"},
        "candidate": {"/", "/exam/", "/password", "/study/", "/study/mistakes", "/study/laws",
                      "/study/progress", "/study/laws/criminal_law"},
        "unit_admin": {"/admin/", "/admin/people", "/study/units", f"/admin/exams/{exam}",
                       f"/admin/exams/{exam}/monitor", f"/admin/exams/{exam}/results",
                       f"/admin/exams/{empty}/monitor", f"/papers/exams/{empty}"},
        "analyst": {"/bank/", "/papers/", "/analysis/", f"/analysis/exams/{exam}", "/analysis/study",
                    "/study/units",
                    f"/analysis/draws/{draw}", "/admin/people"},
        "admin": {"/bank/", "/bank/laws", "/bank/stats", "/papers/", f"/papers/exams/{exam}",
                  "/admin/audit", "/admin/users", f"/admin/exams/{exam}/monitor",
                  f"/analysis/exams/{exam}", f"/analysis/draws/{draw}",
                  f"/admin/exams/{empty}", f"/admin/exams/{empty}/results"},
    }[role]  # fmt: skip
    assert expected <= ok, f"{role} did not reach {sorted(expected - ok)}"
    if role in ("admin", "analyst"):
        assert any(u.startswith("/bank/q/") for u in ok)
        assert any(u.startswith("/papers/blueprints/") for u in ok)
        # no analysis link for an exam without answers, but the page explains itself
        stats = client.get(f"/analysis/exams/{empty}")
        assert stats.status_code == 200
        assert "尚无已交卷的作答" in stats.get_data(as_text=True)


def test_unit_admin_sees_only_own_units_people(app, demo, session):
    from core.org.models import Person

    client = _login(app, "A0003")
    own = client.get("/admin/people/T01-0002")
    assert own.status_code == 200
    other = session.scalar(select(Person.person_no).where(Person.person_no.like("S01-%")))
    assert client.get(f"/admin/people/{other}").status_code in (403, 404)


def test_draw_verification_is_a_page_in_a_browser_and_json_for_scripts(app, demo):
    client = _login(app, "A0002")
    url = f"/analysis/draws/{demo['draw_id']}/verify"
    page = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.mimetype == "text/html"
    assert "核验通过" in page.get_data(as_text=True)
    assert client.get(url).get_json()["data"]["ok"] is True
    as_json = client.get(f"{url}?format=json", headers={"Accept": "text/html"})
    assert as_json.get_json()["data"]["ok"] is True
