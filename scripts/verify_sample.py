#!/usr/bin/env python3
"""Reproduce a published sampling draw with nothing but the Python standard library.

Usage:
    python verify_sample.py ROSTER.csv --entropy DIGITS --quota "20%,min=3"
           [--hash EXPECTED_SHA256] [--seed SEED] [--json]

ROSTER.csv is the published canonical roster (header
``stratum_code,stratum_name,person_no,rank``). The script checks its SHA-256, builds
``seed = entropy + "|" + roster_hash`` (or takes --seed as published), computes every
ticket ``sha256(sha256(seed) + "," + person_no)`` and lists, per stratum in ticket order,
the selected people and then the alternates.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import sys
from decimal import Decimal


def h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def quota(rule: str, n: int) -> int:
    parts = [p.strip() for p in rule.replace("％", "%").replace("，", ",").split(",")]
    head, minimum, maximum = parts[0], 0, None
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip() == "min":
            minimum = int(value)
        elif key.strip() == "max":
            maximum = int(value)
        else:
            raise SystemExit(f"unknown quota rule part: {part}")
    q = max(minimum, math.ceil(Decimal(head[:-1]) / 100 * n)) if head.endswith("%") else int(head)
    if maximum is not None:
        q = min(q, maximum)
    return max(0, min(n, q))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("roster")
    ap.add_argument("--entropy", help="the public entropy (e.g. dice digits)")
    ap.add_argument("--seed", help="the published seed (entropy|roster_hash)")
    ap.add_argument("--quota", required=True, help='e.g. "20%%,min=3" or "5"')
    ap.add_argument("--hash", dest="expected_hash", help="the published roster SHA-256")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    with open(args.roster, "rb") as fh:
        data = fh.read()
    roster_hash = hashlib.sha256(data).hexdigest()
    if args.expected_hash and args.expected_hash.lower() != roster_hash:
        print(f"roster hash mismatch: file {roster_hash}, published {args.expected_hash}")
        return 2
    if args.seed:
        seed = args.seed
        if args.entropy is not None and seed != args.entropy + "|" + roster_hash:
            print("seed does not equal entropy|roster_hash")
            return 2
    elif args.entropy is not None:
        seed = args.entropy + "|" + roster_hash
    else:
        ap.error("give --entropy or --seed")

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if tuple(rows[0]) != ("stratum_code", "stratum_name", "person_no", "rank"):
        print("unexpected roster header")
        return 2
    strata: dict[str, tuple[str, list[str]]] = {}
    for code, name, person_no, _rank in (r for r in rows[1:] if r):
        strata.setdefault(code, (name, []))[1].append(person_no)

    seed_hash = h(seed)
    lines, out = [], []
    for code in sorted(strata):
        name, people = strata[code]
        order = sorted((h(seed_hash + "," + p), p) for p in people)
        q = quota(args.quota, len(order))
        lines.append(f"[{code}] {name} n={len(order)} quota={q}")
        for i, (t, p) in enumerate(order, start=1):
            lines.append(f"{i}\t{'selected' if i <= q else 'alternate'}\t{p}\t{t}")
        out.append(
            {
                "code": code,
                "name": name,
                "n": len(order),
                "quota": q,
                "selected": [{"person_no": p, "ticket": t} for t, p in order[:q]],
                "alternates": [{"person_no": p, "ticket": t} for t, p in order[q:]],
            }
        )
    if args.json:
        print(
            json.dumps(
                {"roster_sha256": roster_hash, "seed": seed, "strata": out}, ensure_ascii=False
            )
        )
    else:
        sys.stdout.write(f"roster_sha256 {roster_hash}\nseed {seed}\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
