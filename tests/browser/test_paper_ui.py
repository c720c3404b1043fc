"""The paper page as a candidate on a phone meets it (issue 12, item 1): the answer card
opened deep in a long whole-paper exam, jumps that land below the sticky bar, the 交卷
dialog's links, the chosen row, calm save states and the offline countdown, time
warnings in the bar, 大字, tap targets, and a page that works under a CSP without inline
script. Screenshots go to ``tests/browser/screenshots/`` for a person to look at.

Waiting is done by Playwright (``expect`` and ``wait_for_function``), never by sleeping."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import update

pytestmark = pytest.mark.browser

LONG = 40  # questions: 16 single, 10 multiple, 10 true/false, 4 fill-in

# True once the question is wholly on screen and nothing of it is under the sticky bar.
BELOW_BAR = """(qid) => {
  const q = document.getElementById('q-' + qid).getBoundingClientRect();
  const bar = document.getElementById('exam-bar').getBoundingClientRect();
  return q.top >= bar.bottom - 0.5 && q.bottom <= window.innerHeight + 0.5;
}"""
GEOMETRY = """(qid) => {
  const r = (e) => { const b = e.getBoundingClientRect(); return [Math.round(b.top), Math.round(b.bottom)]; };
  return {question: r(document.getElementById('q-' + qid)), bar: r(document.getElementById('exam-bar')),
          viewport: window.innerHeight, scrollY: window.scrollY};
}"""


def _expect():
    from playwright.sync_api import expect

    return expect


def assert_below_bar(page, qid):
    try:
        page.wait_for_function(BELOW_BAR, arg=qid, timeout=5000)
    except Exception as exc:  # report where things are instead of a bare timeout
        where = page.evaluate(GEOMETRY, qid)
        raise AssertionError(f"question {qid} not fully visible below the bar: {where}") from exc


def scroll_to_question(page, qid):
    """Scroll as a thumb would (no jump): the question's top at the top of the screen."""
    page.evaluate(
        "(qid) => window.scrollTo(0, window.scrollY"
        " + document.getElementById('q-' + qid).getBoundingClientRect().top)",
        qid,
    )
    page.wait_for_function(
        "(qid) => Math.abs(document.getElementById('q-' + qid).getBoundingClientRect().top) < 2",
        arg=qid,
    )


def in_viewport(page, selector):
    box = page.locator(selector).bounding_box()
    vp = page.viewport_size
    assert box is not None, f"{selector} is not rendered"
    return box["y"] >= 0 and box["x"] >= 0 and box["y"] + box["height"] <= vp["height"] + 0.5, box


