from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from core.audit import AuditEntry
from core.errors import InvalidInput
from question_bank.exporter import export_bytes
from question_bank.models import (
    Citation,
    KnowledgePoint,
    Question,
    QuestionVersion,
    RelatedQuestion,
    version_knowledge_points,
)
from question_bank.rows import version_content
from question_bank.services import (
    SearchFilters,
    edit_question,
    get_question,
    parse_form,
    retire_question,
    search_questions,
)
from question_bank.template import EXPORT_HEADERS

from .conftest import xlsx

ROWS = [
    EXPORT_HEADERS[1:],
    [
        "单选",
        "=SUM(A1) 开头像公式的题干（ ）",
        "-1",
        "+2",
        "@3",
        None,
        None,
        None,
        None,
        None,
        "B",
        "解析一",
        1,
        "甲；乙",
        "刑法",
        "第三百八十五条；第一百二十条之一",
        "县处级；乡科级",
        "启用",
        "组甲",
        None,
        "是",
    ],
    [
        "多选",
        "多选题（ ）",
        "一",
        "二",
        "三",
        "四",
        "五",
        "六",
        "七",
        "八",
        "ACH",
        "",
        5,
        None,
        "监察法",
        None,
        "全部",
        "草稿",
        None,
        None,
        None,
    ],
    [
        "判断",
        "判断题。",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "错",
        "解析三",
        2,
        "乙",
        "党章",
        "总纲",
        "一般干部",
        "停用",
        None,
        None,
        None,
    ],
    [
        "填空",
        "两个空____和____。",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "甲/甲甲|乙",
        "解析四",
        3,
        "丙",
        "刑法第三百八十五条；监察法第二十条",
        None,
        "全部",
        "启用",
        "组甲",
        "全国人民代表大会常务委员会=全国人大常委会；甲=甲方",
        None,
    ],
    [
        "单选",
        "无出处（ ）",
        "是",
        "否",
        None,
        None,
        None,
        None,
        None,
        None,
        "A",
        None,
        4,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ],
]


def _sheet_rows(data: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data))
    return [tuple(r) for r in wb.active.iter_rows(values_only=True)]


def _snapshot(session) -> list[tuple]:
    session.expire_all()
    out = []
    for q, v in session.execute(
        select(Question, QuestionVersion)
        .join(QuestionVersion)
        .where(QuestionVersion.is_current)
        .order_by(Question.code)
    ):
        content = version_content(v)
        content["citations"] = [[c.source.code, c.article_key] for c in v.citations]
        out.append((q.code, q.status, q.exclusion_group, q.synonyms, content))
    return out


def _wipe_bank(session):
    session.execute(delete(RelatedQuestion))
    session.execute(delete(version_knowledge_points))
    session.execute(delete(Citation))
    session.execute(delete(QuestionVersion))
    session.execute(delete(Question))
    session.execute(delete(KnowledgePoint))
    session.flush()
    session.expunge_all()


def test_export_import_round_trip_is_exact(session, import_bytes):
    report = import_bytes(xlsx({"题库": ROWS}))
    assert report.rejected == [], [str(e) for e in report.rejected]
    # a second version of one question: the export carries the current content
    q = get_question(session, report.codes[0])
    values = {h: v for h, v in zip(EXPORT_HEADERS[1:], ROWS[1], strict=True)}
    values["解析"] = "修改后的解析"
    edit_question(session, q, parse_form(session, values))
    first = export_bytes(session)
    rows = _sheet_rows(first)
    assert rows[0] == tuple(EXPORT_HEADERS)
    # formula-like cells are neutralised in the file
    assert rows[1][2] == "'=SUM(A1) 开头像公式的题干（ ）" and rows[1][5] == "'@3"
    before = _snapshot(session)
    _wipe_bank(session)
    again = import_bytes(first, filename="export.xlsx")
    assert again.rejected == [] and again.imported == 5
    assert _snapshot(session) == before
    assert _sheet_rows(export_bytes(session)) == rows


def test_editing_makes_a_new_version_and_is_audited(
    session, import_bytes, make_blueprint, make_exam, make_paper, make_person
):
    report = import_bytes(xlsx({"题库": ROWS[:2]}))
    q = get_question(session, report.codes[0])
    v1 = q.versions[0]
    person = make_person()
    exam = make_exam([person])
    paper = make_paper(exam, person, [(v1, 2, ["A", "B", "C"])])
    values = {h: v for h, v in zip(EXPORT_HEADERS[1:], ROWS[1], strict=True)}
    values["答案"] = "C"
    v2 = edit_question(session, q, parse_form(session, values), note="更正答案")
    session.expire_all()
    q = get_question(session, q.code)
    assert [(v.version, v.is_current) for v in q.versions] == [(1, False), (2, True)]
    assert q.current_version.answer == "C" and v2.change_note == "更正答案"
    assert paper.items[0].question_version_id == v1.id  # the paper keeps its version
    actions = [
        a.action for a in session.scalars(select(AuditEntry).where(AuditEntry.entity_id == q.code))
    ]
    assert "question.edit" in actions and "question.answer_key_change" in actions
    # editing nothing makes no version; bad values are refused with every reason
    edit_question(session, q, parse_form(session, values))
    assert len(get_question(session, q.code).versions) == 2
    with pytest.raises(InvalidInput) as err:
        parse_form(session, values | {"答案": "AB", "难度": "9"})
    assert "单选题只能有一个答案" in err.value.message and "难度" in err.value.message
    retire_question(session, q)
    assert q.status == "retired"


def test_search_filters(session, import_bytes):
    import_bytes(xlsx({"题库": ROWS}))

    def codes(**kw):
        return [v.stem for _, v in search_questions(session, SearchFilters(**kw)).items]

    assert codes(source="criminal_law") == ["=SUM(A1) 开头像公式的题干（ ）", "两个空____和____。"]
    assert codes(source="criminal_law", article="第一百二十条之一") == [
        "=SUM(A1) 开头像公式的题干（ ）"
    ]
    assert codes(type="true_false") == ["判断题。"]
    assert codes(difficulty=5) == ["多选题（ ）"]
    assert codes(knowledge_point="乙") == ["=SUM(A1) 开头像公式的题干（ ）", "判断题。"]
    assert codes(status="draft") == ["多选题（ ）"]
    assert codes(text="两个空") == ["两个空____和____。"]
    assert search_questions(session, SearchFilters()).total == 5
    with pytest.raises(InvalidInput):
        search_questions(session, SearchFilters(source="nope"))


def test_csv_export_round_trip(session, import_bytes, tmp_path):
    from question_bank.exporter import export_file

    import_bytes(xlsx({"题库": ROWS}))
    before = _snapshot(session)
    path = tmp_path / "bank.csv"
    assert export_file(session, path) == 5
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == ",".join(EXPORT_HEADERS)
    assert "'=SUM(A1)" in text
    _wipe_bank(session)
    again = import_bytes(path.read_bytes(), filename="bank.csv")
    assert again.rejected == [] and again.imported == 5
    assert _snapshot(session) == before
