from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.errors import Conflict, NotFound
from question_bank.models import Article, LawRevision, LawSource, Question

from .conftest import CRIMINAL, SUPERVISION, needs_law

pytestmark = needs_law


def _modified_supervision() -> bytes:
    text = SUPERVISION.read_text(encoding="utf-8")
    # change article 3 and article 20, remove article 77, add a new article 79
    text = text.replace(
        "各级监察委员会是行使国家监察职能的专责机关",
        "各级监察委员会是行使国家监察职能的专门机关",
        1,
    )
    assert "第二十条 " in text
    text = text.replace("第二十条 ", "第二十条 （修改）", 1)
    start = text.index("第七十七条 ")
    end = text.index("第七十八条 ")
    text = text[:start] + text[end:]
    text += "\n\n第七十九条 新增的条文。\n"
    # whitespace-only change of article 5 is not a change
    text = text.replace("第五条 国家监察工作", "第五条  国家监察工作", 1)
    return text.encode("utf-8")


def test_new_revision_keeps_old_and_flags_exactly_the_citing_questions(
    session, import_statute, make_question
):
    first = import_statute(SUPERVISION)
    assert first.articles == 78 and first.previous_revision is None
    q_changed = make_question(source="supervision_law", article_key="3")
    q_changed2 = make_question(source="supervision_law", article_key="20")
    q_removed = make_question(source="supervision_law", article_key="77")
    q_same = make_question(source="supervision_law", article_key="5")
    q_other_law = make_question(source="criminal_law", article_key="3")
    q_uncited = make_question(source="supervision_law", article_key=None)
    # current version cites an unchanged article; an old version cited a changed one
    q_old = make_question(source="supervision_law", article_key="3", stem="旧版本题干")
    from question_bank.rows import RowContext, parse_row
    from question_bank.services import edit_question

    data, errors = parse_row(
        RowContext(session),
        {
            "题型": "单选",
            "题干": "新版本题干",
            "选项A": "甲",
            "选项B": "乙",
            "答案": "A",
            "出处": "监察法",
            "条款": "第六条",
        },
    )
    assert not errors
    edit_question(session, q_old.question, data)

    report = import_statute(SUPERVISION, revision=dt.date(2025, 6, 1), data=_modified_supervision())
    assert report.previous_revision == dt.date(2024, 12, 25)
    assert report.added == ["79"]
    assert report.removed == ["77"]
    assert report.changed == ["3", "20"]
    assert report.flagged == sorted(
        [q_changed.question.code, q_changed2.question.code, q_removed.question.code]
    )
    session.expire_all()
    flagged = set(session.scalars(select(Question.code).where(Question.needs_review)))
    assert flagged == set(report.flagged)
    q = session.get(Question, q_removed.question_id)
    assert "第七十七条已删除" in q.review_reason and "2025-06-01" in q.review_reason
    assert "第三条已修改" in session.get(Question, q_changed.question_id).review_reason
    for v in (q_same, q_other_law, q_uncited):
        assert not session.get(Question, v.question_id).needs_review
    # both revisions kept; the source now points at the new one
    source = session.scalar(select(LawSource).where(LawSource.code == "supervision_law"))
    revs = session.scalars(select(LawRevision).where(LawRevision.source_id == source.id)).all()
    assert sorted(r.revision_date for r in revs) == [dt.date(2024, 12, 25), dt.date(2025, 6, 1)]
    assert source.current_revision == dt.date(2025, 6, 1)
    old_rev = next(r for r in revs if r.revision_date == dt.date(2024, 12, 25))
    assert session.scalar(
        select(Article.text).where(Article.revision_id == old_rev.id, Article.key == "77")
    )
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "law.import")).all()


def test_same_revision_twice_is_a_conflict_and_unknown_source_not_found(import_statute):
    import_statute(SUPERVISION)
    with pytest.raises(Conflict):
        import_statute(SUPERVISION)
    with pytest.raises(NotFound):
        import_statute(SUPERVISION, source="no_such_law")


def test_cli_law_import_and_list(runner, tmp_path):
    result = runner.invoke(
        [
            "law",
            "import",
            str(CRIMINAL),
            "--source",
            "criminal_law",
            "--revision",
            "2023-12-29",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert data["counts"]["numbered"] == 452 and data["counts"]["suffixed"] == 53
    result = runner.invoke(
        ["law", "import", str(SUPERVISION), "--source", "监察法", "--revision", "2024-12-25"]
    )
    assert result.exit_code == 0 and "78 条" in result.output
    modified = tmp_path / "sup.md"
    modified.write_bytes(_modified_supervision())
    result = runner.invoke(
        ["law", "import", str(modified), "--source", "supervision_law", "--revision", "2025-06-01"]
    )
    assert result.exit_code == 0, result.output
    assert "删除 1 条：第七十七条" in result.output
    result = runner.invoke(["law", "list", "--json"])
    listed = {s["code"]: s for s in json.loads(result.output)}
    assert [r["articles"] for r in listed["supervision_law"]["revisions"]] == [78, 78]
    assert listed["criminal_law"]["revisions"][0]["articles"] == 505
    result = runner.invoke(
        ["law", "import", str(modified), "--source", "supervision_law", "--revision", "2025-13-01"]
    )
    assert result.exit_code != 0
    result = runner.invoke(
        [
            "law",
            "add-source",
            "party_rules",
            "中国共产党党内监督条例",
            "--short-name",
            "党内监督条例",
        ]
    )
    assert result.exit_code == 0
    result = runner.invoke(["law", "list"])
    assert "party_rules" in result.output
