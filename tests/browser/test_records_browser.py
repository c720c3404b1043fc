"""Records on a phone (issues 11.4 and 12.2): a reload is not an integrity event while
leaving the page and paste into a fill-in are; the result page, the review with its
marks and 只看错题 filter, and the printable score sheet, with screenshots to look at
(``/work/notes/screenshots/issue12-review-*.png`` when that folder exists, else the
suite's screenshot folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.browser

NOTES = Path("/work/notes/screenshots")


@pytest.fixture
def keep(shot):
    """Screenshots for the issue's closing note (full page)."""

    def _keep(page, name):
        if NOTES.is_dir():
            path = NOTES / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            return path
        return shot(page, name, full_page=True)

    return _keep


def _events(live_server, data):
    from exam.models import Attempt, IntegrityEvent

    with live_server.factory() as s:
        attempt = s.scalar(select(Attempt).where(Attempt.person_id == data.person_id))
        rows = s.scalars(
            select(IntegrityEvent).where(IntegrityEvent.attempt_id == attempt.id)
        ).all()
        return [(e.kind, e.detail) for e in rows]


def _hide(page, hidden: bool):
    """The page hidden or shown, as when the candidate switches apps."""
    page.evaluate(
        """(hidden) => {
            Object.defineProperty(document, "visibilityState",
              { configurable: true, get: () => hidden ? "hidden" : "visible" });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def test_reload_is_not_an_event_but_leaving_and_paste_are(phone, seed, sit, live_server):
    data = seed()
    page = phone
    sit.open_paper(page, data)
    single, multiple, tf, fill = data.item_ids
    page.check(f"#q-{single} input[value=B]")
    sit.wait_saved(page)
    for _ in range(2):  # reloading, and moving within the exam, are not events
        page.reload()
        page.wait_for_selector("#questions .question")
        page.click("#open-card")
        page.click(f"#card-groups button[data-qid='{tf}']")
    _hide(page, True)  # a glance away of a second
    page.wait_for_timeout(1000)
    _hide(page, False)
    page.wait_for_timeout(500)
    assert _events(live_server, data) == []
    _hide(page, True)  # away for more than five seconds
    page.wait_for_timeout(5600)
    _hide(page, False)
    # paste into a fill-in is an event; into nothing else
    page.dispatch_event(f"#q-{fill} input[data-blank='0']", "paste")
    page.dispatch_event(f"#q-{single}", "paste")
    page.wait_for_timeout(800)
    events = _events(live_server, data)
    assert sorted(k for k, _ in events) == ["left_page", "paste"]
    left = next(d for k, d in events if k == "left_page")
    assert left["how"] == "hidden" and 5 < left["seconds"] < 30
    assert next(d for k, d in events if k == "paste") == {"question_id": fill}


def test_result_review_and_score_sheet_on_a_phone(phone, seed, sit, live_server, keep):
    data = seed(review_policy="after_submit")
    page = phone
    sit.open_paper(page, data)
    single, multiple, tf, fill = data.item_ids
    page.check(f"#q-{single} input[value=B]")  # authored A shown as B: right
    page.check(f"#q-{multiple} input[value=A]")  # shown A, B = authored B, A: key B, D
    page.check(f"#q-{multiple} input[value=B]")
    page.check(f"#q-{tf} input[value=false]")  # wrong
    page.fill(f"#q-{fill} input[data-blank='0']", "留置")
    sit.wait_saved(page)
    page.click("#submit-exam")
    page.click("#confirm-submit")
    page.wait_for_url(re.compile(r"/result$"))
    assert page.inner_text("#score") == "20"
    assert page.inner_text("#verdict") == "不合格"
    text = page.inner_text("main")
    assert "按法规" in text and "按题型" in text and "及格线：24 分" in text
    assert "用时" in text and "已交卷" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    keep(page, "issue12-review-result")

    page.click("text=只看错题")
    page.wait_for_url(re.compile(r"only=wrong$"))
    cards = page.locator("article.question-review")
    assert cards.count() == 2  # the multiple choice and the true/false
    multiple_card = cards.nth(0)
    assert "第 2 题" in multiple_card.inner_text()
    rows = multiple_card.locator(".review-options li")
    marks = [rows.nth(i).locator(".marks").inner_text().split() for i in range(rows.count())]
    assert marks == [["✗", "您的选择"], ["✓", "您的选择", "正确答案"], [], ["正确答案"]]
    assert "A. A." not in multiple_card.inner_text()
    tf_rows = cards.nth(1).locator(".review-options li")
    assert "正确答案" in tf_rows.nth(0).inner_text() and "您的选择" in tf_rows.nth(1).inner_text()
    assert "解析2" in multiple_card.inner_text()  # the explanation
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    keep(page, "issue12-review-only-wrong")

    page.click("text=全部题目")
    assert page.locator("article.question-review").count() == 4
    keep(page, "issue12-review-all")

    attempt_id = re.search(r"/attempt/(\d+)/", page.url).group(1)
    page.goto(live_server.url + f"/exam/attempt/{attempt_id}/score-sheet")
    assert page.inner_text("#sheet-score") == "20"
    sheet = page.inner_text(".score-sheet")
    assert data.person_no in sheet and "不合格" in sheet and "按题型" in sheet
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    keep(page, "issue12-review-score-sheet")
    page.emulate_media(media="print")
    assert not page.is_visible("#print-sheet") and not page.is_visible(".site-header")
    keep(page, "issue12-review-score-sheet-print")
    page.emulate_media(media="screen")

    page.goto(live_server.url + "/exam/")
    history = page.inner_text("table.history")
    assert "第 1 次" in history and "20 / 40" in history and "不合格" in history
    keep(page, "issue12-review-lobby")
