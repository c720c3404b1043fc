from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from question_bank.citations import verify_citations
from question_bank.law import article_texts, latest_revision
from question_bank.models import LawSource, Question, QuestionVersion
from question_bank.sources import DEFAULT_SOURCES
from question_bank.starter import load_starter_bank, starter_files
from question_bank.stats import bank_stats

from .conftest import CRIMINAL, SUPERVISION, needs_law

TYPES = {"single", "multiple", "true_false", "fill_blank"}
#: the Integrity Guidelines (8 short articles) keep only items that do not repeat each other
MIN_ACTIVE = {"integrity_guidelines": 30}


@pytest.fixture
def starter(session, sources):
    return load_starter_bank(session)


def test_starter_bank_imports_with_zero_rejected_rows(starter):
    assert len(starter_files()) >= 6
    assert starter.rejected == [], [str(e) for e in starter.rejected[:10]]
    assert starter.imported == starter.rows > 0


def test_starter_bank_stats(session, starter):
    stats = bank_stats(session)
    assert stats["active"] >= 470
    for d in DEFAULT_SOURCES:
        b = stats["by_source"][d.code]
        assert b["by_status"].get("active", 0) >= MIN_ACTIVE.get(d.code, 75), d.code
        assert set(b["active_by_type"]) == TYPES, d.code
        assert b["uncited"] == 0, d.code
        assert b["without_explanation"] == 0, d.code
    difficulties = {c["difficulty"] for c in stats["cells"]}
    assert difficulties == {1, 2, 3, 4, 5}
    assert stats["coverage"]["uncited"] == 0
    assert sum(c["count"] for c in stats["cells"]) == stats["total"]


def test_stats_counts_are_right_on_a_small_bank(session, make_question):
    make_question(type="single", source="criminal_law", difficulty=2)
    make_question(type="single", source="criminal_law", difficulty=2)
    make_question(type="fill_blank", source="supervision_law", difficulty=5, article_key=None)
    make_question(type="true_false", source="party_constitution", status="draft")
    stats = bank_stats(session)
    assert stats["total"] == 4 and stats["active"] == 3
    assert {
        "source": "criminal_law",
        "type": "single",
        "difficulty": 2,
        "status": "active",
        "count": 2,
    } in stats["cells"]
    assert stats["by_source"]["supervision_law"]["uncited"] == 1
    assert stats["coverage"] == {"cited": 3, "uncited": 1, "ratio": 0.75}


@needs_law
def test_starter_citations_against_the_statutes(session, starter, import_statute):
    import_statute(CRIMINAL, source="criminal_law", revision=dt.date(2023, 12, 29))
    import_statute(SUPERVISION)
    problems = []
    for code in ("criminal_law", "supervision_law"):
        source = session.scalar(select(LawSource).where(LawSource.code == code))
        texts = {
            k: a.text for k, a in article_texts(session, latest_revision(session, source)).items()
        }
        versions = session.scalars(
            select(QuestionVersion).where(
                QuestionVersion.is_current, QuestionVersion.source_id == source.id
            )
        ).all()
        assert versions
        for v in versions:
            keys = [c.article_key for c in v.citations if c.source_id == source.id]
            assert keys, v.stem
            missing = [k for k in keys if k not in texts]
            if missing:
                problems.append(f"{v.stem}: no article {missing}")
                continue
            if v.type == "fill_blank":
                cited = "".join(texts[k] for k in keys)
                for blank in v.answer:
                    # the primary accepted answer must be quoted from the cited article
                    if blank[0] not in cited:
                        problems.append(f"{v.stem}: answer {blank[0]!r} not in {keys}")
    assert problems == []
    result = verify_citations(session)
    assert result["wrong"] == []
    assert result["checked"] > 0
    # party sources have no imported text: unverifiable, listed separately
    assert {u["source"] for u in result["unverifiable"]} == {
        "party_constitution",
        "integrity_guidelines",
        "disciplinary_regulations",
        "accountability_regulations",
    }


@needs_law
def test_verify_citations_separates_wrong_from_unverifiable(
    runner, session, make_question, import_statute
):
    import_statute(SUPERVISION)
    ok = make_question(source="supervision_law", article_key="3")
    wrong = make_question(source="supervision_law", article_key="99")
    unverifiable = make_question(source="criminal_law", article_key="385")
    make_question(source="criminal_law", article_key=None)
    result = runner.invoke(["bank", "verify-citations", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [w["question"] for w in data["wrong"]] == [wrong.question.code]
    assert [u["question"] for u in data["unverifiable"]] == [unverifiable.question.code]
    assert data["checked"] == 2 and data["ok"] == 1 and data["uncited_questions"] == 1
    assert ok.question.code not in json.dumps(data)


def test_cli_load_starter_stats_and_export(runner, session, tmp_path):
    result = runner.invoke(["bank", "load-starter", "--json"])
    data = json.loads(result.output)
    assert data["imported"] > 0
    result = runner.invoke(["bank", "stats", "--json"])
    stats = json.loads(result.output)
    assert stats["total"] == data["imported"]
    assert runner.invoke(["bank", "stats"]).exit_code == 0
    out = tmp_path / "bank.xlsx"
    result = runner.invoke(["bank", "export", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 0
    assert str(stats["total"]) in result.output
    assert session.scalar(select(Question.code).order_by(Question.code).limit(1)) == "Q000001"
