"""Pure sampling procedure (SAMPLING.md): canonical CSV, hash, quota rule, tickets."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import sampling
from analysis.sampling import RosterEntry, parse_quota_rule
from core.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def _roster():
    entries = []
    for code, name, n in [("T01", "城关镇", 17), ("S01", "东城街道", 2), ("D01", "区财政局", 9)]:
        for i in range(n):
            entries.append(RosterEntry(code, f"{code}-{i:04d}", name, "township"))
    return entries


def test_canonical_csv_format():
    text = sampling.canonical_roster_csv(
        [RosterEntry("T2", "P2", "乙镇", "township"), RosterEntry("T1", "P9", "甲,镇", "township")]
    )
    assert text == (
        'stratum_code,stratum_name,person_no,rank\nT1,"甲,镇",P9,township\nT2,乙镇,P2,township\n'
    )
    assert sampling.roster_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert not text.encode("utf-8").startswith(b"\xef\xbb\xbf")


def test_duplicate_person_rejected():
    with pytest.raises(InvalidInput):
        sampling.canonical_roster_csv([RosterEntry("A", "P1", "a", "x")] * 2)


def test_shuffled_roster_same_hash_and_sample():
    roster = _roster()
    rule = parse_quota_rule("20%,min=3")
    text = sampling.canonical_roster_csv(roster)
    seed = sampling.seed_from("31415926535897932384", sampling.roster_hash(text))
    base = sampling.draw_sample(roster, rule, seed)
    for s in range(5):
        shuffled = roster[:]
        random.Random(s).shuffle(shuffled)
        assert sampling.canonical_roster_csv(shuffled) == text
        assert sampling.draw_sample(shuffled, rule, seed) == base


def test_one_stratum_alone_gives_same_people():
    roster = _roster()
    rule = parse_quota_rule("20%,min=3")
    seed = "12345678901234567890|abc"
    full = {r.code: r for r in sampling.draw_sample(roster, rule, seed)}
    alone = sampling.draw_sample([e for e in roster if e.stratum_code == "T01"], rule, seed)
    assert alone == [full["T01"]]


def test_tickets_follow_the_written_formula():
    seed = "99999999999999999999|" + "0" * 64
    r = sampling.draw_stratum("X", "x", ["P1", "P2", "P3", "P4"], parse_quota_rule("2"), seed)
    sh = hashlib.sha256(seed.encode()).hexdigest()
    expected = sorted(
        (hashlib.sha256(f"{sh},{p}".encode()).hexdigest(), p) for p in ["P1", "P2", "P3", "P4"]
    )
    assert [(p, t) for t, p in expected] == list(r.order)
    assert r.selected == list(r.order[:2]) and r.alternates == list(r.order[2:])


@pytest.mark.parametrize(
    ("rule", "n", "q"),
    [
        ("20%,min=3", 0, 0),
        ("20%,min=3", 2, 2),  # n < min: everyone
        ("20%,min=3", 3, 3),
        ("20%,min=3", 15, 3),  # exactly 3.0, no float round-up to 4
        ("20%,min=3", 16, 4),  # 3.2 -> 4
        ("20%,min=3", 100, 20),
        ("10%", 35, 4),
        ("30%", 10, 3),  # 0.3 * 10 is 3.0000000000000004 in floats
        ("5", 3, 3),
        ("5", 12, 5),
        ("20%,min=3,max=10", 200, 10),
        ("20％，min=3", 16, 4),
    ],
)
def test_quota_rule(rule, n, q):
    assert parse_quota_rule(rule).quota(n) == q


@pytest.mark.parametrize("bad", ["", "abc", "0", "150%", "20%,foo=2", "20%,min=5,max=2", "-3"])
def test_bad_quota_rule(bad):
    with pytest.raises(InvalidInput):
        parse_quota_rule(bad)


def test_verify_script_reproduces_byte_for_byte(tmp_path):
    roster = _roster()
    text = sampling.canonical_roster_csv(roster)
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode("utf-8"))
    entropy = "27182818284590452353"
    rh = sampling.roster_hash(text)
    rule = "20%,min=3"
    results = sampling.draw_sample(roster, parse_quota_rule(rule), sampling.seed_from(entropy, rh))
    proc = subprocess.run(
        [sys.executable, "-I", str(ROOT / "scripts" / "verify_sample.py"), str(path),
         "--entropy", entropy, "--quota", rule, "--hash", rh],
        capture_output=True, check=True,
    )  # fmt: skip
    expected = f"roster_sha256 {rh}\nseed {entropy}|{rh}\n" + sampling.format_result_text(results)
    assert proc.stdout == expected.encode("utf-8")
    # a tampered roster is detected
    path.write_bytes(text.replace("T01-0003", "T01-9999").encode())
    proc = subprocess.run(
        [sys.executable, "-I", str(ROOT / "scripts" / "verify_sample.py"), str(path),
         "--entropy", entropy, "--quota", rule, "--hash", rh],
        capture_output=True,
    )  # fmt: skip
    assert proc.returncode == 2 and b"mismatch" in proc.stdout


def test_verify_script_imports_only_the_standard_library():
    import ast

    tree = ast.parse((ROOT / "scripts" / "verify_sample.py").read_text(encoding="utf-8"))
    mods = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    mods |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert mods <= set(sys.stdlib_module_names) | {"__future__"}
