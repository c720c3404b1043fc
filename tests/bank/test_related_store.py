"""Related pairs are stored with their reason, recomputed when questions are imported
or edited; exclusion groups (互斥组) give manual pairs; pool loading maps them to the
pool's versions."""

from __future__ import annotations

from sqlalchemy import select

from exam.papers.persist import load_pool, load_related
from question_bank.models import Question, RelatedQuestion
from question_bank.related import list_related, related_summary
from question_bank.services import edit_question, get_question, parse_form
from question_bank.template import EXPORT_HEADERS, TEMPLATE_HEADERS

from .conftest import xlsx

ROWS = [
    TEMPLATE_HEADERS,
    # the example: the multiple-choice option gives the single choice away
    ["单选", "廉洁修身，自觉提升（ ）", "思想道德境界", "业务能力", "工作效率", "生活品质",
     None, None, None, None, "A", "", 2, None, "廉洁自律准则", None, "全部", "启用", None, None],
    ["多选", "党员干部廉洁自律规范包括（ ）", "廉洁修身，自觉提升思想道德境界", "廉洁齐家",
     "追求享乐", "公私不分", None, None, None, None, "AB", "", 3, None, "廉洁自律准则", None,
     "全部", "启用", None, None],
    ["判断", "监察机关可以对监察对象采取留置措施。", None, None, None, None, None, None, None,
     None, "对", "", 2, None, "监察法", None, "全部", "启用", "留置组", None],
    ["填空", "留置时间不得超过____。", None, None, None, None, None, None, None, None,
     "三个月", "", 2, None, "监察法", None, "全部", "启用", "留置组",
     "三个月=九十日"],
    ["单选", "无关的题目（ ）", "甲", "乙", None, None, None, None, None, None, "A", "", 2,
     None, "党章", None, "全部", "启用", None, None],
]  # fmt: skip
# the 仅限考试 column (study mode) comes last: empty in every row
ROWS = [ROWS[0]] + [[*r, None] for r in ROWS[1:]]


def _pairs(session):
    session.expire_all()
    codes = dict(session.execute(select(Question.id, Question.code)).all())
    return {
        (codes[r.question_a_id], codes[r.question_b_id], r.reason, r.origin)
        for r in session.scalars(select(RelatedQuestion))
    }


def test_import_stores_pairs_with_reason_and_origin(session, import_bytes):
    report = import_bytes(xlsx({"题库": ROWS}))
    assert report.rejected == [], [str(e) for e in report.rejected]
    q1, q2, q3, q4, _q5 = report.codes
    pairs = _pairs(session)
    assert (q1, q2, "gives_away", "auto") in pairs
    assert (q3, q4, "exclusion_group", "manual") in pairs
    assert not [p for p in pairs if _q5 in p[:2]]
    rows = list_related(session, code=q1)
    assert rows and rows[0].reason_label == "题干或选项含另一题的答案"
    assert q1 in rows[0].describe() and "思想道德境界" in rows[0].describe()
    summary = related_summary(session)
    assert summary["by_origin"]["manual"] >= 1 and summary["by_origin"]["auto"] >= 1
    assert get_question(session, q4).synonyms == [["三个月", "九十日"]]


def test_edits_recompute_pairs(session, import_bytes):
    report = import_bytes(xlsx({"题库": ROWS}))
    q1, q2, q3, q4, q5 = report.codes
    # rewriting the single choice so nothing gives it away removes the pair
    values = dict(zip(TEMPLATE_HEADERS, ROWS[1], strict=True))
    values.update(题干="廉洁用权，自觉维护（ ）", 选项A="人民利益", 选项B="个人利益")
    edit_question(session, get_question(session, q1), parse_form(session, values))
    assert not [p for p in _pairs(session) if p[0] == q1 and p[1] == q2]
    # a group set on an unrelated question (no new version) makes a manual pair
    values = dict(zip(TEMPLATE_HEADERS, ROWS[5], strict=True)) | {"互斥组": "留置组"}
    question = get_question(session, q5)
    before = len(question.versions)
    edit_question(session, question, parse_form(session, values))
    assert len(get_question(session, q5).versions) == before
    pairs = _pairs(session)
    assert (q3, q5, "exclusion_group", "manual") in pairs
    assert (q4, q5, "exclusion_group", "manual") in pairs
    # clearing the group removes them again
    values["互斥组"] = ""
    edit_question(session, get_question(session, q5), parse_form(session, values))
    assert not [p for p in _pairs(session) if q5 in p[:2]]


def test_synonyms_only_for_fill_in_and_need_two_terms(session, import_bytes):
    bad = [list(r) for r in ROWS[:2]] + [list(ROWS[4])]
    synonyms = TEMPLATE_HEADERS.index("同义答案")
    bad[1][synonyms] = "甲=乙"
    bad[2][synonyms] = "九十日"
    report = import_bytes(xlsx({"题库": bad}))
    messages = " ".join(str(e) for e in report.rejected)
    assert "只有填空题可以设同义答案" in messages and "至少两个词" in messages
    assert report.imported == 0


def test_pool_loading_maps_pairs_to_versions(session, import_bytes):
    import_bytes(xlsx({"题库": ROWS}))
    pool = load_pool(session)
    pairs = load_related(session, pool)
    ids = {p.version_id for p in pool}
    assert pairs and all(a < b and a in ids and b in ids for a, b in pairs)
    assert len(EXPORT_HEADERS) == len(TEMPLATE_HEADERS) + 1


def test_cli_lists_pairs(runner, session, import_bytes):
    import json

    report = import_bytes(xlsx({"题库": ROWS}))
    result = runner.invoke(["bank", "related", "--json", "--reason", "exclusion_group"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["by_origin"]["manual"] == 1
    assert [(r["a"], r["b"]) for r in data["rows_listed"]] == [tuple(report.codes[2:4])]
    text = runner.invoke(["bank", "related", "--refresh"]).output
    assert "互斥组 1" in text and report.codes[0] in text
