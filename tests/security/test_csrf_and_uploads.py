"""CSRF over every state-changing route (the Flask routes and the lean autosave app),
and hostile uploads answered with a clear 4xx while other users stay served."""

from __future__ import annotations

import io
import re

import pytest

from core import excel
from tests.security.conftest import zip_bomb

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.mark.parametrize("person_no", ["CA1", "ADM1"])
def test_every_state_changing_route_needs_its_credential(app, world, sign_in, person_no):
    client, token, _ = sign_in(person_no)
    checked = 0
    for rule in app.url_map.iter_rules():
        methods = rule.methods & STATE_CHANGING
        if not methods or rule.endpoint == "auth_api.api_login":
            continue  # the JSON login hands out the token; nothing to forge before it
        url = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", "1", rule.rule)
        for method in methods:
            for kwargs in ({"data": {"x": "1"}}, {"json": {"x": 1}},
                           {"data": {"csrf_token": "forged"}}):  # fmt: skip
                resp = client.open(url, method=method, **kwargs)
                assert resp.status_code == 400, (rule.rule, method, kwargs, resp.status_code)
                assert "CSRF" in resp.get_data(as_text=True)
            checked += 1
    assert checked >= 40
    # the lean autosave app takes its own token, never the cookie
    attempt = client.post(f"/api/v1/exams/{world.exam.id}/attempts", json={},
                          headers={"X-CSRFToken": token}).get_json()  # fmt: skip
    if "autosave" in attempt:
        url = attempt["autosave"]["url"] + str(attempt["questions"][0]["id"])
        for headers in ({}, {"X-Autosave-Token": "forged"}, {"X-CSRFToken": token}):
            resp = client.put(url, json={"answer": "A", "seq": 1}, headers=headers)
            assert resp.status_code == 400, headers
    # nothing changed, still signed in
    assert client.get("/api/v1/exams").status_code in (200, 403)


def _upload(client, token, url, content, name):
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")  # fmt: skip


def test_hostile_uploads_get_a_clear_4xx(app, session, world, sign_in, monkeypatch):
    world.exam.mode = "offline"
    session.flush()
    admin, token, _ = sign_in("ADM1")
    targets = ["/bank/import", "/admin/org/import", f"/papers/exams/{world.exam.id}/answers"]
    bomb = zip_bomb(60)
    monkeypatch.setattr(excel, "MAX_ROWS", 2000)  # the limit, smaller: a small file
    rows = "人员编号,1\n" + "CA1,A\n" * (excel.MAX_ROWS + 1)
    cases = [
        (bomb, "bomb.xlsx", 413, "解压后"),
        (b"\x00\x01 not a workbook", "broken.xlsx", 422, "无法读取"),
        (rows.encode(), "many.csv", 422, "行数过多"),
        (b"\xff\xfe\x00garbage", "bad.csv", 422, "编码"),
    ]
    for url in targets:
        for content, name, status, text in cases:
            resp = _upload(admin, token, url, content, name)
            assert resp.status_code == status, (url, name, resp.status_code)
            assert text in resp.get_data(as_text=True), (url, name)
    # beyond the request size limit: refused before the view
    big = admin.post("/bank/import", data=b"0" * (33 * 1024 * 1024),
                     content_type="multipart/form-data; boundary=x")  # fmt: skip
    assert big.status_code == 413 and "过大" in big.get_data(as_text=True)
    # and others are served all along
    other, _, _ = sign_in("CA1")
    assert other.get("/api/v1/exams").status_code == 200
    assert admin.get("/admin/").status_code == 200
