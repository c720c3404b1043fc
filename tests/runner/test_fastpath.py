"""The autosave fast path (``jifa.web.runner.fastpath``): it serves valid saves with the same
reply as the Flask view, reads an attempt's validation rules once, and hands every
other request to the Flask view, so that each refusal reads exactly as before."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select, update

from core.accounts.models import UserAccount
from exam.models import Answer, Attempt, Exam
from tests.conftest import NOW
from tests.runner.conftest import PASSWORD, seed_committed


def _url(attempt_id, item_id):
    return f"/api/v1/attempts/{attempt_id}/answers/{item_id}"


def _save(client, attempt_id, item_id, answer, seq, token, **kwargs):
    headers = kwargs.pop("headers", {"X-CSRF-Token": token})
    return client.put(
        _url(attempt_id, item_id), json={"answer": answer, "seq": seq}, headers=headers, **kwargs
    )


def _fast(app):
    return app.wsgi_app


def _stored(session, item):
    session.expire_all()
    ans = session.scalar(select(Answer).where(Answer.paper_item_id == item.id))
    return None if ans is None else (ans.response, ans.seq, ans.flagged)


def test_valid_saves_are_served_by_the_fast_path_and_read_as_the_views_reply(
    app, client, started, session
):
    fast = _fast(app)
    cases = [
        ("single", "B", "B"),
        ("multiple", ["D", "B"], ["B", "D"]),
        ("true_false", False, False),
        ("fill_blank", ["留置", "十日"], ["留置", "十日"]),
    ]
    for seq, (kind, answer, stored) in enumerate(cases, start=1):
        resp = _save(client, started.attempt_id, started.items[kind].id, answer, seq, started.token)
        assert resp.status_code == 200
        assert resp.get_json() == {
            "ok": True,
            "saved": True,
            "applied": True,
            "seq": seq,
            "server_time": NOW.isoformat(),
        }
        assert resp.headers["Content-Type"] == "application/json"
        assert _stored(session, started.items[kind]) == (stored, seq, False)
    assert fast.served == 4

    # the Flask view gives the same reply, byte for byte, for the same kind of save
    item = started.items["single"].id
    fast_body = _save(client, started.attempt_id, item, "C", 10, started.token).get_data()
    app.config["FAST_AUTOSAVE"] = False
    slow_body = _save(client, started.attempt_id, item, "C", 11, started.token).get_data()
    assert fast.served == 5
    assert fast_body.replace(b'"seq":10', b'"seq":11') == slow_body


def test_flag_only_save_keeps_the_answer(client, started, session, app):
    item = started.items["single"]
    _save(client, started.attempt_id, item.id, "B", 1, started.token)
    resp = client.put(
        _url(started.attempt_id, item.id),
        json={"flagged": True, "seq": 2},
        headers={"X-CSRF-Token": started.token},
    )
    assert resp.status_code == 200 and _fast(app).served == 2
    assert _stored(session, item) == ("B", 2, True)


def test_rules_are_read_once_per_attempt(app, client, started, connection):
    statements = []

    def count(conn, cursor, sql, params, context, executemany):
        if "paper_items" in sql or "INSERT INTO answers" in sql:
            statements.append("rules" if sql.lstrip().startswith("SELECT") else "upsert")

    event.listen(connection, "before_cursor_execute", count)
    try:
        for seq, kind in enumerate(["single", "true_false", "single"], start=1):
            answer = "A" if kind == "single" else True
            _save(client, started.attempt_id, started.items[kind].id, answer, seq, started.token)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert statements == ["rules", "upsert", "upsert", "upsert"]
    assert _fast(app).served == 3


def _both_ways(app, client, request_fn):
    """The reply with the fast path on, then with it off: (status, body) twice. The
    session cookie is put back in between (a refusal may clear it)."""
    fast = _fast(app)
    before = fast.served
    cookie = client.get_cookie("jifa_session").value
    resp = request_fn()
    on = (resp.status_code, _without_time(resp.get_json()))
    assert fast.served == before, "the fast path must hand this request on"
    client.set_cookie("jifa_session", cookie)
    app.config["FAST_AUTOSAVE"] = False
    try:
        resp = request_fn()
    finally:
        app.config["FAST_AUTOSAVE"] = True
    return on, (resp.status_code, _without_time(resp.get_json()))


def _without_time(body):
    return {k: v for k, v in (body or {}).items() if k != "server_time"}


@pytest.mark.parametrize(
    "case,status",
    [
        ("no_csrf_header", 400),
        ("foreign_csrf_token", 400),
        ("tampered_cookie", 400),  # no session, so no CSRF token to match
        ("logged_out_everywhere", 401),
        ("deactivated", 401),
        ("submitted", 409),
        ("past_deadline_and_grace", 409),
        ("unknown_item", 404),
        ("malformed_answer", 422),
        ("bad_seq", 422),
        ("older_seq", 200),
        ("not_json", 422),
    ],
)
def test_refusals_are_left_to_the_view_and_read_the_same(
    app, client, started, session, clock, case, status
):
    aid, item, token = started.attempt_id, started.items["single"].id, started.token
    assert _save(client, aid, item, "B", 5, token).status_code == 200
    request_fn = lambda: _save(client, aid, item, "C", 6, token)  # noqa: E731
    if case == "no_csrf_header":
        request_fn = lambda: _save(client, aid, item, "C", 6, token, headers={})  # noqa: E731
    elif case == "foreign_csrf_token":
        other = app.test_client()
        foreign = other.get("/api/v1/auth/csrf").get_json()["csrf_token"]
        request_fn = lambda: _save(client, aid, item, "C", 6, foreign)  # noqa: E731
    elif case == "tampered_cookie":
        value = client.get_cookie("jifa_session").value
        client.set_cookie("jifa_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    elif case == "logged_out_everywhere":
        session.execute(update(UserAccount).values(session_version=UserAccount.session_version + 1))
    elif case == "deactivated":
        session.execute(update(UserAccount).values(is_active=False))
    elif case == "submitted":
        session.execute(
            update(Attempt).where(Attempt.id == aid).values(status="submitted", submitted_at=NOW)
        )
    elif case == "past_deadline_and_grace":
        clock.advance(minutes=30, seconds=31)
    elif case == "unknown_item":
        request_fn = lambda: _save(client, aid, 999999, "C", 6, token)  # noqa: E731
    elif case == "malformed_answer":
        request_fn = lambda: _save(client, aid, item, ["C"], 6, token)  # noqa: E731
    elif case == "bad_seq":
        request_fn = lambda: _save(client, aid, item, "C", True, token)  # noqa: E731
    elif case == "older_seq":
        request_fn = lambda: _save(client, aid, item, "C", 4, token)  # noqa: E731
    elif case == "not_json":
        request_fn = lambda: client.put(  # noqa: E731
            _url(aid, item),
            data="answer=C&seq=6",
            headers={"X-CSRF-Token": token},
            content_type="application/x-www-form-urlencoded",
        )
    session.flush()
    on, off = _both_ways(app, client, request_fn)
    assert on == off
    assert on[0] == status
    assert _stored(session, started.items["single"])[:2] == ("B", 5)  # nothing written


def test_another_candidates_attempt_is_left_to_the_view(app, client, login, started, build_sitting):
    other = build_sitting()
    c2 = app.test_client()
    token2 = login(other.person.person_no, PASSWORD, c=c2)
    before = _fast(app).served
    resp = _save(c2, started.attempt_id, started.items["single"].id, "A", 1, token2)
    assert resp.status_code == 403 and _fast(app).served == before


def test_deadline_and_grace_are_read_fresh_on_every_save(app, client, started, session, clock):
    item = started.items["single"]
    assert _save(client, started.attempt_id, item.id, "A", 1, started.token).status_code == 200
    clock.advance(minutes=30, seconds=40)  # past deadline + 30 s grace
    exam = session.get(Exam, started.exam.id)
    exam.grace_seconds = 60  # the administrator widens the grace period
    session.flush()
    served = _fast(app).served
    assert _save(client, started.attempt_id, item.id, "B", 2, started.token).status_code == 200
    assert _fast(app).served == served + 1  # accepted by the guard itself
    exam.grace_seconds = 0
    session.flush()
    late = _save(client, started.attempt_id, item.id, "C", 3, started.token)
    assert late.status_code == 409 and _fast(app).served == served + 1
    assert _stored(session, item)[:2] == ("B", 2)


def test_expired_session_cookie_is_not_honoured_by_the_fast_path(app, client, started, monkeypatch):
    import jifa.web.runner.fastpath as fastpath

    real = fastpath.time.time
    monkeypatch.setattr(fastpath.time, "time", lambda: real() + 13 * 3600)  # lifetime 12 h
    before = _fast(app).served
    _save(client, started.attempt_id, started.items["single"].id, "A", 1, started.token)
    assert _fast(app).served == before


def test_https_requires_a_same_origin_referrer(app, client, started):
    app.config["WTF_CSRF_SSL_STRICT"] = True
    aid, item = started.attempt_id, started.items["single"].id
    before = _fast(app).served
    missing = _save(client, aid, item, "A", 1, started.token, base_url="https://localhost")
    assert missing.status_code == 400 and _fast(app).served == before
    foreign = _save(
        client,
        aid,
        item,
        "A",
        2,
        started.token,
        base_url="https://localhost",
        headers={"X-CSRF-Token": started.token, "Referer": "https://evil.example/"},
    )
    assert foreign.status_code == 400 and _fast(app).served == before
    ok = _save(
        client,
        aid,
        item,
        "A",
        3,
        started.token,
        base_url="https://localhost",
        headers={"X-CSRF-Token": started.token, "Referer": f"https://localhost/exam/attempt/{aid}"},
    )
    assert ok.status_code == 200 and _fast(app).served == before + 1


def test_a_fault_in_the_fast_path_costs_no_save(app, client, started, session, monkeypatch, caplog):
    import jifa.web.runner.fastpath as fastpath

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fastpath, "run_guarded_save", broken)
    item = started.items["single"]
    resp = _save(client, started.attempt_id, item.id, "B", 1, started.token)
    assert resp.status_code == 200 and resp.get_json()["saved"] is True
    assert _stored(session, item) == ("B", 1, False)
    assert _fast(app).served == 0
    assert "autosave fast path failed" in caplog.text


def test_switched_off_by_configuration(app, client, started, session):
    app.config["FAST_AUTOSAVE"] = False
    item = started.items["single"]
    assert _save(client, started.attempt_id, item.id, "B", 1, started.token).status_code == 200
    assert _fast(app).served == 0 and _stored(session, item) == ("B", 1, False)


# ------------------------------------------------------------------ real commits


@pytest.fixture
def engine_app(committed_factory, db_url, tmp_path, clock):
    """An app on the engine itself (autocommit reads, one-statement writes), as served."""
    from jifa.web import create_app

    exam_id, person_id = seed_committed(committed_factory, password=PASSWORD, items=8)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    yield app, exam_id, person_id
    app.wsgi_app.close()
    app.extensions["jifa_sessions"].kw["bind"].dispose()


def _login_and_start(app, exam_id):
    c = app.test_client()
    resp = c.post("/api/v1/auth/login", json={"person_no": "CC0001", "password": PASSWORD})
    token = resp.get_json()["csrf_token"]
    start = c.post(f"/api/v1/exams/{exam_id}/attempts", headers={"X-CSRF-Token": token})
    body = start.get_json()
    return c, token, body["attempt_id"], [q["id"] for q in body["questions"]]


def test_saves_are_committed_before_the_reply(engine_app, committed_factory):
    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)
    resp = _save(c, aid, items[0], "B", 1, token)
    assert resp.status_code == 200 and _fast(app).served == 1
    with committed_factory() as s:  # another connection sees it at once
        rows = s.execute(select(Answer.paper_item_id, Answer.response, Answer.seq)).all()
    assert rows == [(items[0], "B", 1)]


def test_concurrent_saves_of_two_devices_lose_nothing(engine_app, committed_factory):
    """Two threads (two tabs) save the same attempt at once, in interleaved sequence
    numbers: every item ends with its newest save, whatever the arrival order."""
    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)
    cookie = c.get_cookie("jifa_session").value
    errors = []
    barrier = threading.Barrier(2)

    def device(offset):
        dc = app.test_client()
        dc.set_cookie("jifa_session", cookie)
        barrier.wait(10)
        for seq in range(offset, 200, 2):
            answer = "A" if seq % 4 < 2 else "B"
            resp = _save(dc, aid, items[seq % len(items)], answer, seq, token)
            if resp.status_code != 200:
                errors.append(resp.get_json())

    threads = [threading.Thread(target=device, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with committed_factory() as s:
        rows = dict(s.execute(select(Answer.paper_item_id, Answer.seq)).all())
    newest = {items[seq % len(items)]: seq for seq in range(1, 200)}
    assert rows == newest
    assert _fast(app).served > 0


def test_a_save_after_the_deadline_is_refused_with_real_commits(
    engine_app, clock, committed_factory
):
    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)
    assert _save(c, aid, items[0], "B", 1, token).status_code == 200
    clock.advance(minutes=30, seconds=31)  # 30-minute exam, 30 s grace
    late = _save(c, aid, items[1], "B", 2, token)
    assert late.status_code == 409 and _fast(app).served == 1
    with committed_factory() as s:
        rows = s.execute(select(Answer.paper_item_id, Answer.seq)).all()
    assert rows == [(items[0], 1)]


def test_a_broken_kept_connection_is_replaced(engine_app, committed_factory):
    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)
    fast = _fast(app)
    assert _save(c, aid, items[0], "B", 1, token).status_code == 200 and fast.served == 1
    (kept,) = fast._held
    kept.connection.dbapi_connection.close()  # the server went away under it
    resp = _save(c, aid, items[1], "B", 2, token)
    assert resp.status_code == 200 and fast.served == 1  # answered by the Flask view
    assert kept not in fast._held
    assert _save(c, aid, items[2], "B", 3, token).status_code == 200 and fast.served == 2
    with committed_factory() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 3
