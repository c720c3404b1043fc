"""Quick variants of the chaos scripts (``scripts/chaos/``): each starts its own
database and gunicorn on loopback, injects the fault and exits non-zero when an
acknowledged answer is missing, a reply was a 500, or recovery failed. They start their
own databases, so they run once (with the SQLite suite). ``JIFA_CHAOS_PORT`` picks the
app server's port (default: a free one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]
CHAOS = ROOT / "scripts" / "chaos"

pytestmark = pytest.mark.skipif(
    BACKEND == "postgresql", reason="the chaos scripts start their own databases: run once"
)


def run_chaos(script: str, *args: str) -> dict:
    port = os.environ.get("JIFA_CHAOS_PORT", "0")
    done = subprocess.run(
        [sys.executable, str(CHAOS / script), "--quick", "--port", port, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    result = json.loads(lines[-1])
    assert done.returncode == 0, result
    return result


def test_worker_killed_mid_save_storm_loses_nothing():
    result = run_chaos("worker_killed.py")
    assert result["workers_killed"] == 1 and result["workers_after"] == 2
    assert result["answers_lost"] == 0 and result["answers_acknowledged"] > 100
    assert result["replies_5xx"] == 0


def test_candidates_offline_across_the_deadline():
    result = run_chaos("offline_deadline.py")
    assert result["saves_accepted_after_deadline_plus_grace"] == 0
    assert result["back_in_grace"]["items_saved_from_offline"] > 0
    assert result["back_late"]["items_saved_from_offline"] == 0
    assert any(k.startswith("409 作答时间已到") for k in result["refusals"])
    # every attempt submitted by time-out (submitted_by names the finalisation)
    [(ended, count)] = result["attempts_after"].items()
    assert ended.startswith("submitted/") and count == result["candidates"]
    assert result["answers_lost"] == 0


@pytest.mark.skipif(
    os.geteuid() != 0 and shutil.which("prlimit") is None, reason="needs root or prlimit"
)
def test_sqlite_full_disk_answers_503_and_recovers():
    result = run_chaos("sqlite_full.py")
    assert result["replies_during_fault"].get("503", 0) > 0
    assert result["integrity_check"] == "ok"
    assert result["answers_lost"] == 0 and result["replies_5xx_not_503"] == 0


@pytest.mark.skipif(
    os.geteuid() != 0
    or not (shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))),
    reason="needs root and PostgreSQL's server programs (initdb, pg_ctl)",
)
def test_postgresql_restart_mid_exam():
    result = run_chaos("pg_restart.py")
    assert result["replies_during_fault"].get("503", 0) > 0
    assert result["503_without_retry_after"] == 0
    assert result["seconds_to_first_save_after_back"] <= 5
    assert result["answers_lost"] == 0 and result["replies_5xx_not_503"] == 0


def test_the_check_counts_a_missing_answer(monkeypatch):
    """The comparison the scripts rely on does fail when an acknowledged answer is not
    stored, or is stored older or different."""
    sys.path.insert(0, str(CHAOS))
    import _chaos

    cand = _chaos.Candidate(attempt_id=1, prefix="", headers={}, items=[])
    cand.acked = {10: (3, "A"), 11: (5, "B"), 12: (2, "C"), 13: (4, "D")}
    cand.sent = {(10, 3): "A", (11, 5): "B", (11, 6): "C", (12, 2): "C", (13, 4): "D"}
    stored = {(1, 10): (3, "A"), (1, 11): (6, "C"), (1, 12): (1, "X")}  # 13 missing
    monkeypatch.setattr(_chaos, "stored_answers", lambda url, ids: stored)
    check = _chaos.verify("sqlite://", [cand])
    assert check["answers_acknowledged"] == 4
    assert check["answers_lost"] == 2  # 12 stored older, 13 not at all
    assert check["stored_newer_than_ack"] == 1  # 11: a later save did commit
