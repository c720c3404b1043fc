"""Pool check, generate-papers (service and CLI), regeneration refusal, late
participants, and rebuilding a paper after the bank changed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.errors import Conflict
from exam.models import Attempt, Paper, PaperGeneration, PaperItem, Participant
from exam.papers.generation.pool import PoolShortage
from exam.papers.persist import check_pool, generate_papers
from exam.papers.rebuild import rebuild_paper
from tests.conftest import NOW


def _count(session, model, **where):
    q = select(func.count()).select_from(model)
    for k, v in where.items():
        q = q.where(getattr(model, k) == v)
    return session.scalar(q)


def test_generate_papers_for_everyone(session, exam_with_people):
    exam, people, *_ = exam_with_people
    calls = []
    report = generate_papers(session, exam, now=NOW, progress=lambda d, t: calls.append((d, t)))
    assert report["generated"] == 5 and report["participants"] == 5
    assert calls and calls[-1][0] == calls[-1][1]
    stats = report["stats"]
    assert stats["papers"] == 5 and stats["exposure_max"] >= stats["exposure_min"]
    papers = session.scalars(select(Paper).where(Paper.exam_id == exam.id)).all()
    assert len(papers) == 5
    for paper in papers:
        assert paper.blueprint_id == exam.blueprint_id
        items = paper.items
        assert [i.position for i in items] == list(range(1, 11))
        assert [i.section for i in items] == [0, 0, 0, 0, 1, 1, 2, 2, 3, 3]
        assert sum(i.points for i in items) == 50 == paper.total_points
        assert len({i.question_version_id for i in items}) == 10
        assert abs(paper.mean_difficulty - 3) <= 0.5
        for i in items:
            if i.question_version.type in ("single", "multiple"):
                assert sorted(i.option_order) == ["A", "B", "C", "D"]
            else:
                assert i.option_order == []
    gen = session.scalar(select(PaperGeneration).where(PaperGeneration.exam_id == exam.id))
    assert gen.paper_count == 5 and len(gen.pool_version_ids) == 80
    # nothing missing: a second call writes nothing
    assert generate_papers(session, exam, now=NOW)["generated"] == 0


def test_papers_differ_between_candidates_and_rebuild_identically(
    session, exam_with_people, make_question
):
    exam, people, *_ = exam_with_people
    generate_papers(session, exam, now=NOW)
    papers = session.scalars(select(Paper).where(Paper.exam_id == exam.id)).all()
    signatures = {
        tuple((i.question_version_id, tuple(i.option_order)) for i in p.items) for p in papers
    }
    assert len(signatures) == 5
    # the bank changes afterwards: a new question and a retired one
    make_question(type="single", source="criminal_law", difficulty=3)
    used = papers[0].items[0].question_version
    used.question.status = "retired"
    session.flush()
    result = rebuild_paper(session, papers[0])
    assert result["identical"], result["differences"]
    assert result["pool_recorded"]
    # tampering with a stored paper is detected
    first = papers[1].items[0]
    assert first.section == 0 and len(first.option_order) == 4  # a single-choice item
    first.option_order = list(reversed(first.option_order))
    session.flush()
    tampered = rebuild_paper(session, papers[1])
    assert not tampered["identical"]
    assert tampered["differences"][0]["position"] == 1


def test_regenerate_is_refused_once_an_attempt_exists(session, exam_with_people):
    exam, people, *_ = exam_with_people
    generate_papers(session, exam, now=NOW)
    report = generate_papers(session, exam, now=NOW, regenerate=True)
    assert report["generated"] == 5
    paper = session.scalar(select(Paper).where(Paper.exam_id == exam.id))
    session.add(
        Attempt(
            exam_id=exam.id,
            person_id=paper.person_id,
            paper_id=paper.id,
            unit_id=people[0].unit_id,
            started_at=NOW,
            deadline_at=NOW.replace(hour=2),
        )
    )
    session.flush()
    with pytest.raises(Conflict, match="不能重新生成"):
        generate_papers(session, exam, now=NOW, regenerate=True)
    assert _count(session, Paper, exam_id=exam.id) == 5


def test_late_participant_gets_only_their_paper(session, exam_with_people, make_person):
    exam, people, town, _ = exam_with_people
    generate_papers(session, exam, now=NOW)
    before = {
        p.person_id: [(i.question_version_id, tuple(i.option_order)) for i in p.items]
        for p in session.scalars(select(Paper).where(Paper.exam_id == exam.id))
    }
    late = make_person(unit=town)
    session.add(Participant(exam=exam, person=late, unit_id=town.id, enrolled_via="late"))
    session.flush()
    report = generate_papers(session, exam, now=NOW)
    assert report["generated"] == 1 and report["existing"] == 5
    after = {
        p.person_id: [(i.question_version_id, tuple(i.option_order)) for i in p.items]
        for p in session.scalars(select(Paper).where(Paper.exam_id == exam.id))
    }
    assert set(after) == set(before) | {late.id}
    assert all(after[pid] == before[pid] for pid in before)
    late_paper = session.scalar(select(Paper).where(Paper.person_id == late.id))
    assert rebuild_paper(session, late_paper)["identical"]


def test_exposure_is_reported_per_source_in_check_and_generation(session, exam_with_people):
    exam, *_ = exam_with_people
    report = check_pool(session, exam)
    assert report["ok"]
    rows = {r["key"]: r for r in report["stats"]["exposure_by_source"]}
    assert set(rows) == {"criminal_law", "supervision_law"}
    assert {r["label"] for r in rows.values()} == {"刑法", "监察法"}
    for r in rows.values():
        # 5 of the 10 questions of every paper per source, 5 papers; of a source's 40
        # questions those of bands a section asks for are eligible
        assert 0 < r["questions"] <= 40 and r["per_paper"] == pytest.approx(5)
        assert r["expected"] == pytest.approx(5 * 5 / r["questions"], abs=0.05)
        assert r["min"] <= r["max"]
        assert r["expected_min"] <= r["expected"] <= r["expected_max"]
    assert {b["key"] for b in report["stats"]["exposure_by_band"]} == {"easy", "medium", "hard"}
    generated = generate_papers(session, exam, now=NOW)
    gen = session.scalar(select(PaperGeneration).where(PaperGeneration.exam_id == exam.id))
    assert gen.stats["exposure_by_source"] == generated["stats"]["exposure_by_source"]
    assert gen.stats["exposure_by_source"][0]["label"] in ("刑法", "监察法")
    # the dry run and the real run draw the same papers
    assert generated["stats"]["exposure_max"] == report["stats"]["exposure_max"]


def test_check_pool_names_short_cells(
    session, sources, make_question, make_blueprint, make_exam, make_person
):
    from exam.papers import blueprints as bps

    for _ in range(3):
        make_question(type="single", source="criminal_law", difficulty=3)
    row = bps.save_blueprint(
        session,
        bps.validate(
            session,
            {
                "code": "short",
                "name": "不足",
                "pass_mark": 3,
                "source_shares": {"刑法": 50, "监察法": 50},
                "difficulty_shares": {"中等": 100},
                "sections": [{"type": "单选", "count": 6, "points": 1}],
            },
        ),
    )
    exam = make_exam([make_person()], blueprint=row)
    report = check_pool(session, exam)
    assert not report["ok"]
    messages = [s["message"] for s in report["shortages"]]
    assert "单选 × 监察法 × 中等：需要 3 题，题库仅有 0 题，缺 3 题。" in messages
    assert not any("刑法" in m for m in messages)
    with pytest.raises(Exception) as info:
        generate_papers(session, exam, now=NOW)
    assert "监察法" in "\n".join(info.value.details)
    assert _count(session, Paper, exam_id=exam.id) == 0 and _count(session, PaperItem) == 0


def test_cli_check_and_generate(runner, session, exam_with_people):
    exam, *_ = exam_with_people
    result = runner.invoke(["exam", "check", str(exam.id)])
    assert result.exit_code == 0, result.output
    assert "题库可以满足组卷规则" in result.output
    result = runner.invoke(["exam", "generate-papers", str(exam.id), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["generated"] == 5
    assert _count(session, Paper, exam_id=exam.id) == 5
    result = runner.invoke(["exam", "generate-papers", str(exam.id)])
    assert "本次生成 0 份" in result.output
    person_no = exam_with_people[1][0].person_no
    result = runner.invoke(["exam", "rebuild-paper", str(exam.id), person_no])
    assert result.exit_code == 0 and "一致" in result.output


def test_cli_blueprint_commands(runner, session, sources, tmp_path):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "exam/data/demo_blueprint.yaml"
    result = runner.invoke(["blueprint", "import", str(demo)])
    assert result.exit_code == 0, result.output
    assert "xk-demo 第1版" in result.output
    assert "xk-demo 第2版" in runner.invoke(["blueprint", "import", str(demo)]).output
    listing = runner.invoke(["blueprint", "list", "--json"])
    rows = json.loads(listing.output)
    assert [(r["code"], r["version"], r["questions"]) for r in rows] == [("xk-demo", 2, 45)]
    show = runner.invoke(["blueprint", "show", "xk-demo", "--version", "1"])
    assert "单选 20题 × 2分" in show.output and "刑法 ×" in show.output
    assert "已复制为 xk-copy" in runner.invoke(["blueprint", "copy", "xk-demo", "xk-copy"]).output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "code: b\nname: 坏\nsource_shares: {刑法: 40}\nsections: [{type: 单选, count: 2, points: 1}]\n",
        encoding="utf-8",
    )
    result = runner.invoke(["blueprint", "import", str(bad)])
    assert result.exit_code == 1
    assert "比例合计为 40%" in result.output


def test_check_names_cells_relations_make_short_and_generation_keeps_pairs_apart(
    runner, session, sources, make_question, make_exam, make_person
):
    from exam.papers import blueprints as bps
    from question_bank.related import refresh_relations

    stems = (
        "贪污罪的主体是（ ）",
        "受贿数额较大的（ ）",
        "行贿罪的追诉期限（ ）",
        "挪用公款归个人使用（ ）",
    )
    versions = [
        make_question(type="single", source="criminal_law", difficulty=3, stem=stem)
        for stem in stems
    ]
    for v in versions[:3]:
        v.question.exclusion_group = "同一条文"
    refresh_relations(session)
    row = bps.save_blueprint(
        session,
        bps.validate(
            session,
            {
                "code": "apart",
                "name": "互斥",
                "pass_mark": 1,
                "source_shares": {"刑法": 100},
                "difficulty_shares": {"中等": 100},
                "sections": [{"type": "单选", "count": 3, "points": 1}],
            },
        ),
    )
    exam = make_exam([make_person() for _ in range(4)], blueprint=row)
    result = runner.invoke(["exam", "check", str(exam.id)])
    assert result.exit_code == 1
    assert "单选 × 刑法 × 中等：需要 3 题" in result.output
    assert "一份试卷最多只能从中选出 2 题，缺 1 题" in result.output
    with pytest.raises(PoolShortage) as info:
        generate_papers(session, exam, now=NOW)
    assert "关联题" in "\n".join(info.value.details)
    # one question leaves the group: the cell can be filled, but never with two of it
    versions[2].question.exclusion_group = None
    refresh_relations(session)
    report = check_pool(session, exam)
    assert report["ok"] and report["related_pairs"] == 1
    assert report["related_cells"] and not report["related_cells"][0]["short"]
    generate_papers(session, exam, now=NOW)
    apart = {versions[0].id, versions[1].id}
    for paper in session.scalars(select(Paper).where(Paper.exam_id == exam.id)):
        assert not apart <= {i.question_version_id for i in paper.items}
        assert rebuild_paper(session, paper)["identical"]
    gen = session.scalar(select(PaperGeneration).where(PaperGeneration.exam_id == exam.id))
    assert gen.related_pairs == [sorted(apart)]
