"""Target 3 (PERFORMANCE.md): the synchronized start. 2,000 logged-in candidates with
pre-generated papers each start their attempt (``POST /api/v1/exams/<id>/attempts``,
which returns the paper) and load the paper page, 64 at a time, against gunicorn on
127.0.0.1: all within 30 s, p99 page-and-paper <= 1 s. Ping is measured in the same run
with the same client for the ratio.

    .venv/bin/python scripts/bench/exam_start.py --db sqlite|postgresql

Last line: one JSON object.
"""

from __future__ import annotations

import json
import time

import _common as c


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    args = p.parse_args()
    api_lat: list[float] = []
    page_lat: list[float] = []
    with c.fresh_database(args.db, args.pg_admin_url) as url:
        seeded = c.seed(url, args.candidates, start_attempts=False)
        with c.gunicorn(
            url, workers=args.workers, worker_class=args.worker_class, threads=args.threads
        ) as port:
            logins = c.login_all(port, seeded.person_nos, url)

            def ping(conn, _):
                conn.request("GET", "/api/v1/ping")
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise RuntimeError(resp.status)

            def start(conn, login):
                t0 = time.perf_counter()
                conn.request(
                    "POST",
                    f"/api/v1/exams/{seeded.exam_id}/attempts",
                    body=json.dumps({"client_token": login.csrf[:16]}),
                    headers={
                        "Cookie": login.cookie,
                        "X-CSRF-Token": login.csrf,
                        "Content-Type": "application/json",
                    },
                )
                resp = conn.getresponse()
                body = json.loads(resp.read())
                if resp.status != 200 or len(body.get("questions", [])) != c.QUESTIONS:
                    raise RuntimeError(f"{resp.status} {str(body)[:200]}")
                t1 = time.perf_counter()
                conn.request(
                    "GET", f"/exam/attempt/{body['attempt_id']}", headers={"Cookie": login.cookie}
                )
                resp = conn.getresponse()
                html = resp.read()
                if resp.status != 200 or b"exam-app" not in html:
                    raise RuntimeError(f"page {resp.status}")
                api_lat.append(t1 - t0)
                page_lat.append(time.perf_counter() - t1)

            p_lat, p_err, p_elapsed = c.run_pool(
                port, list(range(args.candidates)), ping, args.concurrency
            )
            s_lat, s_err, s_elapsed = c.run_pool(port, logins, start, args.concurrency)
        from sqlalchemy import func, select

        from core.db import make_engine
        from exam.models import Attempt

        eng = make_engine(url)
        with eng.connect() as conn:
            started = conn.execute(select(func.count()).select_from(Attempt)).scalar()
        eng.dispose()
    ping_rps = len(p_lat) / p_elapsed
    load = c.summary(s_lat)
    c.emit(
        {
            "bench": "exam_start",
            "db": args.db,
            "server": f"gunicorn {args.workers} {args.worker_class} workers",
            "concurrency": args.concurrency,
            "ping": {**c.summary(p_lat), "rps": round(ping_rps, 1), "errors": len(p_err)},
            "page_and_paper": {
                **load,
                "errors": len(s_err),
                "elapsed_s": round(s_elapsed, 2),
                "first_error": (s_err or [None])[0],
            },
            "paper_api": c.summary(api_lat),
            "page_html": c.summary(page_lat),
            "loads_per_s": round(len(s_lat) / s_elapsed, 1),
            "ratio": round((2 * len(s_lat) / s_elapsed) / ping_rps, 3),
            "attempts_in_db": started,
            "pass": started == args.candidates
            and not s_err
            and s_elapsed <= 30
            and load["p99_ms"] <= 1000,
        }
    )


if __name__ == "__main__":
    main()
