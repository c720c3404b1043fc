"""A candidate on a phone sits an exam in chromium: whole exam, reload, offline, and an
attempt left open past its deadline."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

pytestmark = pytest.mark.browser


def _answer_all(page, ids):
    single, multiple, tf, fill = ids
    page.check(f"#q-{single} input[value=B]")  # authored A is shown as B
    page.check(f"#q-{multiple} input[value=B]")
    page.check(f"#q-{multiple} input[value=D]")
    page.check(f"#q-{tf} input[value=true]")
    page.fill(f"#q-{fill} input[data-blank='0']", "留 置")


def test_phone_sits_a_whole_exam(phone, seed, sit, live_server):
    data = seed()
    page = phone
    sit.open_paper(page, data)
    assert page.viewport_size["width"] == 390
    assert data.person_no in page.inner_text(".watermark")
    _answer_all(page, data.item_ids)
    page.click(f"#q-{data.item_ids[2]} .flag")
    sit.wait_saved(page)
    page.click("#open-card")
    assert "flagged" in page.get_attribute(
        f"#card-groups button[data-qid='{data.item_ids[2]}']", "class"
    )
    page.click("#card-close")
    page.click("#toggle-large")
    assert "large-text" in page.get_attribute("html", "class")
    page.click("#submit-exam")
    assert "所有题目均已作答" in page.inner_text("#confirm-summary")
    assert "交卷后不能再修改" in page.inner_text("#confirm-dialog")
    page.click("#confirm-submit")
    page.wait_for_url(re.compile(r"/result$"))
    assert "40" in page.inner_text("#score")
    attempt, answers = sit.attempt(data)
    assert attempt.status == "submitted" and attempt.score == 40
    assert answers[data.item_ids[3]] == ["留 置"]


def test_reload_keeps_answers_and_time(phone, seed, sit, live_server):
    data = seed()
    page = phone
    sit.open_paper(page, data)
    single, multiple, tf, fill = data.item_ids
    page.check(f"#q-{single} input[value=C]")
    page.fill(f"#q-{fill} input[data-blank='0']", "留置")
    sit.wait_saved(page)
    # move the deadline to 10 minutes from now: a reload must show that, not a fresh 30:00
    attempt, _ = sit.attempt(data)
    from exam.models import Attempt

    with live_server.factory.begin() as s:
        s.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id)
            .values(deadline_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10))
        )
    page.reload()
    page.wait_for_selector("#questions .question")
    assert page.is_checked(f"#q-{single} input[value=C]")
    assert page.input_value(f"#q-{fill} input[data-blank='0']") == "留置"
    page.wait_for_function(
        "() => /^(09|10):\\d\\d$/.test(document.querySelector('#countdown').textContent)"
    )
    # answering still works after the reload
    page.check(f"#q-{tf} input[value=false]")
    sit.wait_saved(page)
    _, answers = sit.attempt(data)
    assert answers == {single: "C", fill: ["留置"], tf: False}


def test_offline_answers_arrive_after_reconnect(phone, seed, sit):
    data = seed()
    page = phone
    sit.open_paper(page, data)
    single, multiple, tf, fill = data.item_ids
    page.context.set_offline(True)
    page.check(f"#q-{single} input[value=D]")
    page.check(f"#q-{multiple} input[value=A]")
    page.fill(f"#q-{fill} input[data-blank='0']", "离线作答")
    page.wait_for_function(
        "() => document.querySelector('#save-status').dataset.state === 'offline'"
    )
    page.wait_for_timeout(1500)  # let a retry fail while offline
    _, answers = sit.attempt(data)
    assert answers == {}
    page.check(f"#q-{tf} input[value=true]")
    page.context.set_offline(False)
    sit.wait_saved(page)
    _, answers = sit.attempt(data)
    assert answers == {single: "D", multiple: ["A"], tf: True, fill: ["离线作答"]}


def test_open_attempt_past_deadline_is_submitted_and_scored(phone, seed, sit, live_server):
    from exam.models import Attempt
    from exam.runner.submit import finalize_expired

    data = seed()
    page = phone
    sit.open_paper(page, data)
    single, multiple, tf, fill = data.item_ids
    page.check(f"#q-{single} input[value=B]")  # correct: 10 points
    page.check(f"#q-{tf} input[value=false]")  # wrong
    sit.wait_saved(page)
    attempt, _ = sit.attempt(data)
    # the candidate walks away; the deadline and grace pass while the page is closed
    page.goto("about:blank")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with live_server.factory.begin() as s:
        s.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id)
            .values(started_at=past - dt.timedelta(minutes=30), deadline_at=past)
        )
    with live_server.factory.begin() as s:
        assert finalize_expired(s, dt.datetime.now(dt.UTC)) == 1
    attempt, _ = sit.attempt(data)
    assert attempt.status == "submitted" and attempt.submitted_by == "timeout"
    assert attempt.score == 10
    page.goto(live_server.url + f"/exam/attempt/{attempt.id}")
    page.wait_for_url(re.compile(r"/result$"))
    assert "自动交卷" in page.inner_text("#submitted-note")
    assert page.inner_text("#score") == "10"


def test_page_left_open_submits_itself_at_the_deadline(phone, seed, sit, live_server):
    from exam.models import Attempt

    data = seed()
    page = phone
    sit.open_paper(page, data)
    page.check(f"#q-{data.item_ids[0]} input[value=B]")
    sit.wait_saved(page)
    attempt, _ = sit.attempt(data)
    with live_server.factory.begin() as s:
        s.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id)
            .values(deadline_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3))
        )
    page.reload()
    page.wait_for_url(re.compile(r"/result$"), timeout=30000)
    attempt, _ = sit.attempt(data)
    assert attempt.status == "submitted" and attempt.score == 10
    # the page's own submission at zero is a time-out, and the result page says so
    assert attempt.submitted_by == "timeout"
    assert "作答时间到，系统已自动交卷" in page.inner_text("#submitted-note")


def test_saves_resume_soon_after_a_database_outage(phone, seed, sit):
    """503 with Retry-After (a database restarting): the page keeps the answer and
    retries at the server's pace, not an ever longer back-off, so it is saved within
    seconds of the server's return."""
    data = seed()
    page = phone
    sit.open_paper(page, data)
    single = data.item_ids[0]
    outage = {"left": 5}

    def away(route):
        if outage["left"] > 0:
            outage["left"] -= 1
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body='{"ok": false, "error": {"code": "unavailable", "message": "数据库暂时不可用"}}',
            )
        else:
            route.continue_()

    page.route(re.compile(r".*/answers/\d+$"), away)
    page.check(f"#q-{single} input[value=D]")
    page.wait_for_function(
        "() => document.querySelector('#save-status').dataset.state === 'offline'"
    )
    # five refusals at a steady 0.5-1.5 s each: saved well within 10 s (with a doubling
    # back-off the fifth retry alone would wait 8-24 s)
    page.wait_for_function(
        "() => document.querySelector('#save-status').dataset.state === 'saved'", timeout=10000
    )
    assert outage["left"] == 0
    _, answers = sit.attempt(data)
    assert answers[single] == "D"
