from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import func, select

from question_bank.models import LawSource, Question, QuestionVersion

from .conftest import BANKS, SUPERVISION, needs_banks, needs_law, xlsx

# a commission's layout: title row, own header names, shuffled columns, no 题型 on sheet 2
SHEET1 = [
    ["2026年区纪委纪法知识题库（第一批）"],
    [
        "序号",
        "正确答案",
        "题目",
        "A",
        "B",
        "C",
        "D",
        "题型",
        "法规",
        "条款",
        "难度",
        "解析",
        "知识点",
    ],
    [
        1,
        "A",
        "监察机关是行使国家监察职能的（ ）机关。",
        "专责",
        "司法",
        "行政",
        "审判",
        "单选题",
        "监察法",
        "第三条",
        1,
        "监察法第三条。",
        "监察机关",
    ],
    [
        2,
        "A、C",
        "下列属于党纪处分的有（ ）。",
        "警告",
        "记大过",
        "开除党籍",
        "降级",
        "多选题",
        "纪律处分条例",
        "第八条",
        "较难",
        "",
        "处分种类；党纪",
    ],
    [
        3,
        "A,B",
        "贿赂犯罪包括（ ）。",
        "受贿罪",
        "行贿罪",
        "盗窃罪",
        None,
        "多选",
        "《中华人民共和国刑法》第三百八十五条；第三百八十九条",
        None,
        4,
        "",
        "",
    ],
    [
        4,
        "正确",
        "留置期间应当保障被留置人员的饮食、休息和安全。",
        None,
        None,
        None,
        None,
        "判断题",
        "监察法",
        "第四十四条",
        2,
        "",
        "",
    ],
    [
        5,
        "×",
        "党员受到警告处分一年内可以提拔。",
        None,
        None,
        None,
        None,
        "判断",
        "纪律处分条例",
        "第十条",
        2,
        "",
        "",
    ],
    [
        6,
        "二十四小时",
        "留置后应当在____以内通知家属。",
        None,
        None,
        None,
        None,
        "填空题",
        "监察法",
        "第四十四条",
        3,
        "",
        "",
    ],
]
SHEET2 = [
    ["题干", "选项A", "选项B", "选项C", "答案", "出处"],
    ["党的最高理想和最终目标是（ ）。", "实现共产主义", "共同富裕", "民族复兴", "A", "党章总纲"],
    ["问责对象包括（ ）。", "党组织", "党的领导干部", "普通群众", "AB", "问责条例"],
    ["廉洁自律准则共有八条规范。", None, None, None, "T", "廉洁自律准则"],
    ["监察委员会由本级____产生。", None, None, None, "人民代表大会/人大", "supervision_law"],
    ["这是一个无出处的判断题。", None, None, None, "F", None],
]


def test_chinese_layout_with_title_rows_aliases_and_several_sheets(session, import_bytes):
    report = import_bytes(xlsx({"第一批": SHEET1, "第二批": SHEET2}))
    assert report.rejected == [], [str(e) for e in report.rejected]
    assert report.imported == 11 and report.written
    rows = (
        session.execute(select(QuestionVersion).join(Question).order_by(Question.code))
        .scalars()
        .all()
    )
    by_stem = {v.stem: v for v in rows}
    v = by_stem["下列属于党纪处分的有（ ）。"]
    assert v.type == "multiple" and v.answer == ["A", "C"] and v.difficulty == 4
    assert sorted(k.name for k in v.knowledge_points) == ["党纪", "处分种类"]
    v = by_stem["贿赂犯罪包括（ ）。"]
    assert [(c.source.code, c.article_key) for c in v.citations] == [
        ("criminal_law", "385"),
        ("criminal_law", "389"),
    ]
    assert len(v.options) == 3
    assert by_stem["留置期间应当保障被留置人员的饮食、休息和安全。"].answer is True
    assert by_stem["党员受到警告处分一年内可以提拔。"].answer is False
    assert by_stem["留置后应当在____以内通知家属。"].answer == [["二十四小时"]]
    # sheet 2: the type inferred from the answer
    assert by_stem["党的最高理想和最终目标是（ ）。"].type == "single"
    assert [
        (c.source.code, c.article_key) for c in by_stem["党的最高理想和最终目标是（ ）。"].citations
    ] == [("party_constitution", "总纲")]
    assert by_stem["问责对象包括（ ）。"].type == "multiple"
    assert by_stem["廉洁自律准则共有八条规范。"].type == "true_false"
    fill = by_stem["监察委员会由本级____产生。"]
    assert fill.type == "fill_blank" and fill.answer == [["人民代表大会", "人大"]]
    assert fill.citations[0].article_key is None  # source without an article: uncited
    assert by_stem["这是一个无出处的判断题。"].citations == []
    assert by_stem["这是一个无出处的判断题。"].source_id is None


@pytest.mark.parametrize(
    ("answer", "qtype", "expected"),
    [
        ("A", "单选", "A"),
        ("c", "单选", "C"),
        ("AC", "多选", ["A", "C"]),
        ("A,C", "多选", ["A", "C"]),
        ("C、A", "多选", ["A", "C"]),
        ("A C D", "多选", ["A", "C", "D"]),
        ("对", "判断", True),
        ("错", "判断", False),
        ("正确", "判断", True),
        ("错误", "判断", False),
        ("√", "判断", True),
        ("×", "判断", False),
        ("T", "判断", True),
        ("F", "判断", False),
        ("甲/乙|丙", "填空", [["甲", "乙"], ["丙"]]),
    ],
)
def test_answer_formats(session, answer, qtype, expected):
    from question_bank.rows import RowContext, parse_row

    stem = "第一空____第二空____" if qtype == "填空" else "题干（ ）"
    values = {"题型": qtype, "题干": stem, "答案": answer}
    if qtype in ("单选", "多选"):
        values.update({"选项A": "一", "选项B": "二", "选项C": "三", "选项D": "四"})
    data, errors = parse_row(RowContext(session), values)
    assert errors == []
    assert data.answer == expected


