"""Chaos: a gunicorn worker killed (SIGKILL) in the middle of a save storm.

    .venv/bin/python scripts/chaos/worker_killed.py [--db sqlite|postgresql] [--quick]

Candidates save as the paper page does; after a few seconds one worker is killed
(twice in the full run, a few seconds apart). Requests in flight on it lose their
connection: the client keeps the answer and sends it again; gunicorn starts a new
worker. Figures: replies by status during the fault and in all, seconds until saves
succeed again, answers acknowledged against stored (none may be lost). Last line:
one JSON object."""

from __future__ import annotations

import os
import signal
import threading
import time

import _chaos as c


def main() -> None:
    p = c.bench.parser(__doc__.splitlines()[0])
    c.port_arg(p)
    p.add_argument("--candidates", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="a short run for the test suite")
    args = p.parse_args()
    kills = 1 if args.quick else 2
    before, between, after = (1.5, 2.0, 2.0) if args.quick else (4.0, 4.0, 5.0)
    candidates = min(args.candidates, 40) if args.quick else args.candidates
    with c.bench.fresh_database(args.db, args.pg_admin_url) as url:
        seeded = c.bench.seed(url, candidates, start_attempts=True)
        with c.app_server(url, args.port, workers=args.workers, threads=args.threads) as (
            port,
            master,
        ):
            cands = c.candidates(port, url, seeded)
            replies, stop = c.Replies(), threading.Event()
            threads = c.storm(port, cands, stop, replies, threads=8)
            time.sleep(before)
            killed, marks = [], []
            for _ in range(kills):
                victim = c.worker_pids(master.pid)[0]
                marks.append(time.monotonic())
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
                time.sleep(between)
            time.sleep(after)
            stop.set()
            for t in threads:
                t.join()
            left = c.drain(port, cands, replies)
            respawned = len(c.worker_pids(master.pid))
        check = c.verify(url, cands)
    t0 = marks[0]
    first_ok = [replies.first_ok_after(m) for m in marks]
    statuses = replies.statuses()
    result = {
        "scenario": "worker_killed",
        "db": args.db,
        "candidates": candidates,
        "workers_killed": len(killed),
        "workers_after": respawned,
        "requests": len(replies.log),
        "replies": statuses,
        "replies_during_fault": replies.between(t0, t0 + 1.0),
        "seconds_to_first_save_after_kill": max(
            round(f - m, 3) if f else -1 for f, m in zip(first_ok, marks, strict=True)
        ),
        "queued_unsent": left,
        "save": c.latency_ms(replies),
        **check,
        "replies_5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
    }
    c.emit(result)
    raise SystemExit(0 if check["answers_lost"] == 0 and result["replies_5xx"] == 0 else 1)


if __name__ == "__main__":
    main()
