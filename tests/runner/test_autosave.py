"""Autosave through its two entrances: the lean app (``jifa.web.runner.autosave``,
per-attempt token in a header) and the Flask API route (session cookie + CSRF token).
One rule (``exam.runner.autosave``) serves both, so a save and every refusal read the
same, byte for byte, whichever way they came; neither writes anything it refuses."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from sqlalchemy import event, func, select, update

from core.accounts.models import UserAccount
from exam.models import Answer, Attempt, Exam
from jifa.web.runner.autosave import AutosaveTokens
from tests.conftest import NOW
from tests.runner.conftest import PASSWORD, seed_committed


def _flask_url(attempt_id, item_id):
    return f"/api/v1/attempts/{attempt_id}/answers/{item_id}"


def _lean_url(attempt_id, item_id):
    return f"/api/v1/autosave/attempts/{attempt_id}/answers/{item_id}"


def _lean(client, attempt_id, item_id, token, body=None, **kwargs):
    """A save through the lean app, as the paper page sends it (no cookie needed)."""
    headers = kwargs.pop("headers", {"X-Autosave-Token": token} if token else {})
    if "data" not in kwargs:
        kwargs["json"] = body
    return client.put(_lean_url(attempt_id, item_id), headers=headers, **kwargs)


def _flask(client, attempt_id, item_id, csrf, body=None, **kwargs):
    """The same save through the Flask API route (cookie + CSRF header)."""
    headers = kwargs.pop("headers", {"X-CSRF-Token": csrf} if csrf else {})
    if "data" not in kwargs:
        kwargs["json"] = body
    return client.put(_flask_url(attempt_id, item_id), headers=headers, **kwargs)


def _save_token(started):
    return started.payload["autosave"]["token"]


def _stored(session, item):
    session.expire_all()
    ans = session.scalar(select(Answer).where(Answer.paper_item_id == item.id))
    return None if ans is None else (ans.response, ans.seq, ans.flagged)


def test_the_paper_tells_the_page_where_and_how_to_save(started, client):
    block = started.payload["autosave"]
    assert block["url"] == f"/api/v1/autosave/attempts/{started.attempt_id}/answers/"
    assert block["header"] == "X-Autosave-Token" and block["token"]
    status = client.get(f"/api/v1/attempts/{started.attempt_id}").get_json()
    assert status["autosave"]["url"] == block["url"]  # resumed pages get one too


def test_valid_saves_through_the_lean_app(app, client, started, session):
    token = _save_token(started)
    cases = [
        ("single", "B", "B"),
        ("multiple", ["D", "B"], ["B", "D"]),
        ("true_false", False, False),
        ("fill_blank", ["留置", "十日"], ["留置", "十日"]),
    ]
    fresh = app.test_client()  # no session cookie at all: the token is the credential
    for seq, (kind, answer, stored) in enumerate(cases, start=1):
        item = started.items[kind]
        resp = _lean(fresh, started.attempt_id, item.id, token, {"answer": answer, "seq": seq})
        assert resp.status_code == 200
        assert resp.get_json() == {
            "ok": True,
            "saved": True,
            "applied": True,
            "seq": seq,
            "server_time": NOW.isoformat(),
        }
        assert resp.headers["Content-Type"] == "application/json"
        assert _stored(session, item) == (stored, seq, False)


def test_both_entrances_give_the_same_reply_byte_for_byte(client, started, session):
    aid, item = started.attempt_id, started.items["single"]
    lean = _lean(client, aid, item.id, _save_token(started), {"answer": "C", "seq": 10})
    flask = _flask(client, aid, item.id, started.token, {"answer": "D", "seq": 11})
    assert lean.status_code == flask.status_code == 200
    assert lean.get_data().replace(b'"seq":10', b'"seq":11') == flask.get_data()
    assert _stored(session, item) == ("D", 11, False)


def test_flag_only_save_keeps_the_answer(client, started, session):
    item = started.items["single"]
    token = _save_token(started)
    _lean(client, started.attempt_id, item.id, token, {"answer": "B", "seq": 1})
    resp = _lean(client, started.attempt_id, item.id, token, {"flagged": True, "seq": 2})
    assert resp.status_code == 200
    assert _stored(session, item) == ("B", 2, True)


def test_rules_are_read_once_per_attempt(client, started, connection):
    statements = []

    def count(conn, cursor, sql, params, context, executemany):
        if "paper_items" in sql or "INSERT INTO answers" in sql:
            statements.append("rules" if sql.lstrip().startswith("SELECT") else "upsert")

    token = _save_token(started)
    event.listen(connection, "before_cursor_execute", count)
    try:
        for seq, kind in enumerate(["single", "true_false", "single"], start=1):
            answer = "A" if kind == "single" else True
            item = started.items[kind].id
            _lean(client, started.attempt_id, item, token, {"answer": answer, "seq": seq})
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert statements == ["rules", "upsert", "upsert", "upsert"]


# ------------------------------------------------------------------ every refusal


def _other_candidate(app, login, build_sitting):
    """A second candidate with an attempt of their own: client, CSRF token, autosave
    token and account."""
    other = build_sitting()
    c2 = app.test_client()
    csrf = login(other.person.person_no, PASSWORD, c=c2)
    start = c2.post(
        f"/api/v1/exams/{other.exam.id}/attempts", json={}, headers={"X-CSRF-Token": csrf}
    ).get_json()
    return SimpleNamespace(
        client=c2,
        csrf=csrf,
        token=start["autosave"]["token"],
        attempt_id=start["attempt_id"],
        person=other.person,
    )


def _tampered(token):
    return token[:-2] + ("AA" if token[-2:] != "AA" else "BB")


class Refusal(NamedTuple):
    """One refusal case: the status both entrances answer with, and how it is sent:
    a faulty ``body`` sent both ways, or the ``lean`` and ``flask`` requests that carry
    the same fault (default: a valid save of "C" with seq 6). ``s`` holds the sitting."""

    status: int
    body: object = None
    lean: Callable | None = None
    flask: Callable | None = None


REFUSALS = {
    "no_token": Refusal(
        400,
        lean=lambda s: _lean(s.client, s.aid, s.item, None, s.body),
        flask=lambda s: _flask(s.client, s.aid, s.item, None, s.body),  # no CSRF header
    ),
    "bad_token": Refusal(
        400,
        lean=lambda s: _lean(s.client, s.aid, s.item, _tampered(s.token), s.body),
        flask=lambda s: _flask(s.client, s.aid, s.item, _tampered(s.csrf), s.body),
    ),
    "expired_token": Refusal(400),  # 13 hours later: tokens and session cookies live 12
    "token_of_another_account": Refusal(  # genuinely signed, for this attempt
        403,
        lean=lambda s: _lean(s.client, s.aid, s.item, s.foreign_token, s.body),
        flask=lambda s: _flask(s.other.client, s.aid, s.item, s.other.csrf, s.body),
    ),
    "another_persons_attempt": Refusal(
        403,
        lean=lambda s: _lean(s.other.client, s.aid, s.item, s.other.token, s.body),
        flask=lambda s: _flask(s.other.client, s.aid, s.item, s.other.csrf, s.body),
    ),
    "logged_out_everywhere": Refusal(401),
    "deactivated": Refusal(401),
    "submitted": Refusal(409),
    "past_deadline_and_grace": Refusal(409),
    "unknown_item": Refusal(
        404,
        lean=lambda s: _lean(s.client, s.aid, 999999, s.token, s.body),
        flask=lambda s: _flask(s.client, s.aid, 999999, s.csrf, s.body),
    ),
    "unknown_attempt": Refusal(
        404,
        lean=lambda s: _lean(s.client, 999999, s.item, s.token, s.body),
        flask=lambda s: _flask(s.client, 999999, s.item, s.csrf, s.body),
    ),
    "malformed_answer": Refusal(422, body={"answer": ["C"], "seq": 6}),
    "bad_seq": Refusal(422, body={"answer": "C", "seq": True}),
    "flagged_not_boolean": Refusal(422, body={"flagged": "yes", "seq": 6}),
    "neither_answer_nor_flag": Refusal(422, body={"seq": 6}),
    "older_seq": Refusal(200, body={"answer": "C", "seq": 4}),
    "same_seq": Refusal(200, body={"answer": "C", "seq": 5}),
    "not_json": Refusal(
        422,
        lean=lambda s: _lean(
            s.client, s.aid, s.item, s.token, data="answer=C&seq=6", content_type=s.form
        ),
        flask=lambda s: _flask(
            s.client, s.aid, s.item, s.csrf, data="answer=C&seq=6", content_type=s.form
        ),
    ),
    "json_but_not_an_object": Refusal(422, body=["C", 6]),
    "too_large": Refusal(413, body={"answer": "很" * 30000, "seq": 6}),
}


def _make_fault(case, s, app, login, build_sitting, session, clock, monkeypatch):
    if case in ("token_of_another_account", "another_persons_attempt"):
        s.other = _other_candidate(app, login, build_sitting)
        account = session.scalar(
            select(UserAccount).where(UserAccount.person_id == s.other.person.id)
        )
        tokens = app.extensions["jifa_autosave"].tokens
        s.foreign_token = tokens.issue(s.aid, account.id, account.session_version)
    elif case == "expired_token":
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 13 * 3600)
    elif case == "logged_out_everywhere":
        session.execute(update(UserAccount).values(session_version=UserAccount.session_version + 1))
    elif case == "deactivated":
        session.execute(update(UserAccount).values(is_active=False))
    elif case == "submitted":
        session.execute(
            update(Attempt).where(Attempt.id == s.aid).values(status="submitted", submitted_at=NOW)
        )
    elif case == "past_deadline_and_grace":
        clock.advance(minutes=30, seconds=31)
    session.flush()


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_reads_the_same_through_both_entrances_and_writes_nothing(
    app, client, login, started, session, clock, build_sitting, monkeypatch, case
):
    refusal = REFUSALS[case]
    aid, item = started.attempt_id, started.items["single"]
    token = _save_token(started)
    assert _lean(client, aid, item.id, token, {"answer": "B", "seq": 5}).status_code == 200
    s = SimpleNamespace(
        client=client,
        aid=aid,
        item=item.id,
        token=token,
        csrf=started.token,
        body=refusal.body if refusal.body is not None else {"answer": "C", "seq": 6},
        form="application/x-www-form-urlencoded",
    )
    _make_fault(case, s, app, login, build_sitting, session, clock, monkeypatch)
    lean = (refusal.lean or (lambda s: _lean(s.client, s.aid, s.item, s.token, s.body)))(s)
    flask = (refusal.flask or (lambda s: _flask(s.client, s.aid, s.item, s.csrf, s.body)))(s)

    assert (lean.status_code, lean.get_data(as_text=True)) == (
        flask.status_code,
        flask.get_data(as_text=True),
    )
    assert lean.status_code == refusal.status, lean.get_json()
    if refusal.status == 200:
        assert lean.get_json()["applied"] is False
    else:
        assert lean.get_json()["ok"] is False and lean.get_json()["error"]["message"]
    assert _stored(session, item)[:2] == ("B", 5)  # nothing written either way
    assert session.scalar(select(func.count()).select_from(Answer)) == 1


def test_a_refusal_names_the_weightier_reason_first(client, started, session):
    """A malformed answer to a submitted attempt is told the attempt is over, through
    either entrance (the access checks come before the body's own faults)."""
    session.execute(
        update(Attempt)
        .where(Attempt.id == started.attempt_id)
        .values(status="submitted", submitted_at=NOW)
    )
    session.flush()
    body = {"answer": ["not", "a", "letter"], "seq": 1}
    item = started.items["single"].id
    lean = _lean(client, started.attempt_id, item, _save_token(started), body)
    flask = _flask(client, started.attempt_id, item, started.token, body)
    assert lean.status_code == flask.status_code == 409
    assert lean.get_data() == flask.get_data()


@pytest.mark.parametrize("size,status", [(40, 200), (70 * 1024, 413)])
def test_chunked_bodies_are_capped_alike(client, started, session, size, status):
    """A body without Content-Length (chunked; the server marks its end) is read up to
    the same limit by both entrances."""
    item = started.items["single"]
    body = json.dumps({"answer": "B", "seq": 1, "pad": "x" * size}).encode()

    def chunked(url, headers):
        return client.put(
            url,
            input_stream=io.BytesIO(body),
            headers={**headers, "Content-Type": "application/json"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    lean = chunked(
        _lean_url(started.attempt_id, item.id), {"X-Autosave-Token": _save_token(started)}
    )
    flask = chunked(_flask_url(started.attempt_id, item.id), {"X-CSRF-Token": started.token})
    assert lean.status_code == flask.status_code == status
    if status == 200:
        assert lean.get_json()["applied"] is True and flask.get_json()["applied"] is False
    else:
        assert lean.get_data() == flask.get_data()
        assert _stored(session, item) is None


def test_a_save_the_guard_refused_for_no_other_reason_is_late(session, started):
    """The guard's clock margin on SQLite closes saves up to about 1 ms early: a
    refusal nothing else explains is told the time is up (never "saved")."""
    from exam.runner.autosave import LATE, AccountClaim, explain_refusal

    account = session.scalar(select(UserAccount).where(UserAccount.person_id == started.person.id))
    claim = AccountClaim(account.id, account.session_version, started.attempt_id)
    item = started.items["single"].id
    conn = session.connection()
    refusal = explain_refusal(conn, claim, started.attempt_id, item, seq=1, now=NOW)
    assert refusal.status == 409 and refusal.message == LATE


def test_deadline_and_grace_are_read_fresh_on_every_save(client, started, session, clock):
    item = started.items["single"]
    token = _save_token(started)
    assert (
        _lean(client, started.attempt_id, item.id, token, {"answer": "A", "seq": 1}).status_code
        == 200
    )
    clock.advance(minutes=30, seconds=40)  # past deadline + 30 s grace
    exam = session.get(Exam, started.exam.id)
    exam.grace_seconds = 60  # the administrator widens the grace period
    session.flush()
    ok = _lean(client, started.attempt_id, item.id, token, {"answer": "B", "seq": 2})
    assert ok.status_code == 200  # accepted by the guard itself
    exam.grace_seconds = 0
    session.flush()
    late = _lean(client, started.attempt_id, item.id, token, {"answer": "C", "seq": 3})
    assert late.status_code == 409
    assert _stored(session, item)[:2] == ("B", 2)


def test_a_token_is_good_for_its_own_attempt_only(app, client, login, build_sitting, clock):
    s = build_sitting(max_attempts=2)
    csrf = login(s.person.person_no, PASSWORD)
    first = client.post(
        f"/api/v1/exams/{s.exam.id}/attempts", json={}, headers={"X-CSRF-Token": csrf}
    ).get_json()
    client.post(f"/api/v1/attempts/{first['attempt_id']}/submit", headers={"X-CSRF-Token": csrf})
    second = client.post(
        f"/api/v1/exams/{s.exam.id}/attempts", json={}, headers={"X-CSRF-Token": csrf}
    ).get_json()
    item = second["questions"][0]["id"]
    body = {"answer": "A", "seq": 1}
    stale = _lean(client, second["attempt_id"], item, first["autosave"]["token"], body)
    assert stale.status_code == 403
    assert "不属于该作答记录" in stale.get_json()["error"]["message"]
    fresh = _lean(client, second["attempt_id"], item, second["autosave"]["token"], body)
    assert fresh.status_code == 200


def test_tokens_are_signed_and_expire():
    tokens = AutosaveTokens("secret", max_age=60)
    token = tokens.issue(7, 3, 2)
    claim = tokens.claim(token)
    assert (claim.attempt_id, claim.user_id, claim.session_version) == (7, 3, 2)
    assert AutosaveTokens("another secret", max_age=60).claim(token) is None
    assert tokens.claim(_tampered(token)) is None
    assert tokens.claim("") is None and tokens.claim(None) is None
    assert tokens.claim("x" * 1000) is None
    forged = tokens._serializer.dumps([7, 3, True, int(time.time())])  # not an id
    assert tokens.claim(forged) is None
    old = tokens._serializer.dumps([7, 3, 2, int(time.time()) - 61])
    assert tokens.claim(old) is None


def test_not_a_save_route(client, started):
    token = _save_token(started)
    resp = client.get(_lean_url(started.attempt_id, started.items["single"].id))
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "method_not_allowed"
    resp = client.put("/api/v1/autosave/elsewhere", headers={"X-Autosave-Token": token})
    assert resp.status_code == 404 and resp.get_json()["ok"] is False


def test_switched_off_the_lean_app_is_not_mounted(
    session_factory, db_url, tmp_path, login, started, session
):
    from jifa.web import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SESSION_FACTORY": session_factory,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "off"),
            "FAST_AUTOSAVE": False,
        }
    )
    c = app.test_client()
    csrf = login(started.person.person_no, PASSWORD, c=c)
    payload = c.post(
        f"/api/v1/exams/{started.exam.id}/attempts", json={}, headers={"X-CSRF-Token": csrf}
    ).get_json()
    assert "autosave" not in payload  # the page saves through the Flask route
    item = started.items["single"]
    lean = _lean(c, started.attempt_id, item.id, _save_token(started), {"answer": "B", "seq": 1})
    assert lean.status_code == 404
    assert (
        _flask(c, started.attempt_id, item.id, csrf, {"answer": "B", "seq": 2}).status_code == 200
    )
    assert _stored(session, item) == ("B", 2, False)


# ------------------------------------------------------------------ headers and logging


def test_every_response_gets_the_shared_headers_and_an_access_line(client, started, caplog):
    caplog.set_level("INFO", logger="jifa.access")
    item = started.items["single"].id
    lean = _lean(client, started.attempt_id, item, _save_token(started), {"answer": "B", "seq": 1})
    flask = _flask(client, started.attempt_id, item, started.token, {"answer": "C", "seq": 2})
    refused = _lean(client, started.attempt_id, item, None, {"answer": "D", "seq": 3})
    page = client.get(f"/exam/attempt/{started.attempt_id}")
    for resp in (lean, flask, refused, page):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    lines = [r.getMessage() for r in caplog.records if r.name == "jifa.access"]
    assert any(f'"PUT {_lean_url(started.attempt_id, item)}" 200 ' in ln for ln in lines)
    assert any(f'"PUT {_flask_url(started.attempt_id, item)}" 200 ' in ln for ln in lines)
    assert any(f'"PUT {_lean_url(started.attempt_id, item)}" 400 ' in ln for ln in lines)
    assert any(f'"GET /exam/attempt/{started.attempt_id}" 200 ' in ln for ln in lines)


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
    app.extensions["jifa_autosave"].close()
    app.extensions["jifa_sessions"].kw["bind"].dispose()


def _login_and_start(app, exam_id):
    c = app.test_client()
    resp = c.post("/api/v1/auth/login", json={"person_no": "CC0001", "password": PASSWORD})
    csrf = resp.get_json()["csrf_token"]
    body = c.post(f"/api/v1/exams/{exam_id}/attempts", headers={"X-CSRF-Token": csrf}).get_json()
    return c, body["autosave"]["token"], body["attempt_id"], [q["id"] for q in body["questions"]]


def test_saves_are_committed_before_the_reply(engine_app, committed_factory):
    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)
    resp = _lean(c, aid, items[0], token, {"answer": "B", "seq": 1})
    assert resp.status_code == 200
    with committed_factory() as s:  # another connection sees it at once
        rows = s.execute(select(Answer.paper_item_id, Answer.response, Answer.seq)).all()
    assert rows == [(items[0], "B", 1)]