def test_answer_card_opens_on_screen_deep_in_the_paper(phone, seed, sit, shot):
    expect = _expect()
    data = seed(questions=LONG)
    ids, page = data.item_ids, phone
    sit.open_paper(page, data)
    # answer question 1, flag question 2, answer and flag question 3
    page.check(f"#q-{ids[0]} input[value=A]")
    page.click(f"#q-{ids[1]} .flag")
    page.check(f"#q-{ids[2]} input[value=B]")
    page.click(f"#q-{ids[2]} .flag")
    sit.wait_saved(page)
    expect(page.locator("#card-progress")).to_have_text(f"2/{LONG}")

    scroll_to_question(page, ids[29])
    deep = page.evaluate("window.scrollY")
    assert deep > 5000  # really deep in the paper
    page.focus("#open-card")  # as Tab would: the sticky bar takes focus without a scroll
    assert page.evaluate("window.scrollY") == deep
    page.click("#open-card")
    card = page.locator("#card-dialog")
    expect(card).to_be_visible()
    ok, box = in_viewport(page, "#card-dialog")
    assert ok, f"the answer card is off screen: {box}"
    assert box["height"] <= 0.86 * 844 and box["y"] + box["height"] >= 843  # a bottom sheet
    shot(page, "phone-card-deep")

    # grouped by type, with counts, in the paper's order
    headings = page.locator("#card-groups h3").all_inner_texts()
    assert [h.split()[0] for h in headings] == ["单选题", "多选题", "判断题", "填空题"]
    assert headings[0].endswith("共 16 题，已答 2")
    assert headings[1].endswith("共 10 题，已答 0")
    expect(page.locator("#card-summary")).to_have_text(
        f"已答 2 题 · 未答 {LONG - 2} 题 · 标记 2 题"
    )
    # states readable without colour: a text mark, a dashed edge, a label for screen readers
    cell = lambda i: page.locator(f"#card-groups button[data-qid='{ids[i]}']")  # noqa: E731
    after = "(e) => getComputedStyle(e, '::after').content"
    before = "(e) => getComputedStyle(e, '::before').content"
    assert "✓" in cell(0).evaluate(after) and "✓" not in cell(1).evaluate(after)
    assert "⚑" in cell(1).evaluate(before) and "⚑" in cell(2).evaluate(before)
    assert cell(1).evaluate("(e) => getComputedStyle(e).borderTopStyle") == "dashed"
    assert cell(0).get_attribute("aria-label") == "第 1 题，已答"
    assert cell(1).get_attribute("aria-label") == "第 2 题，未答，已标记"
    assert cell(2).get_attribute("aria-label") == "第 3 题，已答，已标记"
    # the question the candidate is on is marked, and its cell is in the sheet's view
    expect(cell(29)).to_have_attribute("aria-current", "true")
    ok, box = in_viewport(page, f"#card-groups button[data-qid='{ids[29]}']")
    assert ok, f"the current cell is not in view: {box}"

    # a jump lands each question wholly visible below the sticky bar, forwards and back
    for i in (35, 4, 0, LONG - 1, 16):
        if not card.is_visible():
            page.click("#open-card")
        cell(i).click()
        expect(card).to_be_hidden()
        assert_below_bar(page, ids[i])
        expect(page.locator(f"#q-{ids[i]}")).to_be_focused()
    shot(page, "phone-after-jump")


def test_desktop_card_and_jump(desktop, seed, sit, shot):
    expect = _expect()
    data = seed(questions=LONG)
    ids, page = data.item_ids, desktop
    sit.open_paper(page, data)
    page.check(f"#q-{ids[0]} input[value=A]")
    sit.wait_saved(page)
    scroll_to_question(page, ids[25])
    page.click("#open-card")
    expect(page.locator("#card-dialog")).to_be_visible()
    ok, box = in_viewport(page, "#card-dialog")
    assert ok, f"the answer card is off screen: {box}"
    shot(page, "desktop-card-deep")
    page.click(f"#card-groups button[data-qid='{ids[33]}']")
    assert_below_bar(page, ids[33])
    # the bar is one row on a desktop
    assert page.locator("#exam-bar").bounding_box()["height"] < 70
    shot(page, "desktop-after-jump")


def test_no_pager_in_whole_paper_mode(phone, seed, sit, shot):
    expect = _expect()
    data = seed(questions=12)
    page = phone
    sit.open_paper(page, data)
    expect(page.locator("#pager")).to_be_hidden()
    page.locator("#paper-end").scroll_into_view_if_needed()
    expect(page.locator("#paper-end")).to_be_visible()
    expect(page.locator("#prev-q")).to_be_hidden()
    expect(page.locator("#next-q")).to_be_hidden()
    # section headings number the types as a printed paper does
    assert page.locator(".section-title").all_inner_texts() == [
        "一、单选题（共 5 题，每题 10 分）",
        "二、多选题（共 3 题，每题 10 分）",
        "三、判断题（共 3 题，每题 10 分）",
        "四、填空题（共 1 题，每题 10 分）",
    ]
    page.click("#submit-exam-end")
    expect(page.locator("#confirm-dialog")).to_be_visible()


