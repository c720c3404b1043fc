from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import func, select

from question_bank.models import Question, QuestionVersion

from .conftest import SUPERVISION, needs_law, xlsx
from .test_importer import BAD


def _admin(make_person, login, role="analyst"):
    person = make_person(password="Passw0rd!", roles=(role,))
    return login(person.person_no)


def test_candidates_and_anonymous_are_kept_out(client, make_person, login):
    assert client.get("/bank/").status_code == 302
    person = make_person(password="Passw0rd!")
    login(person.person_no)
    assert client.get("/bank/").status_code == 403


def test_search_view_edit_retire(client, session, make_person, login, make_question):
    token = _admin(make_person, login)
    v = make_question(stem="国家工作人员<script>利用职务便利（ ）", knowledge_points=["受贿罪"])
    other = make_question(type="true_false", source="supervision_law", article_key="3")
    page = client.get("/bank/?source=criminal_law&kp=受贿罪")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and v.question.code in html and other.question.code not in html
    assert "<script>利用" not in html and "&lt;script&gt;" in html
    assert client.get("/bank/?difficulty=9").status_code == 422
    code = v.question.code
    assert client.get(f"/bank/q/{code}").status_code == 200
    form = client.get(f"/bank/q/{code}/edit").get_data(as_text=True)
    assert 'name="csrf_token"' in form
    values = {
        "csrf_token": token,
        "题型": "单选",
        "题干": "新的题干（ ）",
        "选项A": "甲",
        "选项B": "乙",
        "答案": "B",
        "解析": "新解析",
        "难度": "4",
        "知识点": "受贿罪",
        "出处": "刑法",
        "条款": "第三百八十五条",
        "适用层级": "全部",
        "状态": "启用",
        "note": "改写",
    }
    bad = client.post(f"/bank/q/{code}/edit", data=values | {"答案": "E"})
    assert bad.status_code == 422 and "答案 E 不在选项中" in bad.get_data(as_text=True)
    resp = client.post(f"/bank/q/{code}/edit", data=values)
    assert resp.status_code == 302
    session.expire_all()
    versions = session.scalars(
        select(QuestionVersion)
        .where(QuestionVersion.question_id == v.question_id)
        .order_by(QuestionVersion.version)
    ).all()
    assert [(x.version, x.is_current) for x in versions] == [(1, False), (2, True)]
    assert versions[1].stem == "新的题干（ ）" and versions[1].answer == "B"
    history = client.get(f"/bank/q/{code}").get_data(as_text=True)
    assert "第 2 版" in history and "改写" in history
    assert client.get(f"/bank/q/{code}/v/1").status_code == 200
    assert client.post(f"/bank/q/{code}/retire", data={"csrf_token": token}).status_code == 302
    assert session.get(Question, v.question_id).status == "retired"
    assert client.post(f"/bank/q/{code}/retire", data={}).status_code == 400  # CSRF
    assert client.get("/bank/q/Q999999").status_code == 404


def test_new_question_page(client, session, make_person, login):
    token = _admin(make_person, login, role="admin")
    assert client.get("/bank/new").status_code == 200
    resp = client.post(
        "/bank/new",
        data={
            "csrf_token": token,
            "题型": "判断",
            "题干": "这是判断题。",
            "答案": "对",
            "出处": "党章",
            "条款": "总纲",
        },
    )
    assert resp.status_code == 302
    assert session.scalar(select(func.count()).select_from(Question)) == 1


def test_upload_page_rejects_bad_workbook_and_imports_good(client, session, make_person, login):
    token = _admin(make_person, login)
    assert client.get("/bank/import").status_code == 200
    resp = client.post(
        "/bank/import",
        data={"csrf_token": token, "file": (io.BytesIO(xlsx({"试题": BAD})), "bad.xlsx")},
        content_type="multipart/form-data",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "缺少题干" in html and "与第 3 行重复" in html
    assert session.scalar(select(func.count()).select_from(Question)) == 0
    resp = client.post(
        "/bank/import",
        data={
            "csrf_token": token,
            "skip_invalid": "1",
            "file": (io.BytesIO(xlsx({"试题": BAD})), "bad.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200 and "已导入" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Question)) > 0
    export = client.get("/bank/export.xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    assert client.get("/bank/stats").status_code == 200


@needs_law
def test_question_view_shows_article_text_and_law_coverage(
    client, session, make_person, login, make_question, import_statute
):
    _admin(make_person, login)
    import_statute(SUPERVISION, revision=dt.date(2024, 12, 25))
    v = make_question(source="supervision_law", article_key="3")
    html = client.get(f"/bank/q/{v.question.code}").get_data(as_text=True)
    assert "各级监察委员会是行使国家监察职能的专责机关" in html
    html = client.get("/bank/laws/supervision_law").get_data(as_text=True)
    assert "第七十八条" in html and v.question.code in html
    assert "1 条有试题引用" in html
    assert client.get("/bank/laws").status_code == 200
    assert client.get("/bank/laws/nope").status_code == 404
