"""Records that tell the truth (issue 11.4) and results and review (issue 12.2): how an
attempt ended, the review policies and 公布答案, the result page's breakdown, the review
page's marks and 只看错题 filter, the score sheet and the lobby's past scores."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from core.accounts.scope import CONSOLE
from core.audit import AuditEntry
from core.errors import Conflict
from exam.admin.exams import release_review
from exam.models import Attempt
from exam.runner.submit import submission_reason
from question_bank import kinds
from question_bank.kinds.base import ItemKey
from tests.conftest import NOW
from tests.runner.conftest import PASSWORD


def _start(client, exam_id, token):
    return client.post(
        f"/api/v1/exams/{exam_id}/attempts", json={}, headers={"X-CSRF-Token": token}
    )


def _save(client, aid, item_id, answer, seq, token):
    return client.put(
        f"/api/v1/attempts/{aid}/answers/{item_id}",
        json={"answer": answer, "seq": seq},
        headers={"X-CSRF-Token": token},
    )


def _submit(client, aid, token, **body):
    return client.post(
        f"/api/v1/attempts/{aid}/submit", json=body or None, headers={"X-CSRF-Token": token}
    )


def _sit(client, login, build_sitting, person=None, **exam_fields):
    """A sitting with its attempt started; answers: single right (B), multiple wrong,
    true/false right, fill-in half right."""
    s = build_sitting(person=person, **exam_fields)
    s.token = login(s.person.person_no, PASSWORD)
    s.aid = _start(client, s.exam.id, s.token).get_json()["attempt_id"]
    answers = {
        "single": "B",  # authored A: right
        "multiple": ["A", "B"],  # authored B, A: wrong (key B, D)
        "true_false": True,  # right
        "fill_blank": ["留置措施", "三日"],  # first right, second wrong
    }
    for seq, (typ, answer) in enumerate(answers.items(), start=1):
        assert _save(client, s.aid, s.items[typ].id, answer, seq, s.token).status_code == 200
    return s


# ---------------------------------------------------------------- 11.4 how it ended


def test_submission_reason_believes_the_clock_not_the_claim():
    deadline = NOW + dt.timedelta(minutes=30)
    assert submission_reason(deadline, deadline - dt.timedelta(minutes=10)) == "candidate"
    # the page says its countdown hit zero: believed only near the deadline
    assert (
        submission_reason(deadline, deadline - dt.timedelta(minutes=10), "timeout") == "candidate"
    )
    assert submission_reason(deadline, deadline - dt.timedelta(seconds=2), "timeout") == "timeout"
    assert submission_reason(deadline, deadline - dt.timedelta(seconds=2)) == "candidate"
    # at or after the deadline (in the grace period) it is a time-out, whatever is said
    assert submission_reason(deadline, deadline) == "timeout"
    assert (
        submission_reason(deadline, deadline + dt.timedelta(seconds=20), "candidate") == "timeout"
    )


def test_page_submission_at_zero_is_stored_as_timeout(client, login, build_sitting, clock, session):
    s = _sit(client, login, build_sitting)
    deadline = session.get(Attempt, s.aid).deadline_at
    clock.now = deadline - dt.timedelta(seconds=1)  # the page's clock ran a second ahead
    body = _submit(client, s.aid, s.token, reason="timeout").get_json()
    assert body["submitted_by"] == "timeout"
    attempt = session.get(Attempt, s.aid)
    session.refresh(attempt)
    assert attempt.submitted_by == "timeout"
    html = client.get(f"/exam/attempt/{s.aid}/result").get_data(as_text=True)
    assert "作答时间到，系统已自动交卷" in html


def test_candidate_submission_says_so(client, login, build_sitting, clock):
    s = _sit(client, login, build_sitting)
    body = _submit(client, s.aid, s.token, reason="timeout").get_json()  # 29 minutes left
    assert body["submitted_by"] == "candidate"
    html = client.get(f"/exam/attempt/{s.aid}/result").get_data(as_text=True)
    assert "作答时间到" not in html and "已交卷" in html


def test_lazy_finalisation_is_timeout_on_the_result_page(client, login, build_sitting, clock):
    s = _sit(client, login, build_sitting)
    clock.advance(minutes=45)  # past deadline and grace: finalised on access
    html = client.get(f"/exam/attempt/{s.aid}/result").get_data(as_text=True)
    assert "作答时间到，系统已自动交卷" in html
    assert "30 分 00 秒" in html  # time used stops at the deadline


# ---------------------------------------------------------------- 12.2 policies


def test_after_submit_shows_explanations_the_moment_of_submission(
    client, login, build_sitting, clock
):
    s = _sit(client, login, build_sitting, review_policy="after_submit")
    page = client.get(f"/exam/attempt/{s.aid}/result").get_data(as_text=True)
    assert "查看答案与解析" not in page  # not yet submitted: redirected to the paper
    assert _submit(client, s.aid, s.token).get_json()["review_available"] is True
    review = client.get(f"/exam/attempt/{s.aid}/review")
    assert review.status_code == 200 and "解析甲机密" in review.get_data(as_text=True)


def test_after_submit_waits_while_attempts_are_left(client, login, build_sitting, clock):
    s = _sit(client, login, build_sitting, review_policy="after_submit", max_attempts=2)
    assert _submit(client, s.aid, s.token).get_json()["review_available"] is False
    page = client.get(f"/exam/attempt/{s.aid}/review")
    assert page.status_code == 403 and "解析甲机密" not in page.get_data(as_text=True)
    second = _start(client, s.exam.id, s.token).get_json()["attempt_id"]
    assert _submit(client, second, s.token).get_json()["review_available"] is True


def test_after_close_opens_when_the_exam_is_closed_early(
    client, login, build_sitting, clock, session
):
    s = _sit(client, login, build_sitting, review_policy="after_close")
    _submit(client, s.aid, s.token)
    assert client.get(f"/exam/attempt/{s.aid}/review").status_code == 403
    s.exam.status = "closed"  # closed before the scheduled close
    session.flush()
    assert client.get(f"/exam/attempt/{s.aid}/review").status_code == 200


@pytest.mark.parametrize("policy", ["manual", "none"])
def test_release_by_hand_opens_at_once_and_is_audited(
    client, login, build_sitting, clock, session, policy
):
    s = _sit(client, login, build_sitting, review_policy=policy)
    with pytest.raises(Conflict, match="正在作答"):  # the key would reach a sitting candidate
        release_review(session, s.exam, scope=CONSOLE, actor=None, now=clock.now)
    _submit(client, s.aid, s.token)
    clock.now = s.exam.closes_at + dt.timedelta(days=1)  # the close alone never opens it
    result = client.get(f"/exam/attempt/{s.aid}/result").get_data(as_text=True)
    assert "查看答案与解析" not in result
    assert client.get(f"/exam/attempt/{s.aid}/review").status_code == 403
    release_review(session, s.exam, scope=CONSOLE, actor=None, now=clock.now)
    with pytest.raises(Conflict):
        release_review(session, s.exam, scope=CONSOLE, actor=None, now=clock.now)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "exam.release_review"))
    assert entry.entity_id == str(s.exam.id) and entry.after["review_released_at"]
    assert client.get(f"/exam/attempt/{s.aid}/review").status_code == 200


def test_release_from_the_admin_page_and_cli(client, login, build_sitting, clock, session, runner):
    from core.accounts.services import ensure_account, grant_role, set_password

    s = build_sitting(review_policy="manual")
    admin = s.person
    account = ensure_account(session, admin)
    set_password(session, account, PASSWORD)
    grant_role(session, account, "admin")
    session.flush()
    token = login(admin.person_no, PASSWORD)
    resp = client.post(f"/admin/exams/{s.exam.id}/release-review", data={"csrf_token": token})
    assert resp.status_code == 302
    session.refresh(s.exam)
    assert s.exam.review_released_at is not None
    other = build_sitting(person=admin, review_policy="manual")
    out = runner.invoke(["exam", "release-review", str(other.exam.id)])
    assert out.exit_code == 0 and "已公布答案" in out.output
    session.expire_all()
    assert session.get(type(other.exam), other.exam.id).review_released_at is not None


# ---------------------------------------------------------------- 12.2 pages


def test_result_page_breakdown_pass_line_and_time_used(client, login, build_sitting, clock):
    s = _sit(client, login, build_sitting)
    clock.advance(minutes=12, seconds=5)
    _submit(client, s.aid, s.token)
    html = client.get(f"/exam/attempt/{s.aid}/result").get_data(as_text=True)
    # 10 + 0 + 10 + 5 of 40; the blueprint's pass line is 60
    assert re.search(r'id="score">25</strong> / 40', html)
    assert "及格线：60 分" in html and "不合格" in html
    assert "12 分 05 秒" in html and "限时 30 分 00 秒" in html
    assert "按法规" in html and "刑法" in html
    for label, cells in (("单选", "10 / 10"), ("多选", "0 / 10"), ("填空", "5 / 10")):
        assert re.search(
            rf"<th scope=\"row\">{label}</th><td>1</td><td>\d</td>\s*<td>{cells}</td>", html
        )
    assert "解析甲机密" not in html and "留置" not in html  # marks, never the key


def test_review_marks_options_with_text_and_filters_wrong(client, login, build_sitting, clock):
    s = _sit(client, login, build_sitting, review_policy="after_submit")
    _submit(client, s.aid, s.token)
    html = client.get(f"/exam/attempt/{s.aid}/review").get_data(as_text=True)
    assert "A. A." not in html and "A. 选项" not in html.replace("A.</span> 选项", "")
    multiple = html[html.index('id="r-2"') : html.index('id="r-3"')]
    items = re.findall(r"<li class=\"([^\"]*)\">(.*?)</li>", multiple, re.S)
    marks = {
        re.search(r'opt-key">(\w)\.', body).group(1): (
            "您的选择" in body,
            "正确答案" in body,
            "✗ 您的选择" in body,
        )
        for _, body in items
    }
    # displayed A, B chosen; displayed B, D correct
    assert marks == {
        "A": (True, False, True),
        "B": (True, True, False),
        "C": (False, False, False),
        "D": (False, True, False),
    }
    fill = html[html.index('id="r-4"') :]
    assert "第 1 空" in fill and "✓ 正确" in fill and "✗ 不正确" in fill
    wrong = client.get(f"/exam/attempt/{s.aid}/review?only=wrong").get_data(as_text=True)
    shown = re.findall(r'id="r-(\d+)"', wrong)
    assert shown == ["2", "4"]  # the multiple choice and the half-right fill-in
    assert "只看错题（2）" in wrong


def test_score_sheet_and_lobby_history(client, login, build_sitting, clock):
    s = _sit(client, login, build_sitting)
    _submit(client, s.aid, s.token)
    sheet = client.get(f"/exam/attempt/{s.aid}/score-sheet")
    html = sheet.get_data(as_text=True)
    assert sheet.status_code == 200
    assert "成绩单" in html and s.person.name in html and s.person.person_no in html
    assert 'id="sheet-score">25</strong>' in html and "不合格" in html
    lobby = client.get("/exam/").get_data(as_text=True)
    assert "历次成绩" in lobby and "25 / 40" in lobby
    api = client.get("/api/v1/exams").get_json()["exams"][0]
    assert api["history"][0]["score"] == 25


def test_score_sheet_and_history_follow_the_result_policy(client, login, build_sitting, clock):
    s = _sit(client, login, build_sitting, result_policy="hidden")
    _submit(client, s.aid, s.token)
    assert client.get(f"/exam/attempt/{s.aid}/score-sheet").status_code == 403
    lobby = client.get("/exam/").get_data(as_text=True)
    assert "成绩未公布" in lobby and "25 / 40" not in lobby
    assert "score" not in client.get("/api/v1/exams").get_json()["exams"][0]["history"][0]


# ---------------------------------------------------------------- kinds


def test_every_kind_gives_a_review_view():
    single = ItemKey("single", "A", 10, ("C", "A", "D", "B"), ("A", "B", "C", "D"))
    options = [{"key": k, "text": f"t{k}"} for k in "ABCD"]
    view = kinds.get("single").review(None, single, options)
    assert [(c.key, c.chosen, c.correct) for c in view.choices] == [
        ("A", False, False), ("B", False, True), ("C", False, False), ("D", False, False),
    ]  # fmt: skip
    assert (view.response_text, view.key_text) == ("未作答", "B")
    tf = kinds.get("true_false").review(False, ItemKey("true_false", True, 5), [])
    assert [(c.text, c.chosen, c.correct) for c in tf.choices] == [
        ("正确", False, True), ("错误", True, False),
    ]  # fmt: skip
    fill = kinds.get("fill_blank").review(
        [" 留置 ", None], ItemKey("fill_blank", [["留置"], ["十日"]], 10), []
    )
    assert [(b.given, b.ok) for b in fill.blanks] == [(" 留置 ", True), ("", False)]


def test_admin_prints_a_candidates_score_sheet_within_scope(
    client, login, build_sitting, clock, session, make_person, make_unit
):
    from core.accounts.services import ensure_account, grant_role

    s = _sit(client, login, build_sitting, result_policy="hidden")
    _submit(client, s.aid, s.token)
    client.post("/logout", data={"csrf_token": s.token})
    url = f"/admin/exams/{s.exam.id}/score-sheet/{s.person.person_no}"

    def staff(role, unit=None):
        person = make_person(password=PASSWORD)
        grant_role(session, ensure_account(session, person), role, unit)
        session.flush()
        return person

    outsider = staff("unit_admin", make_unit())
    login(outsider.person_no, PASSWORD)
    assert client.get(url).status_code == 404  # not in their subtree
    admin = staff("admin")
    login(admin.person_no, PASSWORD)
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200  # staff see it whatever the candidate's result policy
    assert s.person.name in html and 'id="sheet-score">25</strong>' in html
    results = client.get(f"/admin/exams/{s.exam.id}/results").get_data(as_text=True)
    assert url in results


def test_results_and_their_workbook_say_how_each_attempt_ended(
    client, login, build_sitting, clock, session
):
    import io

    from openpyxl import load_workbook

    from core.excel import workbook_bytes
    from exam.admin import results

    s = _sit(client, login, build_sitting)
    clock.advance(minutes=45)
    client.get(f"/exam/attempt/{s.aid}/result")  # finalised on access: a time-out
    data = results.results(session, s.exam, scope=CONSOLE)
    assert data["rows"][0]["ended_by"] == "作答时间到，系统自动交卷"
    wb = load_workbook(io.BytesIO(workbook_bytes(results.results_sheets(s.exam, data))))
    sheet = wb["考生成绩"]
    header = [c.value for c in sheet[1]]
    assert (
        header[-1] == "交卷方式" and sheet.cell(2, len(header)).value == "作答时间到，系统自动交卷"
    )