def test_one_question_per_page_mode_still_works(phone, seed, sit):
    expect = _expect()
    data = seed(questions=6, navigation="single")
    ids, page = data.item_ids, phone
    sit.open_paper(page, data)
    visible = lambda i: page.locator(f"#q-{ids[i]}")  # noqa: E731
    expect(page.locator("#pager")).to_be_visible()
    expect(visible(0)).to_be_visible()
    expect(visible(1)).to_be_hidden()
    expect(page.locator("#prev-q")).to_be_disabled()
    page.click("#next-q")
    expect(visible(1)).to_be_visible()
    expect(visible(0)).to_be_hidden()
    expect(page.locator("#pager-pos")).to_have_text("第 2 题 / 共 6 题")
    page.click("#open-card")
    expect(page.locator(f"#card-groups button[data-qid='{ids[1]}']")).to_have_attribute(
        "aria-current", "true"
    )
    page.click(f"#card-groups button[data-qid='{ids[5]}']")
    expect(visible(5)).to_be_visible()
    expect(visible(1)).to_be_hidden()
    expect(page.locator("#next-q")).to_be_disabled()
    page.click("#prev-q")
    expect(visible(4)).to_be_visible()
    expect(page.locator("#paper-end")).to_be_hidden()


def test_submit_dialog_lists_unanswered_and_flagged_as_links(phone, seed, sit, shot):
    expect = _expect()
    data = seed(questions=LONG)
    ids, page = data.item_ids, phone
    sit.open_paper(page, data)
    for i in range(0, 16):  # every single-choice question but the 10th (index 9)
        if i != 9:
            page.check(f"#q-{ids[i]} input[value=A]")
    page.click(f"#q-{ids[3]} .flag")
    page.click(f"#q-{ids[22]} .flag")
    sit.wait_saved(page)
    scroll_to_question(page, ids[30])
    page.click("#submit-exam")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    ok, box = in_viewport(page, "#confirm-dialog")
    assert ok, f"the 交卷 dialog is off screen: {box}"
    expect(page.locator("#confirm-summary")).to_have_text(
        f"共 {LONG} 题，已答 15 题，还有 25 道题未作答，2 道题已标记待检查。"
    )
    expect(page.locator("#confirm-final")).to_have_text("交卷后不能再修改。")
    unanswered = page.locator("#confirm-unanswered a")
    expect(unanswered).to_have_count(25)
    assert unanswered.first.get_attribute("aria-label") == "第 10 题"
    assert page.locator("#confirm-flagged-list a").all_inner_texts() == ["4", "23"]
    # however long the lists, the warning and both buttons are on screen
    for sel in ("#confirm-final", "#confirm-submit", "#confirm-dialog button[value=cancel]"):
        ok, box = in_viewport(page, sel)
        assert ok, f"{sel} is off screen: {box}"
    shot(page, "phone-submit-dialog")

    unanswered.first.click()  # → question 10, far above
    expect(dialog).to_be_hidden()
    assert_below_bar(page, ids[9])
    expect(page.locator(f"#q-{ids[9]}")).to_be_focused()

    page.click("#submit-exam")
    page.locator("#confirm-flagged-list").get_by_role("link", name="第 23 题").click()
    expect(dialog).to_be_hidden()
    assert_below_bar(page, ids[22])

    # the last unanswered question at the end of the paper
    page.click("#submit-exam")
    page.locator("#confirm-unanswered a").last.click()
    assert_below_bar(page, ids[-1])
    # nothing was submitted on the way
    attempt, _ = sit.attempt(data)
    assert attempt.status == "in_progress"