def test_concurrent_saves_of_two_devices_lose_nothing(engine_app, committed_factory):
    """Two threads (two tabs) save the same attempt at once, in interleaved sequence
    numbers: every item ends with its newest save, whatever the arrival order."""
    app, exam_id, _ = engine_app
    _, token, aid, items = _login_and_start(app, exam_id)
    errors = []
    barrier = threading.Barrier(2)

    def device(offset):
        dc = app.test_client()
        barrier.wait(10)
        for seq in range(offset, 200, 2):
            answer = "A" if seq % 4 < 2 else "B"
            resp = _lean(dc, aid, items[seq % len(items)], token, {"answer": answer, "seq": seq})
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


def test_a_save_after_the_deadline_is_refused_with_real_commits(
    engine_app, clock, committed_factory
):
    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)
    assert _lean(c, aid, items[0], token, {"answer": "B", "seq": 1}).status_code == 200
    clock.advance(minutes=30, seconds=31)  # 30-minute exam, 30 s grace
    late = _lean(c, aid, items[1], token, {"answer": "B", "seq": 2})
    assert late.status_code == 409
    with committed_factory() as s:
        rows = s.execute(select(Answer.paper_item_id, Answer.seq)).all()
    assert rows == [(items[0], 1)]


def test_a_broken_kept_connection_is_replaced_without_losing_the_save(
    engine_app, committed_factory
):
    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)
    lean = app.extensions["jifa_autosave"]
    assert _lean(c, aid, items[0], token, {"answer": "B", "seq": 1}).status_code == 200
    (kept,) = lean._held
    kept.connection.dbapi_connection.close()  # the server went away under it
    resp = _lean(c, aid, items[1], token, {"answer": "B", "seq": 2})
    assert resp.status_code == 200, resp.get_json()
    assert kept not in lean._held and len(lean._held) == 1
    assert _lean(c, aid, items[2], token, {"answer": "B", "seq": 3}).status_code == 200
    with committed_factory() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 3


def test_a_database_fault_is_a_503_in_the_envelope(engine_app, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    import jifa.web.runner.autosave as lean_module

    app, exam_id, _ = engine_app
    c, token, aid, items = _login_and_start(app, exam_id)

    def busy(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(lean_module, "save_answer", busy)
    resp = _lean(c, aid, items[0], token, {"answer": "B", "seq": 1})
    assert resp.status_code == 503
    assert json.loads(resp.get_data())["error"]["code"] == "unavailable"
    assert "database unavailable" in caplog.text


def test_the_lean_path_does_not_lean_on_flask():
    """The lean app and what it shares with Flask (envelope, headers, access log)
    import neither Flask nor flask-wtf: nothing of theirs is imitated."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "jifa" / "web"
    for name in ("runner/autosave.py", "envelope.py", "headers.py", "edge.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in imported if m.split(".")[0] in ("flask", "flask_wtf")}, name
