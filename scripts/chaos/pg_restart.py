"""Chaos: PostgreSQL restarted in the middle of an exam.

    .venv/bin/python scripts/chaos/pg_restart.py [--quick] [--port P] [--pg-port Q] [--outage S]

Starts a private PostgreSQL cluster (initdb in a temporary directory, its own loopback
port: the shared server is left alone) and gunicorn on it (2 gthread workers x 4
threads, the recommended PostgreSQL settings). Candidates save as the paper page does;
the cluster is then restarted (``pg_ctl -m fast restart``, what ``pg_ctlcluster ...
restart`` runs; ``--outage S`` keeps it stopped S seconds in between). While it is away
saves must answer 503 with ``Retry-After`` (never 500) and the client keeps them; once
it is back they must succeed within 5 s, and every acknowledged answer must be in the
database. A logged-in reader polls the attempt through the Flask API at the same time.
Last line: one JSON object."""

from __future__ import annotations

import http.client
import threading
import time

import _chaos as c


def _reader(port, login, attempt_id, stop, replies):
    """The attempt's status through Flask (session cookie), every 100 ms."""
    conn = http.client.HTTPConnection(c.HOST, port, timeout=30)
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            conn.request("GET", f"/api/v1/attempts/{attempt_id}", headers={"Cookie": login.cookie})
            resp = conn.getresponse()
            resp.read()
            status = str(resp.status)
            if status == "503" and resp.getheader("Retry-After") is None:
                replies.retry_after_missing += 1
        except (OSError, http.client.HTTPException):
            status = "conn"
            conn.close()
            conn = http.client.HTTPConnection(c.HOST, port, timeout=30)
        replies.add(status, time.perf_counter() - t0)
        stop.wait(0.1)
    conn.close()


def main() -> None:
    p = c.bench.parser(__doc__.splitlines()[0])
    p.set_defaults(worker_class="gthread", threads=4)
    c.port_arg(p)
    p.add_argument("--pg-port", type=int, default=0, help="the private cluster's port")
    p.add_argument("--candidates", type=int, default=200)
    p.add_argument("--outage", type=float, default=3.0, help="seconds the server stays down")
    p.add_argument("--quick", action="store_true", help="a short run for the test suite")
    args = p.parse_args()
    candidates = min(args.candidates, 40) if args.quick else args.candidates
    outage = min(args.outage, 1.0) if args.quick else args.outage
    with c.PrivateCluster(args.pg_port) as cluster:
        url = cluster.create_database("jifa_chaos")
        from jifa.app.migrate import upgrade

        upgrade(url)
        seeded = c.bench.seed(url, candidates, start_attempts=True)
        with c.app_server(url, args.port, workers=args.workers, threads=args.threads) as (port, _m):
            cands = c.candidates(port, url, seeded)
            reader_login = c.bench.login_all(port, seeded.person_nos[:1])[0]
            replies, reads, stop = c.Replies(), c.Replies(), threading.Event()
            threads = c.storm(port, cands, stop, replies, threads=8)
            reader = threading.Thread(
                target=_reader, args=(port, reader_login, cands[0].attempt_id, stop, reads)
            )
            reader.start()
            time.sleep(2.0 if args.quick else 5.0)
            t_down = time.monotonic()
            cluster.stop("fast")
            time.sleep(outage)
            cluster.start()
            t_back = time.monotonic()
            time.sleep(5.0 if args.quick else 10.0)
            stop.set()
            for t in [*threads, reader]:
                t.join()
            left = c.drain(port, cands, replies)
        check = c.verify(url, cands)
    first_ok = replies.first_ok_after(t_back)
    last_fail = replies.last_failure()
    statuses, read_statuses = replies.statuses(), reads.statuses()
    five = sum(n for s, n in {**statuses}.items() if s.startswith("5") and s != "503")
    five += sum(n for s, n in read_statuses.items() if s.startswith("5") and s != "503")
    result = {
        "scenario": "pg_restart",
        "candidates": candidates,
        "outage_s": round(t_back - t_down, 2),
        "requests": len(replies.log),
        "replies": statuses,
        "replies_during_fault": replies.between(t_down, t_back),
        "reader_replies": read_statuses,
        "reader_during_fault": reads.between(t_down, t_back),
        "503_without_retry_after": replies.retry_after_missing + reads.retry_after_missing,
        "seconds_to_first_save_after_back": round(first_ok - t_back, 3) if first_ok else None,
        "seconds_to_last_failure_after_back": round(max(0.0, last_fail - t_back), 3)
        if last_fail
        else 0.0,
        "queued_unsent": left,
        "save": c.latency_ms(replies),
        **check,
        "replies_5xx_not_503": five,
    }
    c.emit(result)
    ok = (
        check["answers_lost"] == 0
        and five == 0
        and result["503_without_retry_after"] == 0
        and first_ok is not None
        and first_ok - t_back <= 5.0
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
