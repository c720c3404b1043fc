#!/usr/bin/env python3
"""Benchmark, PERFORMANCE.md target 5: 10,000 attempts × 50 answers (500,000 answer rows)
-> all statistics, charts and the workbook in <= 60 s, peak memory <= 2 GiB.

Builds a fresh SQLite database (real migrations) in a temporary directory with bulk
inserts, then times the analysis end to end: loading, statistics, charts, workbook, notice.
The last line printed is one JSON object.

    .venv/bin/python scripts/bench/analysis.py [--attempts 10000] [--items 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analysis import charts, notice, report, workbook  # noqa: E402
from core.db import make_engine, make_session_factory  # noqa: E402
from core.org.models import OrgUnit, Person  # noqa: E402
from exam.models import (  # noqa: E402
    Answer,
    Attempt,
    Blueprint,
    Exam,
    Paper,
    PaperItem,
    Participant,
)
from jifa.app.migrate import upgrade  # noqa: E402
from question_bank.models import (  # noqa: E402
    KnowledgePoint,
    Question,
    QuestionVersion,
    version_knowledge_points,
)
from question_bank.sources import ensure_default_sources  # noqa: E402

NOW = dt.datetime(2026, 6, 15, 1, 0, tzinfo=dt.UTC)
# (type, count per paper, points, pool size)
SECTIONS = [("single", 20, 2.0, 200), ("multiple", 10, 2.0, 100), ("true_false", 10, 1.0, 100),
            ("fill_blank", 10, 3.0, 100)]  # fmt: skip
KINDS = ["town"] * 8 + ["street"] * 4 + ["park"] * 1 + ["department"] * 12 + ["unit"] * 5


def build(url: str, attempts: int, seed: int = 5) -> int:
    rng = np.random.default_rng(seed)
    factory = make_session_factory(make_engine(url))
    with factory.begin() as s:
        sources = list(ensure_default_sources(s).values())
        s.flush()
        s.execute(insert(OrgUnit), [{"id": 1, "code": "D", "name": "示范区", "kind": "district",
                                     "parent_id": None, "path": "/1/"}])  # fmt: skip
        units = [
            {"id": i + 2, "code": f"U{i:02d}", "name": f"单位{i:02d}", "kind": k,
             "parent_id": 1, "path": f"/1/{i + 2}/"}
            for i, k in enumerate(KINDS)
        ]  # fmt: skip
        s.execute(insert(OrgUnit), units)
        kps = [{"id": i + 1, "name": f"知识点{i + 1:02d}"} for i in range(40)]
        s.execute(insert(KnowledgePoint), kps)
        qrows, vrows, kprows, pool = [], [], [], {}
        qid = 0
        for qtype, _, _, size in SECTIONS:
            pool[qtype] = []
            for _ in range(size):
                qid += 1
                opts = (
                    [{"key": k, "text": f"选项{k}"} for k in "ABCD"]
                    if qtype in ("single", "multiple")
                    else []
                )
                ans = {"single": "A", "multiple": ["A", "C"], "true_false": True,
                       "fill_blank": [["留置"]]}[qtype]  # fmt: skip
                qrows.append({"id": qid, "code": f"Q{qid:06d}", "status": "active"})
                vrows.append({"id": qid, "question_id": qid, "version": 1, "is_current": True,
                              "type": qtype, "stem": f"题干{qid}", "options": opts, "answer": ans,
                              "explanation": "", "difficulty": int(rng.integers(1, 6)),
                              "tiers": ["all"], "source_id": sources[qid % len(sources)].id,
                              "fingerprint": f"{qid:064d}"})  # fmt: skip
                kprows.append({"version_id": qid, "knowledge_point_id": int(rng.integers(1, 41))})
                pool[qtype].append(qid)
        s.execute(insert(Question), qrows)
        s.execute(insert(QuestionVersion), vrows)
        s.execute(version_knowledge_points.insert(), kprows)
        difficulty = {v["id"]: v["difficulty"] for v in vrows}
        ranks = rng.choice(
            ["county", "township", "general", "other"], attempts, p=[0.05, 0.5, 0.4, 0.05]
        )
        unit_of = rng.integers(2, 2 + len(KINDS), attempts)
        s.execute(insert(Person), [
            {"id": i + 1, "person_no": f"P{i + 1:06d}", "name": f"测试{i + 1}", "unit_id": int(unit_of[i]),
             "rank": str(ranks[i]), "is_party_member": True}
            for i in range(attempts)
        ])  # fmt: skip
        spec = {"sections": [{"type": t, "count": c, "points": p} for t, c, p, _ in SECTIONS]}
        total = sum(c * p for _, c, p, _ in SECTIONS)
        s.execute(insert(Blueprint), [{"id": 1, "code": "BENCH", "version": 1, "name": "基准",
                                       "spec": spec, "total_points": total, "pass_mark": 60}])  # fmt: skip
        s.execute(insert(Exam), [{"id": 1, "title": "基准测试考试", "blueprint_id": 1,
                                  "owner_unit_id": 1, "seed": "bench", "opens_at": NOW,
                                  "closes_at": NOW + dt.timedelta(hours=8), "duration_minutes": 60,
                                  "pass_mark": 60, "status": "closed"}])  # fmt: skip
        s.execute(insert(Participant), [
            {"exam_id": 1, "person_id": i + 1, "unit_id": int(unit_of[i]), "enrolled_via": "draw"}
            for i in range(attempts)
        ])  # fmt: skip
        s.execute(insert(Paper), [
            {"id": i + 1, "exam_id": 1, "person_id": i + 1, "blueprint_id": 1,
             "total_points": total, "mean_difficulty": 3.0}
            for i in range(attempts)
        ])  # fmt: skip
        ability = rng.normal(0.5, 1.0, attempts) + (unit_of % 7 - 3) * 0.1
        items, answers = [], []
        item_id = 0
        for a in range(attempts):
            pos = 0
            for qtype, count, points, _ in SECTIONS:
                chosen = rng.choice(pool[qtype], count, replace=False)
                order = ["A", "B", "C", "D"] if qtype in ("single", "multiple") else []
                for q in chosen:
                    pos += 1
                    item_id += 1
                    items.append({"id": item_id, "paper_id": a + 1, "position": pos, "section": 0,
                                  "question_version_id": int(q), "points": points,
                                  "option_order": order})  # fmt: skip
                    b = -2.0 + 0.9 * (difficulty[int(q)] - 1)
                    correct = rng.random() < 1 / (1 + np.exp(-(ability[a] - b)))
                    resp = {"single": "A" if correct else "B", "multiple": ["A", "C"] if correct else ["A"],
                            "true_false": bool(correct), "fill_blank": ["留置" if correct else "x"]}[qtype]  # fmt: skip
                    answers.append({"attempt_id": a + 1, "paper_item_id": item_id, "response": resp,
                                    "marks": points if correct else 0.0, "is_correct": bool(correct),
                                    "saved_at": NOW})  # fmt: skip
        s.execute(insert(PaperItem), items)
        s.execute(insert(Attempt), [
            {"id": a + 1, "exam_id": 1, "person_id": a + 1, "paper_id": a + 1,
             "unit_id": int(unit_of[a]), "status": "submitted", "started_at": NOW,
             "deadline_at": NOW + dt.timedelta(hours=1), "submitted_at": NOW + dt.timedelta(minutes=50),
             "submitted_by": "candidate"}
            for a in range(attempts)
        ])  # fmt: skip
        s.execute(insert(Answer), answers)
    return len(answers)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--attempts", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        t0 = time.perf_counter()
        rows = build(url, args.attempts)
        t_build = time.perf_counter() - t0
        factory = make_session_factory(make_engine(url))
        timings = {}
        t = time.perf_counter()
        with factory() as session:
            rep = report.build(session, [1])
        timings["load_and_statistics_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pngs = charts.render_all(rep)
        timings["charts_s"] = time.perf_counter() - t
        t = time.perf_counter()
        xlsx = Path(tmp) / "bench.xlsx"
        workbook.write(rep, xlsx, pngs)
        timings["workbook_s"] = time.perf_counter() - t
        t = time.perf_counter()
        # everything published: web notice, Word notice, WeChat article
        files = notice.publication(
            rep, pngs, issuer="中共示范区纪律检查委员会", date=dt.date(2026, 11, 29)
        )
        notice.write_files(files, Path(tmp) / "notice")
        timings["notice_s"] = time.perf_counter() - t
        total = sum(timings.values())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
        result = {
            "target": "PERFORMANCE.md 5: analysis",
            "attempts": int(rep.overall["n"]),
            "answer_rows": rows,
            "items_analysed": len(rep.item_table),
            "build_db_s": round(t_build, 2),
            **{k: round(v, 2) for k, v in timings.items()},
            "analysis_total_s": round(total, 2),
            "workbook_mb": round(xlsx.stat().st_size / 1e6, 2),
            "peak_rss_mib": round(peak, 1),
            "within_60s": total <= 60,
            "within_2gib": peak <= 2048,
        }
        print(f"alpha={rep.reliability['alpha']:.3f} mean={rep.overall['mean']:.2f}")
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
