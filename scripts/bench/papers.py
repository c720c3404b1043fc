"""Benchmark, target 4 (../shared/design/PERFORMANCE.md): 10,000 papers x 50 questions
from a generated 2,000-question bank under source x type x difficulty quotas, with
exposure control and parallel forms.

Related questions (互斥/关联题) are on: about one question in five of the bank is
related to another one (``--related-share``; 0 turns relations off), and no paper may
hold a related pair (checked on every generated paper).

Prints generation time (target <= 3 s), persistence time on SQLite in a temporary
database (target <= 15 s), the exposure min/max (overall, against each question's
quota-implied use, and per source and band) and the difficulty spread; the last line is
one JSON object.

    .venv/bin/python scripts/bench/papers.py [--papers 10000] [--bank 2000] [--related-share 0.2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert  # noqa: E402

from exam.papers.generation.cohort import generate_cohort  # noqa: E402
from exam.papers.generation.plan import prepare  # noqa: E402
from exam.papers.generation.pool import PoolItem  # noqa: E402
from exam.papers.parse import parse_blueprint  # noqa: E402

SOURCES = (
    "party_constitution",
    "integrity_guidelines",
    "disciplinary_regulations",
    "accountability_regulations",
    "supervision_law",
    "criminal_law",
)
TYPE_MIX = (("single", 0.40), ("multiple", 0.25), ("true_false", 0.20), ("fill_blank", 0.15))
BLUEPRINT = {
    "code": "bench",
    "name": "基准测试组卷规则",
    "tier": "all",
    "pass_mark": 60,
    "target_difficulty": 3.0,
    "difficulty_tolerance": 0.2,
    "source_shares": dict.fromkeys(SOURCES, 100 / 6),
    "difficulty_shares": {"easy": 30, "medium": 40, "hard": 30},
    "sections": [
        {"type": "single", "count": 20, "points": 2},
        {
            "type": "multiple",
            "count": 15,
            "points": 2,
            "policy": "partial",
            "partial_fraction": 0.5,
        },
        {"type": "true_false", "count": 10, "points": 1},
        {"type": "fill_blank", "count": 5, "points": 2},
    ],
}


def make_bank(n: int, rng: random.Random) -> list[dict]:
    rows = []
    for i in range(1, n + 1):
        r = rng.random()
        acc = 0.0
        qtype = TYPE_MIX[-1][0]
        for name, share in TYPE_MIX:
            acc += share
            if r <= acc:
                qtype = name
                break
        n_opts = rng.choice((4, 4, 4, 5)) if qtype in ("single", "multiple") else 0
        options = [{"key": chr(65 + k), "text": f"选项{k}"} for k in range(n_opts)]
        if n_opts == 5 and rng.random() < 0.3:
            options[-1]["text"] = "以上都对"
        if qtype == "single":
            answer = "A"
        elif qtype == "multiple":
            answer = ["A", "C"]
        elif qtype == "true_false":
            answer = True
        else:
            answer = [["留置"]]
        rows.append(
            {
                "id": i,
                "type": qtype,
                "source": SOURCES[i % len(SOURCES)],
                "difficulty": rng.choices((1, 2, 3, 4, 5), (10, 20, 40, 20, 10))[0],
                "options": options,
                "answer": answer,
            }
        )
    return rows


def make_relations(bank, share: float, rng: random.Random) -> list[tuple[int, int]]:
    """Related pairs: ``share`` of the questions each related to another question of the
    same source, mostly of the same type (a fill-in and a choice on the same words)."""
    by_source: dict[str, list[dict]] = {}
    for b in bank:
        by_source.setdefault(b["source"], []).append(b)
    pairs = set()
    for b in bank:
        if rng.random() >= share / 2:  # each pair involves two questions
            continue
        same = [o for o in by_source[b["source"]] if o["id"] != b["id"]]
        typed = [o for o in same if o["type"] == b["type"]]
        other = rng.choice(typed if typed and rng.random() < 0.7 else same)
        pairs.add((min(b["id"], other["id"]), max(b["id"], other["id"])))
    return sorted(pairs)


def bench_generation(bank, papers: int, pairs) -> tuple[float, dict, object]:
    spec = parse_blueprint(BLUEPRINT)
    pool = [
        PoolItem.from_version(b["id"], b["type"], b["source"], b["difficulty"], b["options"])
        for b in bank
    ]
    t0 = time.perf_counter()
    plan = prepare(pool, spec, related=pairs)
    cohort = generate_cohort(plan, "bench-seed", range(1, papers + 1))
    elapsed = time.perf_counter() - t0
    related = set(pairs)
    holding = 0
    for paper in cohort.papers.values():
        ids = sorted(it.version_id for it in paper.items)
        if any((a, b) in related for i, a in enumerate(ids) for b in ids[i + 1 :]):
            holding += 1
    if holding:
        raise SystemExit(f"{holding} papers hold a related pair")
    return elapsed, cohort.stats(), (spec, plan)


def _insert_bank(s, bank, source_ids: dict[str, int]) -> None:
    """The synthetic bank as questions with one current version each."""
    from question_bank.models import Question, QuestionVersion

    s.execute(
        insert(Question),
        [{"id": b["id"], "code": f"Q{b['id']:06d}", "status": "active"} for b in bank],
    )
    s.execute(
        insert(QuestionVersion),
        [
            {
                "id": b["id"],
                "question_id": b["id"],
                "version": 1,
                "is_current": True,
                "type": b["type"],
                "stem": f"题干{b['id']}",
                "options": b["options"],
                "answer": b["answer"],
                "difficulty": b["difficulty"],
                "tiers": ["all"],
                "source_id": source_ids[b["source"]],
                "fingerprint": f"{b['id']:064d}",
            }
            for b in bank
        ],
    )


def _insert_relations(s, pairs) -> None:
    from question_bank.models import RelatedQuestion

    if pairs:
        s.execute(
            insert(RelatedQuestion),
            [
                {"question_a_id": a, "question_b_id": b, "reason": "gives_away", "origin": "auto"}
                for a, b in pairs
            ],
        )


def _seed_exam(factory, bank, papers: int, now: dt.datetime, pairs=()) -> int:
    """Sources, the bank, ``papers`` people and an exam enrolling them all -> exam id."""
    from core.org.models import OrgUnit, Person
    from exam.models import Exam, Participant
    from exam.papers import blueprints as bps
    from question_bank.models import LawSource

    with factory.begin() as s:
        for order, code in enumerate(SOURCES):
            s.add(LawSource(code=code, name=code, short_names=[], sort_order=order))
        unit = OrgUnit(code="D", name="示范区", kind="district", path="/")
        s.add(unit)
        s.flush()
        source_ids = {src.code: src.id for src in s.query(LawSource)}
        _insert_bank(s, bank, source_ids)
        _insert_relations(s, pairs)
        s.execute(
            insert(Person),
            [
                {
                    "id": i,
                    "person_no": f"B{i:06d}",
                    "name": f"考生{i}",
                    "unit_id": unit.id,
                    "rank": "township",
                }
                for i in range(1, papers + 1)
            ],
        )
        bp_row = bps.save_blueprint(s, bps.validate(s, dict(BLUEPRINT)))
        exam = Exam(
            title="基准考试",
            blueprint_id=bp_row.id,
            owner_unit_id=unit.id,
            seed="bench-seed",
            opens_at=now,
            closes_at=now + dt.timedelta(hours=2),
            duration_minutes=60,
            pass_mark=60,
        )
        s.add(exam)
        s.flush()
        s.execute(
            insert(Participant),
            [
                {"exam_id": exam.id, "person_id": i, "unit_id": unit.id}
                for i in range(1, papers + 1)
            ],
        )
        exam_id = exam.id
    return exam_id


def bench_persistence(bank, papers: int, pairs=()) -> dict:
    from core.db import make_engine, make_session_factory
    from exam.models import Exam
    from exam.papers.persist import generate_papers
    from jifa.app.migrate import upgrade

    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.sqlite3"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = dt.datetime(2026, 6, 15, 1, 0, tzinfo=dt.UTC)
    exam_id = _seed_exam(factory, bank, papers, now, pairs)
    marks = {}

    def progress(done: int, total: int) -> None:
        if done == total // 2 and "generated" not in marks:
            marks["generated"] = time.perf_counter()

    t0 = time.perf_counter()
    with factory.begin() as s:
        exam = s.get(Exam, exam_id)
        report = generate_papers(s, exam, now=now, progress=progress)
        t_written = time.perf_counter()
    t_committed = time.perf_counter()
    engine.dispose()
    tmp.cleanup()
    generated = marks.get("generated", t0)
    return {
        "end_to_end_s": round(t_committed - t0, 3),
        "load_and_generate_s": round(generated - t0, 3),
        "persist_s": round(t_committed - generated, 3),
        "write_s": round(t_written - generated, 3),
        "papers_written": report["generated"],
        "stats": report["stats"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--bank", type=int, default=2_000)
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--related-share", type=float, default=0.2)
    args = parser.parse_args()
    bank = make_bank(args.bank, random.Random(2026))
    pairs = make_relations(bank, args.related_share, random.Random(11))
    gen_s, stats, (spec, _plan) = bench_generation(bank, args.papers, pairs)
    print(
        f"generation: {args.papers} papers x {spec.question_count} questions from "
        f"{args.bank} in {gen_s:.2f} s (target <= 3 s), {len(pairs)} related pairs kept "
        f"apart (none on any paper)"
    )
    print(
        f"exposure: min {stats['exposure_min']} max {stats['exposure_max']} mean "
        f"{stats['exposure_mean']} over {stats['eligible_questions']} eligible questions; "
        f"usage / quota-implied expectation {stats['exposure_vs_expected_min']}.."
        f"{stats['exposure_vs_expected_max']}; quota-implied use "
        f"{stats['exposure_expected_min']}..{stats['exposure_expected_max']}; dispersion "
        f"{stats['exposure_dispersion']} (1 = binomial chance)"
    )
    for group in stats["exposure_by_source"] + stats["exposure_by_band"]:
        print(
            f"  {group['key']:<28} {group['questions']:>4} questions, {group['per_paper']:>5} "
            f"per paper: expected {group['expected']} (quota-implied "
            f"{group['expected_min']}..{group['expected_max']}), used {group['min']}.."
            f"{group['max']} = {group['min_ratio']}..{group['max_ratio']} x expected"
        )
    print(
        f"difficulty: {stats['difficulty_min']}..{stats['difficulty_max']} "
        f"(spread {stats['difficulty_spread']}, target 3.0 +/- 0.2)"
    )
    result = {
        "papers": args.papers,
        "questions_per_paper": spec.question_count,
        "bank": args.bank,
        "related_pairs": len(pairs),
        "generation_s": round(gen_s, 3),
        "generation_target_s": 3,
        **{k: stats[k] for k in stats if k != "papers"},
    }
    if not args.skip_db:
        db = bench_persistence(bank, args.papers, pairs)
        print(
            f"sqlite: load+generate {db['load_and_generate_s']} s, persist "
            f"{db['persist_s']} s (target <= 15 s), end to end {db['end_to_end_s']} s"
        )
        result.update(
            sqlite_persist_s=db["persist_s"],
            sqlite_persist_target_s=15,
            sqlite_end_to_end_s=db["end_to_end_s"],
            sqlite_papers_written=db["papers_written"],
        )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
