"""Benchmark: validate and import a generated 5,000-question workbook.

Target (../shared/design/PERFORMANCE.md #6): <= 20 s. Fresh SQLite database in a temp
dir; the last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.db import make_engine, make_session_factory  # noqa: E402
from core.excel import SheetSpec, write_workbook  # noqa: E402
from jifa.app.migrate import upgrade  # noqa: E402
from question_bank.importer import import_path  # noqa: E402
from question_bank.sources import DEFAULT_SOURCES  # noqa: E402
from question_bank.template import TEMPLATE_HEADERS  # noqa: E402

TYPES = ("单选", "多选", "判断", "填空")


def generate_rows(n: int, seed: int = 5000) -> list[list]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        kind = TYPES[i % 4]
        source = DEFAULT_SOURCES[i % len(DEFAULT_SOURCES)].short_names[0]
        article = f"第{rng.randint(1, 60)}条" if i % 7 else None
        options = [None] * 8
        if kind in ("单选", "多选"):
            count = rng.randint(4, 6)
            for k in range(count):
                options[k] = f"选项{k}-{i}-{rng.randrange(10**6)}"
            answer = "ABCDEF"[rng.randrange(count)] if kind == "单选" else "AC"
            stem = f"第{i}题：下列说法正确的是（ ）。"
        elif kind == "判断":
            answer = rng.choice(["对", "错"])
            stem = f"第{i}题：这是一道判断题。"
        else:
            answer = f"答案{i}/备选{i}"
            stem = f"第{i}题：请填写____。"
        rows.append(
            [
                kind,
                stem,
                *options,
                answer,
                f"解析{i}",
                rng.randint(1, 5),
                f"知识点{i % 40}；综合",
                source,
                article,
                "全部",
                "启用",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        upgrade(url)
        t0 = time.perf_counter()
        path = write_workbook(
            tmp / "bank.xlsx", [SheetSpec("题库", TEMPLATE_HEADERS, generate_rows(args.questions))]
        )
        generate_s = time.perf_counter() - t0
        factory = make_session_factory(make_engine(url))
        t1 = time.perf_counter()
        with factory() as session:
            dry = import_path(session, path, dry_run=True)
            session.rollback()
        validate_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        with factory.begin() as session:
            report = import_path(session, path)
        import_s = time.perf_counter() - t2
        file_bytes = path.stat().st_size
    figures = {
        "benchmark": "bank_import",
        "questions": args.questions,
        "file_bytes": file_bytes,
        "generate_s": round(generate_s, 2),
        "validate_only_s": round(validate_s, 2),
        "validate_and_import_s": round(import_s, 2),
        "valid": dry.valid,
        "imported": report.imported,
        "rejected": len(report.rejected),
        "target_s": 20,
        "meets_target": import_s <= 20 and report.imported == args.questions,
    }
    print(f"generated {args.questions} questions in {generate_s:.2f} s")
    print(f"validated (dry run) in {validate_s:.2f} s; validated and imported in {import_s:.2f} s")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
