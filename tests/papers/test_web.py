"""Blueprint pages: the form with sections and quotas, validation messages, versions,
copies, pool check; answer-sheet upload through the page."""

from __future__ import annotations

from sqlalchemy import select

from exam.models import Blueprint

PASSWORD = "Passw0rd!"


def _form(**changes):
    form = {
        "code": "web-bp",
        "name": "网页规则",
        "tier": "township",
        "pass_mark": "30",
        "target_difficulty": "3",
        "difficulty_tolerance": "0.5",
        "count_single": "4",
        "points_single": "5",
        "count_multiple": "2",
        "points_multiple": "5",
        "policy_multiple": "partial",
        "partial_fraction": "0.5",
        "count_true_false": "2",
        "points_true_false": "5",
        "count_fill_blank": "2",
        "points_fill_blank": "5",
        "share_criminal_law": "50",
        "share_supervision_law": "50",
        "band_easy": "40",
        "band_medium": "20",
        "band_hard": "40",
        "required_knowledge_points": "",
    }
    form.update(changes)
    return form


def test_blueprint_form_validates_and_versions(client, login, session, sources, make_person, bank):
    make_person(person_no="AN1", password=PASSWORD, roles=("analyst",))
    token = login("AN1", PASSWORD)
    page = client.get("/papers/blueprints/new")
    assert page.status_code == 200 and "来源比例" in page.get_data(as_text=True)
    bad = client.post(
        "/papers/blueprints/new", data=_form(csrf_token=token, share_supervision_law="30")
    )
    assert bad.status_code == 422
    assert "来源比例的比例合计为 80%，应为 100%" in bad.get_data(as_text=True)
    ok = client.post("/papers/blueprints/new", data=_form(csrf_token=token))
    assert ok.status_code == 302, ok.get_data(as_text=True)
    row = session.scalar(select(Blueprint).where(Blueprint.code == "web-bp"))
    assert row.total_points == 50 and row.spec["sections"][1]["policy"] == "partial"
    shown = client.get(f"/papers/blueprints/{row.id}").get_data(as_text=True)
    assert "刑法" in shown and "第1版" in shown
    edit = client.get(f"/papers/blueprints/{row.id}/edit").get_data(as_text=True)
    assert 'value="50' in edit
    v2 = client.post(
        f"/papers/blueprints/{row.id}/edit", data=_form(csrf_token=token, name="第二版")
    )
    assert v2.status_code == 302
    assert [
        b.version for b in session.scalars(select(Blueprint).where(Blueprint.code == "web-bp"))
    ] == [1, 2]
    copy = client.post(
        f"/papers/blueprints/{row.id}/copy", data={"csrf_token": token, "new_code": "web-copy"}
    )
    assert copy.status_code == 302
    check = client.get(f"/papers/blueprints/{row.id}/check").get_data(as_text=True)
    assert "题库可以满足组卷规则" in check
    listing = client.get("/papers/").get_data(as_text=True)
    assert "web-bp" in listing and "web-copy" in listing


def test_exam_pages_generate_check_and_upload(
    client, login, session, exam_with_people, make_person
):
    from core.excel import SheetSpec, workbook_bytes
    from exam.models import Attempt, Paper

    exam, people, *_ = exam_with_people
    exam.mode = "offline"  # answer sheets come back only from paper exams
    make_person(person_no="AD1", password=PASSWORD, roles=("admin",))
    token = login("AD1", PASSWORD)
    assert "题库可以满足" in client.get(f"/papers/exams/{exam.id}/check").get_data(as_text=True)
    resp = client.post(f"/papers/exams/{exam.id}/generate", data={"csrf_token": token})
    assert resp.status_code == 302
    assert len(session.scalars(select(Paper).where(Paper.exam_id == exam.id)).all()) == 5
    key = client.get(f"/papers/exams/{exam.id}/print?key=1&person={people[0].id}").get_data(
        as_text=True
    )
    assert "参考答案" in key and people[0].person_no in key and people[1].person_no not in key
    sheet = workbook_bytes(
        [
            SheetSpec(
                "答题卡",
                ["人员编号", "1", "2"],
                [[people[0].person_no, "A", "B"], ["???", "A", None]],
            )
        ]
    )
    import io

    resp = client.post(
        f"/papers/exams/{exam.id}/answers",
        data={"csrf_token": token, "file": (io.BytesIO(sheet), "card.xlsx")},
        content_type="multipart/form-data",
    )
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "未写入任何数据" in text and "“???”不存在" in text
    assert session.scalar(select(Attempt.id).where(Attempt.exam_id == exam.id)) is None
    resp = client.post(
        f"/papers/exams/{exam.id}/answers",
        data={"csrf_token": token, "skip_invalid": "1", "file": (io.BytesIO(sheet), "card.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200 and "已导入并评分 1 份答卷" in resp.get_data(as_text=True)
    # regeneration is refused now that an attempt exists
    resp = client.post(
        f"/papers/exams/{exam.id}/generate", data={"csrf_token": token, "regenerate": "1"}
    )
    assert resp.status_code == 409