BAD = [
    ["区纪委题库导入表"],
    ["题目", "选项A", "选项B", "选项C", "选项D", "答案", "题型", "出处", "条款"],
    ["好的题目一（ ）", "甲", "乙", "丙", "丁", "B", "单选", "监察法", "第三条"],  # 3 ok
    [None, "甲", "乙", "丙", "丁", "A", "单选", "监察法", None],  # 4 missing stem
    ["答案不在选项中（ ）", "甲", "乙", None, None, "D", "单选", "监察法", None],  # 5
    ["单选两个答案（ ）", "甲", "乙", "丙", "丁", "AB", "单选", "监察法", None],  # 6
    ["出处未知（ ）", "甲", "乙", "丙", "丁", "A", "单选", "宪法修正案", None],  # 7
    ["条款不存在（ ）", "甲", "乙", "丙", "丁", "A", "单选", "监察法", "第九十九条"],  # 8
    ["好的题目一（ ）", "甲", "乙", "丙", "丁", "C", "单选", "监察法", None],  # 9 dup of 3
    ["好的判断题。", None, None, None, None, "对", "判断", None, None],  # 10 ok
]


@needs_law
def test_bad_rows_are_all_reported_and_nothing_written(
    session, import_bytes, import_statute, make_question
):
    import_statute(SUPERVISION)
    existing = make_question(
        stem="题库里已有的题目（ ）",
        options=[{"key": "A", "text": "甲"}, {"key": "B", "text": "乙"}],
    )
    bad = [row[:] for row in BAD] + [
        ["题库里已有的题目（ ）", "甲", "乙", None, None, "A", "单选", None, None]
    ]
    sheet2 = [["题干", "答案"], ["无选项也无空格的题目", "甲"]]
    before = session.scalar(select(func.count()).select_from(Question))
    report = import_bytes(xlsx({"试题": bad, "补充": sheet2}))
    got = {(e.sheet, e.row): e.reason for e in report.rejected}
    assert set(got) == {("试题", n) for n in (4, 5, 6, 7, 8, 9, 11)} | {("补充", 2)}
    assert "缺少题干" in got[("试题", 4)]
    assert "答案 D 不在选项中" in got[("试题", 5)]
    assert "单选题只能有一个答案" in got[("试题", 6)]
    assert "未知的法规出处「宪法修正案」" in got[("试题", 7)]
    assert "没有第九十九条" in got[("试题", 8)]
    assert got[("试题", 9)] == "与第 3 行重复"
    assert got[("试题", 11)] == f"与题库中的试题 {existing.question.code} 重复"
    assert "无法从答案推断题型" in got[("补充", 2)]
    assert report.imported == 0 and not report.written and report.valid == 2
    assert session.scalar(select(func.count()).select_from(Question)) == before
    # with --skip-invalid the two good rows go in
    report = import_bytes(xlsx({"试题": bad, "补充": sheet2}), skip_invalid=True)
    assert report.imported == 2 and len(report.rejected) == 8
    assert session.scalar(select(func.count()).select_from(Question)) == before + 2


def test_cli_import_json_exit_status_and_dry_run(runner, session, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx({"试题": BAD}))
    result = runner.invoke(["bank", "import", str(path), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["imported"] == 0
    rows = [r["row"] for r in data["rejected"]]
    assert 4 in rows and 9 in rows and all(r["sheet"] == "试题" for r in data["rejected"])
    assert session.scalar(select(func.count()).select_from(Question)) == 0
    good = tmp_path / "good.csv"
    with good.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["题型", "题干", "选项A", "选项B", "答案", "出处", "条款"])
        w.writerow(["单选", "好题（ ）", "甲", "乙", "A", "刑法", "第三百八十五条"])
    result = runner.invoke(["bank", "import", str(good), "--dry-run", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["valid"] == 1
    assert session.scalar(select(func.count()).select_from(Question)) == 0
    result = runner.invoke(["bank", "import", str(good)])
    assert result.exit_code == 0 and "已导入 1 道试题" in result.output
    result = runner.invoke(["bank", "import", str(good), "--skip-invalid"])
    assert result.exit_code == 1 and "重复" in result.output


@needs_banks
def test_the_eight_shared_question_banks_import_as_they_are(session, import_bytes):
    files = sorted(BANKS.glob("*.csv"))
    assert len(files) == 8
    criminal = session.scalar(select(LawSource.id).where(LawSource.code == "criminal_law"))
    for path in files:
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        nested = session.begin_nested()
        report = import_bytes(path.read_bytes(), filename=path.name)
        assert report.rejected == [], (path.name, [str(e) for e in report.rejected[:3]])
        assert report.imported == len(rows) > 0
        versions = session.scalars(select(QuestionVersion).where(QuestionVersion.is_current)).all()
        assert len(versions) == len(rows)
        for v, row in zip(sorted(versions, key=lambda v: v.question_id), rows, strict=True):
            assert v.stem == row["question"].strip()
            assert v.type == "single" and v.answer == row["answer"]
            assert row["source"] in v.change_note and row["id"] in v.change_note
            tags = set(row["source"].split("tags=")[1].split("+"))
            if tags & {"criminal", "duty_crime"}:
                assert [(c.source_id, c.article_key) for c in v.citations] == [(criminal, None)]
            else:
                assert v.citations == []
        nested.rollback()
        session.expunge_all()
