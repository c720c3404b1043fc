"""Target 2 (PERFORMANCE.md): the submission storm. 2,000 started attempts (40 of 50
answers saved) are submitted by 64 concurrent clients against gunicorn on 127.0.0.1;
every one must be scored and persisted within 10 s with p99 <= 2 s. The trivial ping
endpoint is measured with the same client in the same run for the ratio.

    .venv/bin/python scripts/bench/submit_storm.py --db sqlite|postgresql

Last line: one JSON object.
"""

from __future__ import annotations

import json

import _common as c


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--attempts", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    args = p.parse_args()
    with c.fresh_database(args.db, args.pg_admin_url) as url:
        seeded = c.seed(url, args.attempts, start_attempts=True, answers_per_attempt=40)
        with c.gunicorn(
            url, workers=args.workers, worker_class=args.worker_class, threads=args.threads
        ) as port:
            logins = c.login_all(port, seeded.person_nos, url)
            tasks = [(logins[k], seeded.attempts[pid]) for k, pid in enumerate(seeded.person_ids)]

            def ping(conn, _):
                conn.request("GET", "/api/v1/ping")
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise RuntimeError(resp.status)

            def submit(conn, task):
                login, attempt_id = task
                conn.request(
                    "POST",
                    f"/api/v1/attempts/{attempt_id}/submit",
                    headers={"Cookie": login.cookie, "X-CSRF-Token": login.csrf},
                )
                resp = conn.getresponse()
                body = json.loads(resp.read())
                if resp.status != 200 or body.get("status") != "submitted":
                    raise RuntimeError(f"{resp.status} {body}")

            p_lat, p_err, p_elapsed = c.run_pool(
                port, list(range(args.attempts)), ping, args.concurrency
            )
            s_lat, s_err, s_elapsed = c.run_pool(port, tasks, submit, args.concurrency)
        from sqlalchemy import func, select

        from core.db import make_engine
        from exam.models import Answer, Attempt

        eng = make_engine(url)
        with eng.connect() as conn:
            scored = conn.execute(
                select(func.count())
                .select_from(Attempt)
                .where(Attempt.status == "submitted", Attempt.score.is_not(None))
            ).scalar()
            marked = conn.execute(
                select(func.count()).select_from(Answer).where(Answer.marks.is_not(None))
            ).scalar()
        eng.dispose()
    ping_rps = len(p_lat) / p_elapsed
    submit_rps = len(s_lat) / s_elapsed
    sub = c.summary(s_lat)
    c.emit(
        {
            "bench": "submit_storm",
            "db": args.db,
            "server": f"gunicorn {args.workers} {args.worker_class} workers",
            "concurrency": args.concurrency,
            "ping": {**c.summary(p_lat), "rps": round(ping_rps, 1), "errors": len(p_err)},
            "submit": {
                **sub,
                "rps": round(submit_rps, 1),
                "errors": len(s_err),
                "elapsed_s": round(s_elapsed, 2),
                "first_error": (s_err or [None])[0],
            },
            "persisted_scored": scored,
            "answers_marked": marked,
            "ratio": round(submit_rps / ping_rps, 3),
            "pass": scored == args.attempts
            and not s_err
            and s_elapsed <= 10
            and sub["p99_ms"] <= 2000,
        }
    )


if __name__ == "__main__":
    main()
