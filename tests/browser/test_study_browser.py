"""A candidate on a phone practises criminal-law questions, sees each explanation with
the article's text, and meets yesterday's mistake again in 每日一练 (time passed in:
the mistake is made through the service with yesterday's clock)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

NOTES = Path("/work/notes/screenshots")
_n = itertools.count(1)

LAW = """第二编　分则
第八章　贪污贿赂罪
第三百八十二条　国家工作人员利用职务上的便利，侵吞、窃取、骗取或者以其他手段非法占有公共财物的，是贪污罪。
第三百八十五条　国家工作人员利用职务上的便利，索取他人财物的，或者非法收受他人财物，为他人谋取利益的，是受贿罪。
第三百八十九条　为谋取不正当利益，给予国家工作人员以财物的，是行贿罪。
"""


def _save(page, name, shot):
    path = shot(page, f"issue16-{name}", full_page=True)
    if NOTES.parent.exists():
        NOTES.mkdir(exist_ok=True)
        (NOTES / path.name).write_bytes(path.read_bytes())


@pytest.fixture
def study_world(live_server):
    """A learner, the criminal law's text, six criminal-law questions and one of the
    supervision law; the learner got one criminal-law question wrong yesterday."""
    from core.accounts.services import ensure_account, set_password
    from core.audit import SYSTEM
    from core.org.models import OrgUnit, Person
    from question_bank.importer import write_questions
    from question_bank.law import import_law
    from question_bank.rows import QuestionData
    from question_bank.sources import ensure_default_sources
    from study import practice

    n = next(_n)
    now = dt.datetime.now(dt.UTC)
    with live_server.factory.begin() as s:
        unit = OrgUnit(code=f"ST{n}", name=f"学习测试单位{n}", kind="town", path="/")
        s.add(unit)
        s.flush()
        unit.path = f"/{unit.id}/"
        person = Person(person_no=f"ST{n:04d}", name=f"学员{n}", unit=unit, rank="township")
        s.add(person)
        s.flush()
        set_password(s, ensure_account(s, person), PASSWORD)
        sources = ensure_default_sources(s)
        crim, sup = sources["criminal_law"], sources["supervision_law"]
        if n == 1:  # the module's server is shared: the first test imports the text
            import_law(s, "criminal_law", dt.date(2023, 12, 29), LAW.encode(), filename="c.md",
                       actor=SYSTEM)  # fmt: skip
        opts = [{"key": k, "text": t} for k, t in zip("ABCD", ["贪污罪", "受贿罪", "行贿罪", "挪用公款罪"], strict=True)]  # fmt: skip
        items = [
            QuestionData(type="single", stem=f"（{n}-{i}）国家工作人员利用职务上的便利，索取他人财物的，构成（　）。",
                         options=opts, answer="B", explanation="索取他人财物的，不论是否为他人谋取利益，均构成受贿罪。",
                         knowledge_points=["受贿罪"], citations=[(crim.id, "385")])
            for i in range(5)
        ] + [
            QuestionData(type="true_false", stem=f"（{n}）为谋取不正当利益，给予国家工作人员以财物的，是行贿罪。",
                         options=[], answer=True, explanation="见刑法第三百八十九条。",
                         citations=[(crim.id, "389")]),
            QuestionData(type="true_false", stem=f"（{n}）监察机关可以对涉嫌职务违法的人员采取留置措施。",
                         options=[], answer=True, explanation="", citations=[(sup.id, "22")]),
        ]  # fmt: skip
        codes = write_questions(s, items, actor=SYSTEM)
        # yesterday: one criminal-law question answered wrong
        yesterday = now - dt.timedelta(days=1, hours=1)
        row = practice.start_session(
            s, person.id, practice.PracticeRequest(knowledge_point="受贿罪", size=1),
            now=yesterday, seed=5,
        )  # fmt: skip
        mistake_qid = row.question_ids[0]
        practice.answer(s, person.id, row.id, mistake_qid, {"answer": "A"}, now=yesterday)
        from question_bank.models import Question

        mistake_code = s.get(Question, mistake_qid).code
        return {"person_no": person.person_no, "codes": codes, "mistake": mistake_code}


def _login(page, live_server, person_no):
    page.goto(live_server.url + "/login")
    page.fill("input[name=person_no]", person_no)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_load_state()


def test_phone_practises_criminal_law_and_meets_yesterdays_mistake(
    phone, live_server, study_world, shot
):
    page = phone
    _login(page, live_server, study_world["person_no"])
    page.goto(live_server.url + "/study/")
    assert page.viewport_size["width"] == 390
    assert "今天有 1 道错题到期" in page.inner_text("main")
    _save(page, "study-home", shot)
    # fits the phone: nothing wider than the viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.select_option("select[name=source]", "criminal_law")
    page.select_option("select[name=knowledge_point]", "受贿罪")  # the single-choice ones
    page.select_option("select[name=size]", "5")
    page.click("text=开始练习")
    page.wait_for_url(re.compile(r"/study/s/\d+/1$"))
    assert "第 1 / 5 题" in page.inner_text(".study-bar")
    # a wrong answer: verdict, key, explanation and the article's text at once
    page.click("label.choice:has-text('贪污罪')")
    _save(page, "question", shot)
    page.click("text=提交答案")
    page.wait_for_selector("#feedback")
    feedback = page.inner_text("#feedback")
    assert "回答错误" in feedback and "正确答案：B" in feedback
    assert "均构成受贿罪" in feedback
    assert "中华人民共和国刑法 第三百八十五条" in feedback and "是受贿罪" in feedback
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _save(page, "feedback-wrong", shot)
    # the next one right
    page.click("text=下一题")
    page.wait_for_url(re.compile(r"/2$"))
    page.click("label.choice:has-text('受贿罪')")
    page.click("text=提交答案")
    page.wait_for_selector("#feedback.right")
    assert "回答正确" in page.inner_text("#feedback")
    _save(page, "feedback-right", shot)
    # the notebook holds yesterday's mistake (due) and today's (due tomorrow)
    page.goto(live_server.url + "/study/mistakes")
    assert "今天应复习" in page.inner_text("main")
    _save(page, "mistakes", shot)
    # 每日一练 opens with yesterday's mistake
    page.goto(live_server.url + "/study/")
    page.click("text=开始每日一练")
    page.wait_for_url(re.compile(r"/study/s/\d+/1$"))
    assert "每日一练" in page.inner_text(".study-bar")
    assert study_world["mistake"] in page.inner_text(".q-head")
    _save(page, "daily", shot)
    # the law reader: the article with the questions citing it, without their keys
    page.goto(live_server.url + "/study/laws/criminal_law/385")
    text = page.inner_text("main")
    assert "是受贿罪" in text and "引用本条的练习题" in text and "正确答案" not in text
    _save(page, "article", shot)
    page.goto(live_server.url + "/study/progress")
    assert "中华人民共和国刑法" in page.inner_text("main")
    _save(page, "progress", shot)
