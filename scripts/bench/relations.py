"""Benchmark: find the related pairs (互斥题) of a 5,000-question bank.

Pure Python, no database. The bank is made from the starter bank: every question is
copied ``--copies`` times with a share of its characters replaced by characters of the
bank, so the texts keep the bank's vocabulary (common grams such as 党员, 规定, 应当 make
long posting lists, the hard case for an index) without being copies of each other.

Target: the whole bank's relations in <= 5 s; one new question against the bank in
<= 50 ms (recompute on import or edit). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from question_bank.relations import GIVES_AWAY, RelationIndex, RelItem  # noqa: E402
from question_bank.starter import starter_files  # noqa: E402

TYPES = {"单选": "single", "多选": "multiple", "判断": "true_false", "填空": "fill_blank"}


def starter_items() -> list[RelItem]:
    items = []
    for path in starter_files():
        with path.open(encoding="utf-8-sig", newline="") as f:
            for n, row in enumerate(csv.DictReader(f)):
                kind = TYPES[row["题型"]]
                options = [
                    {"key": k, "text": row[f"选项{k}"]} for k in "ABCDEFGH" if row[f"选项{k}"]
                ]
                answer: object = row["答案"]
                if kind == "multiple":
                    answer = sorted(row["答案"])
                elif kind == "true_false":
                    answer = row["答案"] == "对"
                elif kind == "fill_blank":
                    answer = [b.split("/") for b in row["答案"].split("|")]
                items.append(
                    RelItem.of(f"{path.stem}:{n}", kind, row["题干"], options, answer, path.stem)
                )
    return items


def perturb(text: str, rng: random.Random, alphabet: str, share: float) -> str:
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch not in "（）_" and rng.random() < share:
            chars[i] = rng.choice(alphabet)
    return "".join(chars)


def make_bank(n: int, share: float, seed: int) -> list[RelItem]:
    rng = random.Random(seed)
    base = starter_items()
    alphabet = "".join(sorted({c for i in base for c in i.stem if "\u4e00" <= c <= "\u9fff"}))
    items = list(base)
    copy = 0
    while len(items) < n:
        copy += 1
        for item in base:
            if len(items) >= n:
                break
            options = [
                {"key": k, "text": perturb(t, rng, alphabet, share)} for k, t in item.options
            ]
            answer = item.answer
            if item.type == "fill_blank":
                answer = [[perturb(b[0], rng, alphabet, share)] for b in item.answer]
            items.append(
                RelItem.of(
                    f"{item.key}#{copy}",
                    item.type,
                    perturb(item.stem, rng, alphabet, share),
                    options,
                    answer,
                    item.source,
                )
            )
    return items


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=5000)
    p.add_argument("--share", type=float, default=0.3, help="share of characters replaced")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--probes", type=int, default=200, help="single-question look-ups timed")
    args = p.parse_args()

    items = make_bank(args.questions, args.share, args.seed)
    t0 = time.perf_counter()
    index = RelationIndex(items)
    t1 = time.perf_counter()
    gives = index.gives_away()
    t2 = time.perf_counter()
    near = index.near_duplicates()
    t3 = time.perf_counter()
    rng = random.Random(args.seed)
    probes = rng.sample(items, min(args.probes, len(items)))
    t4 = time.perf_counter()
    for item in probes:
        index.relations_of(item)
    t5 = time.perf_counter()

    figures = {
        "questions": len(items),
        "index_s": round(t1 - t0, 3),
        "gives_away_s": round(t2 - t1, 3),
        "near_duplicates_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 3),
        "one_question_ms": round((t5 - t4) / len(probes) * 1000, 2),
        "gives_away_pairs": len({r.pair for r in gives if r.reason == GIVES_AWAY}),
        "near_duplicate_pairs": len(near),
        "target_total_s": 5.0,
        "target_one_question_ms": 50.0,
    }
    print(f"{len(items)} questions")
    print(f"  index built            {figures['index_s']:.3f} s")
    print(f"  answers given away     {figures['gives_away_s']:.3f} s ({len(gives)} pairs)")
    print(f"  near duplicates        {figures['near_duplicates_s']:.3f} s ({len(near)} pairs)")
    print(f"  total                  {figures['total_s']:.3f} s (target <= 5 s)")
    print(f"  one question vs bank   {figures['one_question_ms']:.2f} ms (target <= 50 ms)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
