"""Chaos: candidates offline across the deadline.

    .venv/bin/python scripts/chaos/offline_deadline.py [--db sqlite|postgresql] [--quick]

Every attempt gets a deadline a few seconds away and the exam a short grace. A third
of the candidates stay online; a third go offline, keep answering on the phone and come
back within the grace; a third come back after it. Answers that reach the server before
the deadline plus grace are kept; later ones are refused (409) with the page's clear
message, and no save is accepted after that moment. Then ``jifa exam
finalize-expired`` (the cron job) submits and scores every attempt by time-out.
Figures: replies by status, refusals with their message, answers made offline and how
many were kept, attempts finalised, acknowledged against stored. Last line: one JSON
object."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time

import _chaos as c


def _set_deadline(url: str, exam_id: int, seconds: float, grace: int) -> float:
    """Deadline ``seconds`` from now for every attempt; the exam's grace. Returns the
    deadline as ``time.monotonic()``."""
    from sqlalchemy import update

    from core.db import make_engine
    from exam.models import Attempt, Exam

    eng = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    with eng.begin() as conn:
        conn.execute(update(Exam).where(Exam.id == exam_id).values(grace_seconds=grace))
        conn.execute(
            update(Attempt)
            .where(Attempt.exam_id == exam_id)
            .values(deadline_at=now + dt.timedelta(seconds=seconds))
        )
    eng.dispose()
    return time.monotonic() + seconds


def _attempts(url: str, exam_id: int) -> dict:
    from sqlalchemy import func, select

    from core.db import make_engine
    from exam.models import Attempt

    eng = make_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            select(Attempt.status, Attempt.submitted_by, func.count())
            .where(Attempt.exam_id == exam_id)
            .group_by(Attempt.status, Attempt.submitted_by)
        ).all()
    eng.dispose()
    return {f"{s}/{by or '-'}": n for s, by, n in rows}


def main() -> None:
    p = c.bench.parser(__doc__.splitlines()[0])
    c.port_arg(p)
    p.add_argument("--candidates", type=int, default=90)
    p.add_argument("--quick", action="store_true", help="a short run for the test suite")
    args = p.parse_args()
    candidates = min(args.candidates, 30) if args.quick else args.candidates
    until_deadline, grace = (3.0, 2) if args.quick else (6.0, 4)
    with c.bench.fresh_database(args.db, args.pg_admin_url) as url:
        seeded = c.bench.seed(url, candidates, start_attempts=True)
        with c.app_server(url, args.port, workers=args.workers, threads=args.threads) as (port, _m):
            cands = c.candidates(port, url, seeded)
            in_grace, late = cands[1::3], cands[2::3]  # cands[0::3] stay online
            deadline = _set_deadline(url, seeded.exam_id, until_deadline, grace)
            cutoff = deadline + grace
            replies, stop = c.Replies(), threading.Event()
            threads = c.storm(port, cands, stop, replies, threads=6, pause=0.02)
            time.sleep(1.0)
            offline_from = {}
            for cand in in_grace + late:
                cand.online = False
                offline_from[id(cand)] = cand.seq
            time.sleep(max(0.0, deadline + grace / 2 - time.monotonic()))
            for cand in in_grace:
                cand.online = True  # back within the grace: the queue is sent
            time.sleep(max(0.0, cutoff + 1.5 - time.monotonic()))
            for cand in late:
                cand.online = True  # back too late: refused, clearly
            time.sleep(2.0)
            stop.set()
            for t in threads:
                t.join()
            c.drain(port, cands, replies)
        env = dict(os.environ, JIFA_DATABASE_URL=url)
        finalize = subprocess.run(
            [
                sys.executable,
                "-c",
                "from jifa.cli import main; main()",
                "exam",
                "finalize-expired",
                "--json",
            ],
            cwd=c.ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        statuses_after = _attempts(url, seeded.exam_id)
        check = c.verify(url, cands)

    def offline_answers(group):
        made = kept = 0
        for cand in group:
            start = offline_from[id(cand)]
            made += cand.seq - start
            kept += sum(1 for seq, _v in cand.acked.values() if seq > start)
        return made, kept

    grace_made, grace_kept = offline_answers(in_grace)
    late_made, late_kept = offline_answers(late)
    accepted_after_cutoff = sum(
        1 for t, s, _ in replies.log if s == "200" and t > cutoff + 0.5
    )  # 0.5 s: replies to saves that reached the server just in time
    from exam.runner.autosave import LATE

    result = {
        "scenario": "offline_deadline",
        "db": args.db,
        "candidates": candidates,
        "deadline_in_s": until_deadline,
        "grace_s": grace,
        "requests": len(replies.log),
        "replies": replies.statuses(),
        "refusals": {f"{s} {m}": n for (s, m), n in replies.refusals.items()},
        "back_in_grace": {
            "answers_made_offline": grace_made,
            "items_saved_from_offline": grace_kept,
        },
        "back_late": {"answers_made_offline": late_made, "items_saved_from_offline": late_kept},
        "saves_accepted_after_deadline_plus_grace": accepted_after_cutoff,
        "finalize_expired": json.loads(finalize.stdout or "{}"),
        "attempts_after": statuses_after,
        **check,
    }
    c.emit(result)
    late_refused = replies.refusals.get(("409", LATE), 0)
    ok = (
        check["answers_lost"] == 0
        and accepted_after_cutoff == 0
        and grace_kept > 0
        and late_kept == 0
        and late_refused > 0
        and sum(n for k, n in statuses_after.items() if k.startswith("submitted/")) == candidates
        and not any(s.startswith("5") for s in replies.statuses())
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