def test_chosen_row_is_highlighted_without_colour_alone(phone, seed, sit, shot):
    expect = _expect()
    data = seed()
    single, multiple, tf, _fill = data.item_ids
    page = phone
    sit.open_paper(page, data)
    row = lambda qid, value: page.locator(f"#q-{qid} label.choice:has(input[value='{value}'])")  # noqa: E731
    expect(page.locator("label.choice.chosen")).to_have_count(0)

    page.check(f"#q-{single} input[value=B]")
    expect(row(single, "B")).to_have_class(re.compile(r"\bchosen\b"))
    page.check(f"#q-{single} input[value=C]")
    expect(row(single, "C")).to_have_class(re.compile(r"\bchosen\b"))
    expect(row(single, "B")).not_to_have_class(re.compile(r"\bchosen\b"))
    page.check(f"#q-{multiple} input[value=A]")
    page.check(f"#q-{multiple} input[value=D]")
    expect(page.locator(f"#q-{multiple} label.chosen")).to_have_count(2)
    page.uncheck(f"#q-{multiple} input[value=A]")
    expect(page.locator(f"#q-{multiple} label.chosen")).to_have_count(1)
    page.check(f"#q-{tf} input[value=false]")
    expect(row(tf, "false")).to_have_class(re.compile(r"\bchosen\b"))
    expect(row(tf, "true")).not_to_have_class(re.compile(r"\bchosen\b"))

    # without colour: a thicker border and a "✓ 已选" mark that the other rows lack
    chosen, other = row(single, "C"), row(single, "A")
    width = "(e) => parseFloat(getComputedStyle(e).borderTopWidth)"
    assert chosen.evaluate(width) >= 2 > other.evaluate(width)
    assert "已选" in chosen.evaluate("(e) => getComputedStyle(e, '::after').content")
    assert other.evaluate("(e) => getComputedStyle(e, '::after').content") in ("none", "normal")
    shot(page, "phone-chosen-rows")

    sit.wait_saved(page)
    page.reload()
    page.wait_for_selector("#questions .question")
    expect(row(single, "C")).to_have_class(re.compile(r"\bchosen\b"))
    expect(page.locator("label.choice.chosen")).to_have_count(3)


LOCAL_QUEUE = """() => localStorage.getItem(
  'jifa-pending-' + document.getElementById('exam-app').dataset.attemptId)"""
