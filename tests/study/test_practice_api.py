"""The practice JSON API: cookie + CSRF token as the runner's, 4xx with a Chinese
message for bad input, nothing about another person's practice readable."""

from __future__ import annotations

import re

import pytest

PASSWORD = "Passw0rd!"


@pytest.fixture
def token(client, login, learner, bank):
    return login(learner.person_no, PASSWORD)


def _post(client, body, token):
    return client.post("/api/v1/practice/sessions", json=body, headers={"X-CSRF-Token": token})


def _put(client, sid, qid, body, token, **kwargs):
    return client.put(
        f"/api/v1/practice/sessions/{sid}/answers/{qid}",
        json=body,
        headers={"X-CSRF-Token": token},
        **kwargs,
    )


def test_start_answer_and_notebook(client, token, bank):
    resp = _post(client, {"source": "criminal_law", "knowledge_point": "受贿罪", "size": 5}, token)
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["session_id"] and len(data["questions"]) == 2
    for q in data["questions"]:
        assert set(q) >= {"id", "code", "type", "stem", "options"}
        assert "answer" not in q and "explanation" not in q and "key" not in q
    single = next(q for q in data["questions"] if q["type"] == "single")
    assert [o["key"] for o in single["options"]] == ["A", "B", "C", "D"]
    wrong = _put(client, data["session_id"], single["id"], {"answer": "C"}, token)
    assert wrong.status_code == 200, wrong.get_json()
    body = wrong.get_json()
    assert body["correct"] is False and body["key"] == "B" and body["explanation"] == "解析"
    assert body["citation"]["source"] == "中华人民共和国刑法"
    assert body["citation"]["article"] == "第三百八十五条"
    assert "受贿罪" in body["citation"]["text"]
    items = client.get("/api/v1/practice/mistakes").get_json()["items"]
    assert [(i["code"], i["source"], i["streak"]) for i in items] == [
        (single["code"], "criminal_law", 0)
    ]
    assert re.match(r"\d{4}-\d\d-\d\dT", items[0]["due_at"])
    progress = client.get("/api/v1/practice/progress").get_json()
    assert progress["totals"]["answers"] == 1 and progress["by_source"][0]["answers"] == 1


def test_state_changing_calls_need_the_csrf_token(client, token):
    resp = client.post("/api/v1/practice/sessions", json={"size": 3})
    assert resp.status_code == 400
    assert resp.get_json()["ok"] is False
    sid = _post(client, {"size": 3}, token).get_json()["session_id"]
    qid = client.get(f"/api/v1/practice/sessions/{sid}").get_json()["questions"][0]["id"]
    assert client.put(f"/api/v1/practice/sessions/{sid}/answers/{qid}",
                      json={"answer": "A"}).status_code == 400  # fmt: skip


def test_login_required(client, bank):
    assert client.get("/api/v1/practice/mistakes").status_code == 401
    assert client.post("/api/v1/practice/sessions", json={}).status_code in (400, 401)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        {"mode": "exam"},
        {"size": -1},
        {"size": 1000},
        {"size": "abc"},
        {"difficulty": "hard"},
        {"source": 5},
        {"source": "no_such_law"},
        {"knowledge_point": "没有这个知识点"},
        {"mode": "mistakes"},
    ],
)
def test_bad_session_requests_get_4xx_in_chinese(client, token, body):
    if body is None:
        resp = client.post(
            "/api/v1/practice/sessions",
            data="{not json",
            headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
        )
    else:
        resp = _post(client, body, token)
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)
    message = resp.get_json()["error"]["message"]
    assert re.search(r"[\u4e00-\u9fff]", message), message


@pytest.mark.parametrize(
    "body", [None, {}, {"answer": None}, {"answer": {"a": 1}}, {"answer": "Z"}, {"answer": [1, 2]}]
)
def test_bad_answers_get_4xx_in_chinese(client, token, body):
    data = _post(
        client, {"knowledge_point": "受贿罪", "difficulty": 3, "size": 5}, token
    ).get_json()
    single = next(q for q in data["questions"] if q["type"] == "single")
    if body is None:
        resp = client.put(
            f"/api/v1/practice/sessions/{data['session_id']}/answers/{single['id']}",
            data="[[[",
            headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
        )
    else:
        resp = _put(client, data["session_id"], single["id"], body, token)
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)
    assert re.search(r"[\u4e00-\u9fff]", resp.get_json()["error"]["message"])


def test_another_persons_practice_is_not_readable(app, client, token, other_learner, login):
    data = _post(
        client, {"knowledge_point": "受贿罪", "difficulty": 3, "size": 5}, token
    ).get_json()
    sid = data["session_id"]
    qid = next(q["id"] for q in data["questions"] if q["type"] == "single")
    assert _put(client, sid, qid, {"answer": "A"}, token).status_code == 200
    other = app.test_client()
    other_token = login(other_learner.person_no, PASSWORD, c=other)
    assert other.get(f"/api/v1/practice/sessions/{sid}").status_code == 404
    resp = _put(other, sid, qid, {"answer": "A"}, other_token)
    assert resp.status_code == 404
    assert other.get(f"/study/s/{sid}/1").status_code == 404
    assert other.get("/api/v1/practice/mistakes").get_json()["items"] == []
    assert other.get("/api/v1/practice/progress").get_json()["totals"]["answers"] == 0


def test_unknown_session_and_question_are_404(client, token):
    data = _post(client, {"size": 1}, token).get_json()
    assert _put(client, 10**8, 1, {"answer": "A"}, token).status_code == 404
    assert _put(client, data["session_id"], 10**8, {"answer": "A"}, token).status_code == 404
