"""Analysis off the request path: an analyst's slow read holds no write lock, so a
candidate's save is not delayed by it (real commits, the app on its own engine)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from exam.models import Answer
from tests.conftest import NOW
from tests.runner.conftest import PASSWORD, Clock, seed_committed

SLEEP = 1.5


@pytest.fixture
def runner_clock(monkeypatch):
    """The runner's views and the lean app read this clock (the seeded exam is open)."""
    import jifa.web.runner.autosave as lean
    import jifa.web.runner.views as runner_views

    c = Clock(NOW)
    monkeypatch.setattr(runner_views, "utcnow", c)
    monkeypatch.setattr(lean, "utcnow", c)
    return c


@pytest.fixture
def served(committed_factory, db_url, tmp_path, runner_clock, request):
    """The app as served (no test session factory) with a candidate and an analyst."""
    from core.accounts.services import ensure_account, grant_role, set_password
    from core.org.models import OrgUnit, Person
    from jifa.web import create_app

    exam_id, _ = seed_committed(committed_factory, password=PASSWORD, items=4)
    with committed_factory.begin() as s:
        unit = s.scalar(select(OrgUnit))
        analyst = Person(person_no="AN0001", name="分析", unit=unit, rank="township")
        s.add(analyst)
        s.flush()
        account = ensure_account(s, analyst)
        set_password(s, account, PASSWORD)
        grant_role(s, account, "analyst")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            # the read under test happens in the request (monkeypatched in this process)
            "ANALYSIS_DETACHED": getattr(request, "param", False),
        }
    )
    yield app, exam_id
    app.extensions["jifa_autosave"].close()
    app.extensions["jifa_sessions"].kw["bind"].dispose()


def _login(app, person_no):
    c = app.test_client()
    resp = c.post("/api/v1/auth/login", json={"person_no": person_no, "password": PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    return c, resp.get_json()["csrf_token"]


def test_a_sleeping_analyst_read_does_not_delay_a_candidate_save(
    served, monkeypatch, committed_factory
):
    import analysis.loading as loading

    app, exam_id = served
    candidate, csrf = _login(app, "CC0001")
    body = candidate.post(
        f"/api/v1/exams/{exam_id}/attempts", headers={"X-CSRF-Token": csrf}
    ).get_json()
    aid, token, items = body["attempt_id"], body["autosave"]["token"], body["questions"]
    analyst, _ = _login(app, "AN0001")

    reading = threading.Event()
    original = loading.load_responses

    def slow_read(session, exam_ids):
        frame = original(session, exam_ids)  # the read happened ...
        reading.set()
        time.sleep(SLEEP)  # ... and the request dwells inside it
        return frame

    monkeypatch.setattr(loading, "load_responses", slow_read)
    page = {}
    thread = threading.Thread(
        target=lambda: page.setdefault(
            "status", analyst.get(f"/analysis/exams/{exam_id}").status_code
        )
    )
    thread.start()
    assert reading.wait(10)
    timings = []
    for seq, item in enumerate(items[:2], start=1):  # the lean route, then the Flask route
        t0 = time.perf_counter()
        if seq == 1:
            resp = candidate.put(
                f"/api/v1/autosave/attempts/{aid}/answers/{item['id']}",
                json={"answer": "A", "seq": seq}, headers={"X-Autosave-Token": token},
            )  # fmt: skip
        else:
            resp = candidate.put(
                f"/api/v1/attempts/{aid}/answers/{item['id']}",
                json={"answer": "B", "seq": seq}, headers={"X-CSRF-Token": csrf},
            )  # fmt: skip
        timings.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.get_json()
    still_reading = thread.is_alive()
    thread.join(30)
    assert page["status"] == 200
    assert still_reading, "the analyst's read ended before the saves: the test proves nothing"
    assert max(timings) < SLEEP / 3, timings
    with committed_factory() as s:
        assert s.scalar(select(Answer.response).where(Answer.seq == 2)) == "B"


@pytest.mark.parametrize("served", [True], indirect=True)
def test_the_report_is_built_in_a_process_of_its_own(served, tmp_path):
    """As served, the first view starts the build process and answers within about
    two seconds: the page, or a page that refreshes itself until the build is done."""
    app, exam_id = served
    analyst, _ = _login(app, "AN0001")
    t0 = time.perf_counter()
    first = analyst.get(f"/analysis/exams/{exam_id}")
    assert time.perf_counter() - t0 < 10
    status = first.status_code
    if status == 503:
        assert "统计正在生成" in first.get_data(as_text=True)
        assert first.headers["Retry-After"] == "3"
    deadline = time.time() + 60
    while status != 200 and time.time() < deadline:
        time.sleep(0.5)
        status = analyst.get(f"/analysis/exams/{exam_id}").status_code
    log = tmp_path / "instance" / "analysis-cache" / "build.log"
    assert status == 200, log.read_text() if log.exists() else "no build log"
    assert not log.exists() or "Traceback" not in log.read_text()
