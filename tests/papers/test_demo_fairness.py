"""The demo exam, as a new user meets it: no paper holds two related questions, and an
offline answer sheet with every answer right and every fill-in number written in digits
scores full marks on every paper."""

from __future__ import annotations

import json

from sqlalchemy import select

from core.excel import SheetSpec, workbook_bytes
from exam.models import Exam, Paper, PaperItem
from exam.papers.answer_sheets import import_answer_sheets
from exam.papers.rebuild import rebuild_paper
from question_bank import kinds
from question_bank.equivalence import number_tokens
from question_bank.kinds.base import ItemKey
from question_bank.models import QuestionVersion, RelatedQuestion
from tests.conftest import NOW


def in_digits(text: str) -> str:
    """``text`` with every number written in digits (三个月 -> 3个月, 百分之三十 -> 30%)."""
    out = text
    for tok in reversed(number_tokens(text)):
        if tok.value is None:
            continue
        written = tok.value + ("%" if tok.prefix == "百分之" else "‰" if tok.prefix else "")
        out = out[: tok.start] + written + out[tok.end :]
    return out


def _row(paper: Paper) -> tuple[list, int]:
    cells, rewritten = [], 0
    for item in sorted(paper.items, key=lambda i: i.position):
        v = item.question_version
        authored = [o["key"] for o in v.options or []]
        key = ItemKey(v.type, v.answer, 1.0, item.option_order or (), authored)
        shown = kinds.get(v.type).key_displayed(key)
        if v.type == "single":
            cells.append(shown)
        elif v.type == "multiple":
            cells.append("".join(shown))
        elif v.type == "true_false":
            cells.append("对" if shown else "错")
        else:
            blanks = [in_digits(b[0]) for b in shown]
            rewritten += sum(1 for b, alts in zip(blanks, shown, strict=True) if b not in alts)
            cells.append("；".join(blanks))
    return cells, rewritten


def test_demo_exam_is_fair(runner, session):
    result = runner.invoke(["demo", "load", "--json"])
    assert result.exit_code == 0, result.output
    exam = session.get(Exam, json.loads(result.output)["exam_id"])
    pairs = set(
        session.execute(select(RelatedQuestion.question_a_id, RelatedQuestion.question_b_id))
    )
    assert len(pairs) > 50  # the starter bank has related questions to keep apart
    papers = session.scalars(select(Paper).where(Paper.exam_id == exam.id)).all()
    questions: dict[int, set[int]] = {}
    for paper_id, question_id in session.execute(
        select(PaperItem.paper_id, QuestionVersion.question_id)
        .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
        .join(Paper, Paper.id == PaperItem.paper_id)
        .where(Paper.exam_id == exam.id)
    ):
        questions.setdefault(paper_id, set()).add(question_id)
    assert len(questions) == len(papers) > 100
    holding = [p for p, qs in questions.items() if any((a, b) in pairs for a in qs for b in qs)]
    assert holding == []
    assert rebuild_paper(session, papers[0])["identical"]

    rows, rewritten = [], 0
    width = max(len(p.items) for p in papers)
    for paper in papers:
        cells, n = _row(paper)
        rewritten += n
        rows.append([paper.person.person_no, paper.person.name, *cells])
    assert rewritten > 20  # many fill-in keys were written in digits on the sheets
    content = workbook_bytes(
        [SheetSpec("答题卡", ["人员编号", "姓名"] + [str(i) for i in range(1, width + 1)], rows)]
    )
    exam.mode = "offline"  # answer sheets come back only from paper exams (issue 14)
    report = import_answer_sheets(session, exam, content, "sheet.xlsx", now=NOW)
    assert report["errors"] == [] and report["imported"] == len(papers)
    short = [r for r in report["results"] if r["score"] != r["max_score"]]
    assert short == []
