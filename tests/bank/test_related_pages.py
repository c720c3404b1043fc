"""Bank pages: /bank/related lists the pairs with their reason, /bank/lint names the
questions with cues; both linked from the bank's navigation; the edit page sets the
exclusion group (互斥组) and synonyms (同义答案)."""

from __future__ import annotations

from question_bank.services import get_question

from .conftest import xlsx
from .test_related_store import ROWS


def test_related_and_lint_pages(client, session, make_person, login, import_bytes):
    person = make_person(password="Passw0rd!", roles=("analyst",))
    token = login(person.person_no)
    report = import_bytes(xlsx({"题库": ROWS}))
    q1, q2, q3, q4, q5 = report.codes
    index = client.get("/bank/").get_data(as_text=True)
    assert 'href="/bank/related"' in index and 'href="/bank/lint"' in index
    page = client.get("/bank/related")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert q1 in html and q2 in html and "题干或选项含另一题的答案" in html
    assert "同一互斥组" in html and "留置组" in html
    only = client.get(f"/bank/related?reason=exclusion_group&code={q3}").get_data(as_text=True)
    assert q4 in only and q1 not in only
    assert client.get("/bank/related?reason=nonsense").status_code == 422
    view = client.get(f"/bank/q/{q1}").get_data(as_text=True)
    assert "关联题（不会同卷）" in view and q2 in view
    lint = client.get("/bank/lint")
    assert lint.status_code == 200 and "答案提示检查" in lint.get_data(as_text=True)
    # the edit form carries 互斥组 and 同义答案; setting them on q5 is saved
    form = client.get(f"/bank/q/{q5}/edit").get_data(as_text=True)
    assert 'name="互斥组"' in form and 'name="同义答案"' in form
    values = {
        "csrf_token": token,
        "题型": "单选",
        "题干": "无关的题目（ ）",
        "选项A": "甲",
        "选项B": "乙",
        "答案": "A",
        "难度": "2",
        "出处": "党章",
        "适用层级": "全部",
        "状态": "启用",
        "互斥组": "留置组",
    }
    assert client.post(f"/bank/q/{q5}/edit", data=values).status_code == 302
    session.expire_all()
    assert get_question(session, q5).exclusion_group == "留置组"
    assert q5 in client.get(f"/bank/related?code={q3}").get_data(as_text=True)
    bad = client.post(f"/bank/q/{q5}/edit", data=values | {"同义答案": "甲=乙"})
    assert bad.status_code == 422 and "只有填空题可以设同义答案" in bad.get_data(as_text=True)


def test_lint_page_names_questions_with_cues(client, session, make_person, login, import_bytes):
    person = make_person(password="Passw0rd!", roles=("admin",))
    login(person.person_no)
    rows = [ROWS[0]]
    for n in range(12):  # true/false with absolute words, all false: a cue
        rows.append(
            ["判断", f"党员一律不得从事第{n + 1}种活动。", None, None, None, None, None, None,
             None, None, "错", "错误。", 2, None, "党章", None, "全部", "启用", None, None]
        )  # fmt: skip
    report = import_bytes(xlsx({"题库": rows}))
    html = client.get("/bank/lint").get_data(as_text=True)
    assert "绝对化词语提示答案" in html
    assert all(f'href="/bank/q/{c}"' in html for c in report.codes)
