"""Printable papers and keys, Excel export, offline answer-sheet import scored like
online attempts, and unit scope on the papers pages."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.errors import InvalidInput
from core.excel import SheetSpec, workbook_bytes
from exam.models import Answer, Attempt, Paper
from exam.papers.answer_sheets import import_answer_sheets, parse_response
from exam.papers.persist import generate_papers
from exam.papers.printable import printable_papers
from question_bank import kinds
from question_bank.kinds.base import ItemKey
from tests.conftest import NOW, edit_version

PASSWORD = "Passw0rd!"


def displayed_answer(version, option_order, answer=None):
    """The key of ``version`` as a candidate with ``option_order`` sees it."""
    authored = [o["key"] for o in version.options or []]
    answer = version.answer if answer is None else answer
    key = ItemKey(version.type, answer, 1.0, option_order or (), authored)
    return kinds.get(version.type).key_displayed(key)


@pytest.fixture
def generated(session, exam_with_people):
    exam, people, town, other = exam_with_people
    exam.mode = "offline"  # answer sheets come back only from paper exams
    generate_papers(session, exam, now=NOW)
    return exam, people, town, other


def _correct_row(session, paper: Paper):
    """The right answers for a paper, in displayed keys, as written on a sheet."""
    cells = []
    for item in paper.items:
        v = item.question_version
        shown = displayed_answer(v, item.option_order)
        if v.type == "single":
            cells.append(shown)
        elif v.type == "multiple":
            cells.append("".join(shown))
        elif v.type == "true_false":
            cells.append("对" if shown else "错")
        else:
            cells.append("；".join(b[0] for b in shown))
    return cells


def _sheet(rows, n=10):
    return workbook_bytes(
        [SheetSpec("答题卡", ["人员编号", "姓名"] + [str(i) for i in range(1, n + 1)], rows)]
    )


def test_printable_papers_carry_name_and_number(session, generated, app):
    from jifa.app.printing import render_papers

    exam, people, town, other = generated
    papers = printable_papers(session, exam, unit=town)
    assert len(papers) == 3
    assert {p.person_no for p in papers} == {p.person_no for p in people[:3]}
    html = render_papers(exam.title, papers, key=False)
    for person in people[:3]:
        # in the running head (a <thead>, repeated on every printed page) and the identity line
        assert html.count(f"编号：{person.person_no}") == 2
        assert person.name in html
    assert people[3].person_no not in html
    assert "thead { display:table-header-group; }" in html and "break-after:page" in html
    assert "答案：" not in html
    key = render_papers(exam.title, papers, key=True)
    first = papers[0].items[0]
    assert f"答案：{first.answer_text}" in key


def test_printed_key_follows_a_key_correction(session, generated):
    exam, people, *_ = generated
    paper = session.scalar(select(Paper).where(Paper.person_id == people[0].id))
    item = next(i for i in paper.items if i.question_version.type == "single")
    version = item.question_version
    original = version.answer
    other = next(o["key"] for o in version.options if o["key"] != original)
    new = edit_version(session, version, answer=other)
    printed = printable_papers(session, exam, person_ids=[people[0].id])[0]
    shown = next(i for i in printed.items if i.number == item.position)
    assert shown.answer_text == displayed_answer(version, item.option_order, other)
    assert new.id != version.id and version.answer == original  # the paper keeps its version


def test_print_escapes_question_text(session, generated):
    from jifa.app.printing import render_papers

    exam, *_ = generated
    paper = printable_papers(session, exam)[0]
    paper.sections[0].items[0].stem = "<script>alert(1)</script>"
    html = render_papers(exam.title, [paper], key=False)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_excel_export_has_papers_keys_and_answer_card(runner, session, generated, tmp_path):
    exam, people, *_ = generated
    out = tmp_path / "papers.xlsx"
    result = runner.invoke(["exam", "export-papers", str(exam.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["试卷", "答案", "答题卡"]
    assert wb["试卷"].max_row == 1 + 5 * 10
    keys = list(wb["答案"].iter_rows(min_row=2, values_only=True))
    paper = session.scalar(select(Paper).where(Paper.person_id == people[0].id))
    mine = [r[5] for r in keys if r[0] == people[0].person_no]
    expected = [
        it.answer_text for it in printable_papers(session, exam, person_ids=[people[0].id])[0].items
    ]
    assert mine == expected
    assert mine[:4] == _correct_row(session, paper)[:4]  # single choice: the displayed letter
    assert [c.value for c in wb["答题卡"][1]][:3] == ["人员编号", "姓名", "1"]


def test_import_answer_sheet_scores_like_online(session, generated):
    exam, people, *_ = generated
    p0 = session.scalar(select(Paper).where(Paper.person_id == people[0].id))
    p1 = session.scalar(select(Paper).where(Paper.person_id == people[1].id))
    right = _correct_row(session, p0)
    half = _correct_row(session, p1)[:4] + [None] * 6  # four single choices right
    content = _sheet(
        [[people[0].person_no, people[0].name, *right], [people[1].person_no, None, *half]]
    )
    report = import_answer_sheets(session, exam, content, "sheet.xlsx", now=NOW)
    assert report["errors"] == [] and report["imported"] == 2
    scores = {r["person_no"]: r["score"] for r in report["results"]}
    assert scores == {people[0].person_no: 50.0, people[1].person_no: 20.0}
    attempt = session.scalar(select(Attempt).where(Attempt.person_id == people[0].id))
    assert attempt.status == "submitted" and attempt.submitted_by == "offline"
    assert attempt.deadline_at > attempt.started_at and attempt.passed is True
    answers = session.scalars(select(Answer).where(Answer.attempt_id == attempt.id)).all()
    assert len(answers) == 10 and all(a.is_correct for a in answers)
    # the same sheet again: already attempted, nothing written
    again = import_answer_sheets(session, exam, content, "sheet.xlsx", now=NOW)
    assert again["imported"] == 0 and len(again["errors"]) == 2
    assert "已有作答记录" in again["errors"][0]["message"]


def test_bad_rows_are_reported_with_row_numbers_and_nothing_is_written(
    session, generated, make_person
):
    exam, people, *_ = generated
    stranger = make_person()
    p0 = session.scalar(select(Paper).where(Paper.person_id == people[0].id))
    good = _correct_row(session, p0)
    bad_letter = list(_correct_row(session, p0))
    bad_letter[0] = "Z"
    content = _sheet(
        [
            [people[0].person_no, None, *good],  # row 2: fine
            ["NOPE", None, *good],  # row 3
            [stranger.person_no, None, *good],  # row 4
            [people[1].person_no, None, *bad_letter],  # row 5
            [people[0].person_no, None, *good],  # row 6: duplicate
            [people[2].person_no, "别人", *good],  # row 7: wrong name
        ]
    )
    report = import_answer_sheets(session, exam, content, "s.xlsx", now=NOW)
    rows = {e["row"]: e["message"] for e in report["errors"]}
    assert set(rows) == {3, 4, 5, 6, 7}
    assert "“NOPE”不存在" in rows[3]
    assert "不是本场考试的考生" in rows[4]
    assert "第 1 题" in rows[5] and "Z" in rows[5]
    assert "重复" in rows[6] and "第 2 行" in rows[6]
    assert "姓名“别人”" in rows[7]
    assert report["imported"] == 0
    assert session.scalar(select(Attempt.id).where(Attempt.exam_id == exam.id)) is None
    skipped = import_answer_sheets(session, exam, content, "s.xlsx", now=NOW, skip_invalid=True)
    assert skipped["imported"] == 1


def test_cli_import_answers_dry_run_and_errors(runner, session, generated, tmp_path):
    exam, people, *_ = generated
    p0 = session.scalar(select(Paper).where(Paper.person_id == people[0].id))
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(
        _sheet([[people[0].person_no, None, *_correct_row(session, p0)], ["X9", None]])
    )
    result = runner.invoke(["exam", "import-answers", str(exam.id), str(path), "--dry-run"])
    assert result.exit_code == 1
    assert "第 3 行" in result.output and "X9" in result.output
    result = runner.invoke(
        ["exam", "import-answers", str(exam.id), str(path), "--skip-invalid", "--json"]
    )
    # the good row is written; the skipped row still makes the exit status 1
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["imported"] == 1
    assert session.scalar(select(Attempt.score).where(Attempt.person_id == people[0].id)) == 50.0


def test_parse_response_forms():
    assert parse_response("single", "b", option_count=4, blanks=0) == "B"
    assert parse_response("multiple", "C、A", option_count=4, blanks=0) == ["A", "C"]
    assert parse_response("true_false", "×", option_count=0, blanks=0) is False
    assert parse_response("fill_blank", "留置；十日", option_count=0, blanks=2) == ["留置", "十日"]
    assert parse_response("single", "  ", option_count=4, blanks=0) is None
    for qtype, raw in (
        ("single", "E"),
        ("multiple", "AA"),
        ("true_false", "也许"),
        ("fill_blank", "a;b;c"),
    ):
        with pytest.raises(InvalidInput):
            parse_response(qtype, raw, option_count=4, blanks=2)


def test_pages_respect_unit_scope(
    client, login, session, generated, make_person, make_unit, district
):
    exam, people, town, other = generated
    make_person(person_no="UA-TOWN", password=PASSWORD, roles=("unit_admin",), admin_unit=town)
    make_person(person_no="UA-OTHER", password=PASSWORD, roles=("unit_admin",), admin_unit=other)
    make_person(person_no="CAND", password=PASSWORD)
    login("UA-OTHER", PASSWORD)
    assert client.get(f"/papers/exams/{exam.id}").status_code == 403
    assert client.get(f"/papers/exams/{exam.id}/print").status_code == 403
    assert client.get("/papers/blueprints/new").status_code == 403
    client.post(
        "/auth/logout",
        data={"csrf_token": client.get("/api/v1/auth/csrf").get_json()["csrf_token"]},
    )
    login("UA-TOWN", PASSWORD)
    page = client.get(f"/papers/exams/{exam.id}")
    assert page.status_code == 200 and "生成缺少的试卷" in page.get_data(as_text=True)
    printed = client.get(f"/papers/exams/{exam.id}/print?unit={town.code}")
    text = printed.get_data(as_text=True)
    assert printed.status_code == 200
    assert people[0].person_no in text and people[3].person_no not in text
    assert client.get(f"/papers/exams/{exam.id}/export.xlsx").status_code == 200
    listing = client.get("/papers/").get_data(as_text=True)
    assert exam.title in listing


def test_candidate_cannot_open_papers(client, login, make_person):
    make_person(person_no="CAND2", password=PASSWORD)
    login("CAND2", PASSWORD)
    assert client.get("/papers/").status_code == 403
