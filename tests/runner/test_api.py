"""The runner's JSON API: start/resume, autosave with sequence numbers, deadlines,
submission, ownership, and that nothing before submission reveals the key."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from exam.models import Answer, Attempt, IntegrityEvent
from tests.runner.conftest import PASSWORD


def _start(client, exam_id, token, client_token=None):
    body = {"client_token": client_token} if client_token else {}
    return client.post(
        f"/api/v1/exams/{exam_id}/attempts", json=body, headers={"X-CSRF-Token": token}
    )


def _save(client, attempt_id, item_id, answer, seq, token, **extra):
    return client.put(
        f"/api/v1/attempts/{attempt_id}/answers/{item_id}",
        json={"answer": answer, "seq": seq, **extra},
        headers={"X-CSRF-Token": token},
    )


def _submit(client, attempt_id, token):
    return client.post(f"/api/v1/attempts/{attempt_id}/submit", headers={"X-CSRF-Token": token})


def test_requires_login(client, sitting):
    assert client.get("/api/v1/exams").status_code == 401


def test_lobby_lists_open_exam_with_attempts_left(client, login, sitting, clock):
    login(sitting.person.person_no, PASSWORD)
    exams = client.get("/api/v1/exams").get_json()["exams"]
    assert [e["exam_id"] for e in exams] == [sitting.exam.id]
    assert exams[0]["attempts_left"] == 1 and exams[0]["can_start"]


def test_start_payload_has_displayed_options_and_no_key(started, session):
    p = started.payload
    assert p["deadline"] and p["server_time"] and p["answers"] == {}
    single = next(q for q in p["questions"] if q["type"] == "single")
    # option order C, A, D, B: displayed A shows authored C's text
    assert single["options"][0] == {"key": "A", "text": "选项C"}
    assert [o["key"] for o in single["options"]] == ["A", "B", "C", "D"]
    fill = next(q for q in p["questions"] if q["type"] == "fill_blank")
    assert fill["blanks"] == 2
    raw = json.dumps(p, ensure_ascii=False)
    for secret in ("解析甲机密", "解析乙机密", "解析丙机密", "解析丁机密", "留置", "十日"):
        assert secret not in raw
    for field in ('"answer"', '"explanation"', '"option_order"', "question_version"):
        assert field not in raw


def test_status_and_save_payloads_never_reveal_key(client, started):
    item = started.items["fill_blank"]
    assert (
        _save(client, started.attempt_id, item.id, ["x", "y"], 1, started.token).status_code == 200
    )
    raw = client.get(f"/api/v1/attempts/{started.attempt_id}").get_data(as_text=True)
    for secret in ("解析丁机密", "留置", "十日", "解析"):
        assert secret not in raw


def test_save_resume_and_answers_intact(client, started):
    item = started.items["single"]
    resp = _save(client, started.attempt_id, item.id, "B", 1, started.token)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["saved"] is True and body["seq"] == 1 and body["server_time"]
    again = _start(client, started.exam.id, started.token).get_json()
    assert again["attempt_id"] == started.attempt_id
    assert again["answers"] == {str(item.id): "B"}
    assert again["deadline"] == started.payload["deadline"]  # reload never restarts the clock


def test_old_seq_never_overwrites_newer(client, started, session):
    item = started.items["single"]
    assert _save(client, started.attempt_id, item.id, "C", 5, started.token).status_code == 200
    late = _save(client, started.attempt_id, item.id, "A", 3, started.token)
    assert late.status_code == 200 and late.get_json()["applied"] is False
    ans = session.scalar(select(Answer).where(Answer.paper_item_id == item.id))
    session.refresh(ans)
    assert (ans.response, ans.seq) == ("C", 5)
    status = client.get(f"/api/v1/attempts/{started.attempt_id}").get_json()
    assert status["answers"][str(item.id)] == "C" and status["last_seq"] == 5


def test_flag_for_review(client, started):
    item = started.items["true_false"]
    _save(client, started.attempt_id, item.id, True, 1, started.token, flagged=True)
    status = client.get(f"/api/v1/attempts/{started.attempt_id}").get_json()
    assert status["flagged"] == [item.id]


@pytest.mark.parametrize(
    "kind,answer",
    [("single", "Z"), ("multiple", "A"), ("true_false", "对"), ("fill_blank", ["only one"])],
)
def test_malformed_answer_is_422(client, started, kind, answer):
    resp = _save(client, started.attempt_id, started.items[kind].id, answer, 1, started.token)
    assert resp.status_code == 422
    assert resp.get_json()["ok"] is False and resp.get_json()["error"]["message"]


def test_bad_seq_and_unknown_item(client, started):
    item = started.items["single"]
    assert _save(client, started.attempt_id, item.id, "A", "1", started.token).status_code == 422
    assert _save(client, started.attempt_id, item.id, "A", 0, started.token).status_code == 422
    assert _save(client, started.attempt_id, 999999, "A", 1, started.token).status_code == 404


def test_save_after_deadline_plus_grace_is_409_and_keeps_answers(client, started, clock, session):
    item = started.items["single"]
    other = started.items["true_false"]
    _save(client, started.attempt_id, item.id, "B", 1, started.token)
    clock.advance(minutes=30, seconds=20)  # past the deadline, within the 30 s grace
    assert _save(client, started.attempt_id, other.id, False, 2, started.token).status_code == 200
    clock.advance(seconds=15)
    late = _save(client, started.attempt_id, item.id, "C", 3, started.token)
    assert late.status_code == 409
    assert "时间已到" in late.get_json()["error"]["message"]
    status = client.get(f"/api/v1/attempts/{started.attempt_id}").get_json()
    assert status["answers"] == {str(item.id): "B", str(other.id): False}
    # the GET finalized the attempt lazily with the saved answers
    assert status["status"] == "submitted"
    assert status["result"]["score"] == 10.0  # single correct (B), true/false wrong


def test_submit_is_idempotent_and_scores(client, started, session):
    aid = started.attempt_id
    _save(client, aid, started.items["single"].id, "B", 1, started.token)  # correct
    _save(client, aid, started.items["multiple"].id, ["B"], 2, started.token)  # partial 0.5
    # "１０日" (full-width digits) is the key "十日" written in digits: both blanks right
    _save(client, aid, started.items["fill_blank"].id, ["留置措施", "１０日"], 3, started.token)
    first = _submit(client, aid, started.token)
    assert first.status_code == 200
    body = first.get_json()
    assert body["status"] == "submitted" and body["score"] == 10 + 5 + 10
    second = _submit(client, aid, started.token).get_json()
    assert second["score"] == body["score"] and second["submitted_at"] == body["submitted_at"]
    rows = session.scalars(select(Answer).where(Answer.attempt_id == aid)).all()
    assert len(rows) == 4  # unanswered true/false got a blank row scored 0
    assert sum(r.marks for r in rows) == 25
    after = _save(client, aid, started.items["true_false"].id, True, 9, started.token)
    assert after.status_code == 409


def test_attempt_limit(client, started, session):
    _submit(client, started.attempt_id, started.token)
    again = _start(client, started.exam.id, started.token)
    assert again.status_code == 409 and "次数" in again.get_json()["error"]["message"]


def test_second_attempt_when_allowed(client, login, build_sitting, clock, session):
    s = build_sitting(max_attempts=2)
    token = login(s.person.person_no, PASSWORD)
    a1 = _start(client, s.exam.id, token).get_json()["attempt_id"]
    _submit(client, a1, token)
    a2 = _start(client, s.exam.id, token).get_json()
    assert a2["attempt_id"] != a1 and a2["answers"] == {}
    assert _start(client, s.exam.id, token).get_json()["attempt_id"] == a2["attempt_id"]
    _submit(client, a2["attempt_id"], token)
    assert _start(client, s.exam.id, token).status_code == 409


def test_other_candidates_attempt_is_refused(app, client, login, started, build_sitting):
    other = build_sitting()
    c2 = app.test_client()
    token2 = login(other.person.person_no, PASSWORD, c=c2)
    aid = started.attempt_id
    item = started.items["single"].id
    assert c2.get(f"/api/v1/attempts/{aid}").status_code in (403, 404)
    assert _save(c2, aid, item, "A", 1, token2).status_code in (403, 404)
    assert _submit(c2, aid, token2).status_code in (403, 404)
    assert c2.get(f"/exam/attempt/{aid}").status_code in (403, 404)
    # and not enrolled in the first exam
    assert _start(c2, started.exam.id, token2).status_code == 404


def test_csrf_required_for_mutations(client, started):
    resp = client.put(
        f"/api/v1/attempts/{started.attempt_id}/answers/{started.items['single'].id}",
        json={"answer": "A", "seq": 1},
    )
    assert resp.status_code == 400


def _event(client, aid, token, kind, detail=None, **headers):
    body = {"kind": kind} if detail is None else {"kind": kind, "detail": detail}
    return client.post(
        f"/api/v1/attempts/{aid}/events", json=body, headers={"X-CSRF-Token": token, **headers}
    )


def test_integrity_events_and_takeover(client, started, session):
    aid, token = started.attempt_id, started.token
    _start(client, started.exam.id, token, client_token="tab-one")
    _start(client, started.exam.id, token, client_token="tab-one")  # a reload: same browser
    _start(client, started.exam.id, token, client_token="phone-two")  # a second device
    fill, single = started.items["fill_blank"].id, started.items["single"].id
    ua = {"User-Agent": "TestPhone/1.0"}
    # what older pages sent, and short glances away, are accepted but are not events
    for kind in ("page_hidden", "focus_lost", "resume"):
        assert _event(client, aid, token, kind).get_json()["recorded"] is False
    assert _event(client, aid, token, "left_page", {"seconds": 4.9}).get_json()["recorded"] is False
    # paste counts only into a fill-in of this paper
    assert (
        _event(client, aid, token, "paste", {"question_id": single}).get_json()["recorded"] is False
    )
    assert (
        _event(client, aid, token, "paste", {"question_id": 10**6}).get_json()["recorded"] is False
    )
    assert _event(client, aid, token, "paste", {"question_id": fill}, **ua).get_json()["recorded"]
    left = _event(client, aid, token, "left_page", {"seconds": 12.5, "how": "hidden"})
    assert left.get_json()["recorded"] is True
    assert _event(client, aid, token, "left_page").status_code == 422  # no duration
    assert _event(client, aid, token, "x").status_code == 422
    assert _event(client, aid, token, "takeover").status_code == 422  # only the server says so
    events = session.scalars(select(IntegrityEvent).where(IntegrityEvent.attempt_id == aid)).all()
    assert sorted(e.kind for e in events) == ["left_page", "paste", "takeover"]
    paste = next(e for e in events if e.kind == "paste")
    assert paste.user_agent == "TestPhone/1.0" and paste.detail == {"question_id": fill}
    assert next(e for e in events if e.kind == "left_page").detail == {
        "seconds": 12.5,
        "how": "hidden",
    }
    _save(client, aid, single, "B", 1, token)
    assert _submit(client, aid, token).get_json()["score"] == 10  # events change nothing


def test_result_policy_hidden_and_after_close(client, login, build_sitting, clock):
    s = build_sitting(result_policy="hidden")
    token = login(s.person.person_no, PASSWORD)
    aid = _start(client, s.exam.id, token).get_json()["attempt_id"]
    body = _submit(client, aid, token).get_json()
    assert body["status"] == "submitted" and "score" not in body
    s2 = build_sitting(person=s.person, result_policy="after_close")
    aid2 = _start(client, s2.exam.id, token).get_json()["attempt_id"]
    assert "score" not in _submit(client, aid2, token).get_json()
    clock.now = s2.exam.closes_at
    assert _submit(client, aid2, token).get_json()["score"] == 0


def test_pages_render(client, started, clock):
    assert client.get("/exam/").status_code == 200
    assert "测试考试" in client.get(f"/exam/{started.exam.id}").get_data(as_text=True)
    page = client.get(f"/exam/attempt/{started.attempt_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and started.person.person_no in html
    assert "解析甲机密" not in html
    _submit(client, started.attempt_id, started.token)
    assert client.get(f"/exam/attempt/{started.attempt_id}").status_code == 302
    res = client.get(f"/exam/attempt/{started.attempt_id}/result")
    assert res.status_code == 200 and "得分" in res.get_data(as_text=True)
    assert client.get(f"/exam/attempt/{started.attempt_id}/review").status_code == 403
    clock.now = started.exam.closes_at
    review = client.get(f"/exam/attempt/{started.attempt_id}/review").get_data(as_text=True)
    assert "解析甲机密" in review


def test_start_form_redirects_to_paper(client, login, sitting, clock):
    login(sitting.person.person_no, PASSWORD)
    from tests.conftest import NOW  # noqa: F401

    token = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    resp = client.post(f"/exam/{sitting.exam.id}/start", data={"csrf_token": token})
    assert resp.status_code == 302 and "/exam/attempt/" in resp.headers["Location"]


def test_attempt_row_shape(client, started, session):
    attempt = session.get(Attempt, started.attempt_id)
    assert attempt.deadline_at == started.exam.opens_at.replace() + (
        attempt.started_at - started.exam.opens_at
    ) + (attempt.deadline_at - attempt.started_at)
    assert (attempt.deadline_at - attempt.started_at).total_seconds() == 30 * 60