SEEN_STATES = """() => {
  window.__states = [];
  const el = document.getElementById('save-status');
  new MutationObserver(() => window.__states.push([el.dataset.state, el.textContent]))
    .observe(el, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


def test_save_states_are_calm_and_offline_counts_down(phone, seed, sit, shot):
    expect = _expect()
    data = seed()
    single, multiple, tf, fill = data.item_ids
    page = phone
    page.clock.install()  # runs in step with real time until fast-forwarded below
    sit.open_paper(page, data)
    status = page.locator("#save-status")
    saved_text = re.compile(r"^已保存 \d\d:\d\d:\d\d$")
    page.evaluate(SEEN_STATES)
    page.check(f"#q-{single} input[value=B]")
    page.fill(f"#q-{fill} input[data-blank='0']", "留置")
    expect(status).to_have_attribute("data-state", "saved")
    expect(status).to_have_text(saved_text)
    seen = page.evaluate("window.__states")
    assert {s for s, _ in seen} == {"saving", "saved"}, seen  # no red flash on a tap
    assert "保存中…" in [t for _, t in seen]

    # offline: amber, the answers are on the phone, and the next try counts down
    page.context.set_offline(True)
    page.evaluate(SEEN_STATES)
    page.check(f"#q-{tf} input[value=true]")
    expect(status).to_have_attribute("data-state", "offline")
    expect(status).to_contain_text("网络已断开，答案已保存在本机，恢复后自动上传")
    expect(status).to_contain_text(re.compile(r"\d+ 秒后重试"))
    # a live countdown: some reading N (N >= 2) is followed by N - 1 within one wait
    page.wait_for_function(
        """() => {
          const n = window.__states.map(([, t]) => (t.match(/(\\d+) 秒后重试/) || [])[1])
                                      .map(Number);
          return n.some((v, i) => v >= 2 && n[i + 1] === v - 1);
        }""",
        timeout=30000,
    )
    assert "unsaved" not in {s for s, _ in page.evaluate("window.__states")}
    pending = json.loads(page.evaluate(LOCAL_QUEUE))
    assert pending[str(tf)]["answer"] is True  # kept on the phone, as the message says
    expect(page.locator("#net-announcer")).to_contain_text("网络已断开")
    shot(page, "phone-offline")
    _, answers = sit.attempt(data)
    assert tf not in answers
    # red only once the failure persists: a minute later the same message turns red
    page.clock.fast_forward(61_000)
    expect(status).to_have_attribute("data-state", "unsaved")
    expect(status).to_contain_text("网络已断开，答案已保存在本机，恢复后自动上传")
    shot(page, "phone-offline-a-minute-later")

    page.context.set_offline(False)
    expect(status).to_have_attribute("data-state", "saved", timeout=30000)
    expect(status).to_have_text(saved_text)
    expect(page.locator("#net-announcer")).to_have_text("网络已恢复，答案已全部上传。")
    _, answers = sit.attempt(data)
    assert answers[tf] is True
    assert json.loads(page.evaluate(LOCAL_QUEUE)) == {}


REFUSED = json.dumps({"ok": False, "error": {"message": "请先登录。"}})


def test_refused_credentials_are_red_at_once_and_local_answers_survive_a_reload(
    phone, seed, sit, shot
):
    """A failure retrying cannot fix (the server refuses the credentials) turns red at
    once; the answer waits in localStorage and reaches the server from the reloaded page.
    The refusal is simulated for every save request, whatever route the save takes."""
    expect = _expect()
    data = seed()
    _single, _multiple, tf, _fill = data.item_ids
    page = phone
    sit.open_paper(page, data)

    def refuse_saves(route):
        if route.request.method == "PUT":
            route.fulfill(status=401, content_type="application/json", body=REFUSED)
        else:
            route.continue_()

    page.route("**/*", refuse_saves)
    page.check(f"#q-{tf} input[value=false]")
    status = page.locator("#save-status")
    expect(status).to_have_attribute("data-state", "unsaved")
    expect(status).to_contain_text("登录已失效，答案已保存在本机；请刷新页面并重新登录")
    expect(status).not_to_contain_text("秒后重试")  # retrying alone cannot fix this
    shot(page, "phone-session-lost")
    _, answers = sit.attempt(data)
    assert answers == {}
    assert json.loads(page.evaluate(LOCAL_QUEUE))[str(tf)]["answer"] is False

    page.unroute("**/*", refuse_saves)
    page.reload()
    expect(page.locator(f"#q-{tf} input[value=false]")).to_be_checked()
    expect(status).to_have_attribute("data-state", "saved")
    _, answers = sit.attempt(data)
    assert answers == {tf: False}


def _set_deadline(live_server, data, sit, seconds):
    from exam.models import Attempt

    attempt, _ = sit.attempt(data)
    with live_server.factory.begin() as s:
        s.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id)
            .values(deadline_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))
        )


def test_time_warnings_sit_in_the_sticky_bar(phone, seed, sit, live_server, shot):
    expect = _expect()
    data = seed(questions=20)
    ids, page = data.item_ids, phone
    sit.open_paper(page, data)
    warning = page.locator("#exam-bar #warning")
    assert warning.get_attribute("role") == "alert"  # a live region: read aloud
    assert warning.bounding_box()["height"] <= 1  # empty: takes no room in the bar

    _set_deadline(live_server, data, sit, 270)
    page.reload()
    page.wait_for_selector("#questions .question")
    expect(warning).to_have_text("注意：剩余时间不足 5 分钟。")
    scroll_to_question(page, ids[15])
    ok, box = in_viewport(page, "#exam-bar #warning")
    assert ok and box["y"] < 200, f"the warning is not in the sticky bar on screen: {box}"
    expect(page.locator("#countdown")).to_have_class(re.compile(r"\blow\b"))
    shot(page, "phone-five-minute-warning")
    # a jump still lands below the (now taller) bar
    page.click("#open-card")
    page.click(f"#card-groups button[data-qid='{ids[3]}']")
    assert_below_bar(page, ids[3])

    _set_deadline(live_server, data, sit, 50)
    page.reload()
    page.wait_for_selector("#questions .question")
    expect(warning).to_have_text(re.compile("剩余时间不足 1 分钟"))


def test_large_text_toggle_is_pressed_remembered_and_grows_headings(phone, seed, sit, shot):
    expect = _expect()
    data = seed(questions=8)
    page = phone
    sit.open_paper(page, data)
    toggle = page.locator("#toggle-large")
    size = "(e) => parseFloat(getComputedStyle(e).fontSize)"
    measured = [
        "#questions .stem >> nth=0",
        ".section-title >> nth=0",
        ".question h3 >> nth=0",
        ".paper-title",
        "#countdown",
    ]
    before = [page.locator(s).evaluate(size) for s in measured]
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    after = [page.locator(s).evaluate(size) for s in measured]
    for sel, b, a in zip(measured, before, after, strict=True):
        assert a >= b * 1.2, f"{sel}: {b}px → {a}px"
    shot(page, "phone-large-text")
    page.reload()
    page.wait_for_selector("#questions .question")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.locator(measured[0]).evaluate(size) == after[0]
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.locator(measured[0]).evaluate(size) == before[0]


TAP_TARGETS = """(scope) => {
  const small = [];
  const root = document.querySelector(scope);
  root.querySelectorAll('button, a[href], label.choice, input[type=text]').forEach((e) => {
    const r = e.getBoundingClientRect();
    if (!r.width && !r.height) return;  // not rendered
    if (e.closest('[hidden]') || getComputedStyle(e).visibility === 'hidden') return;
    if (r.height < 44 || r.width < 44)
      small.push(`${e.tagName}#${e.id}.${e.className} "${e.textContent.trim().slice(0, 12)}" ` +
                 `${Math.round(r.width)}x${Math.round(r.height)}`);
  });
  return small;
}"""


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-text"])
def test_every_tap_target_is_at_least_44px(phone, seed, sit, large):
    expect = _expect()
    data = seed(questions=12)
    ids, page = data.item_ids, phone
    sit.open_paper(page, data)
    if large:
        page.click("#toggle-large")
    page.click(f"#q-{ids[1]} .flag")
    assert page.evaluate(TAP_TARGETS, "#exam-app") == []
    page.click("#open-card")
    expect(page.locator("#card-dialog")).to_be_visible()
    assert page.evaluate(TAP_TARGETS, "#card-dialog") == []
    page.click("#card-close")
    page.click("#submit-exam")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    assert page.evaluate(TAP_TARGETS, "#confirm-dialog") == []


def test_paper_works_under_a_csp_without_inline_script(phone, seed, sit, live_server):
    """The CSP a later change adds: the paper page must need no inline script or inline
    event handler (base.html's own small inline script is not the paper's)."""
    expect = _expect()
    data = seed()
    single, *_ = data.item_ids
    page = phone
    csp = "script-src 'self'; script-src-attr 'none'"

    def with_csp(route):
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": csp}
        )

    page.route(re.compile(r"/exam/attempt/\d+$"), with_csp)
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation', "
        "(e) => window.__csp.push([e.effectiveDirective, e.sourceFile, e.lineNumber]));"
    )
    sit.open_paper(page, data)
    assert (
        page.evaluate("document.querySelectorAll('#exam-app script, #exam-app [onclick]').length")
        == 0
    )
    page.check(f"#q-{single} input[value=B]")
    sit.wait_saved(page)
    page.click("#open-card")
    expect(page.locator("#card-dialog")).to_be_visible()
    violations = page.evaluate("window.__csp")
    # no page has an inline script any more (base.html's moved to static/app.js)
    assert violations == [], violations
    _, answers = sit.attempt(data)
    assert answers == {single: "B"}
