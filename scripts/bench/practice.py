"""Target 9 (PERFORMANCE.md): practice, 500 learners answering at once; the answer
(``PUT /api/v1/practice/sessions/<sid>/answers/<qid>``: checked, stored, notebook
updated, key + explanation + the cited article's text in the reply) p99 <= 100 ms on
SQLite with 2 workers.

    .venv/bin/python scripts/bench/practice.py --db sqlite
    .venv/bin/python scripts/bench/practice.py --db postgresql --worker-class gthread --threads 4

500 learners log in and each starts a 20-question session (setup, not measured). Then:

- ``paced`` (the target): all 500 practise at the same time, each answering one
  question every ``--think`` seconds (jittered 0.5-1.5x, the time to read a question
  and its explanation), ``--answers`` each. Open loop: every answer has a scheduled
  time and its latency counts from that time, so a server that falls behind is not
  hidden by a client that waits for it.
- ``burst``: every learner sends one answer at the same instant (500 at once, as many
  connections as ``--burst-connections``): the worst moment, reported beside the
  target.
- ``capacity``: answers as fast as 16 connections can send them, beside the trivial
  ``ping`` endpoint with the same client in the same minute: a ratio that a busy
  shared machine disturbs less than the latencies above.

Last line: one JSON object.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time

import _common as c

LAW = """第八章　贪污贿赂罪
第三百八十二条　国家工作人员利用职务上的便利，侵吞、窃取、骗取或者以其他手段非法占有公共财物的，是贪污罪。
第三百八十五条　国家工作人员利用职务上的便利，索取他人财物的，或者非法收受他人财物，为他人谋取利益的，是受贿罪。
"""
ANSWERS = {
    "single": '"A"',
    "multiple": '["A","C"]',
    "true_false": "false",
    "fill_blank": '["留置"]',
}


def cite_everything(url: str) -> None:
    """The seeded bank cites 刑法 第三百八十五条, whose text is imported: every reply
    carries the article (the real reply, not a shortcut)."""
    import datetime as dt

    from sqlalchemy import select, update

    import jifa.app.schema  # noqa: F401
    from core.audit import SYSTEM
    from core.db import make_engine, make_session_factory
    from question_bank.law import import_law
    from question_bank.models import Citation, QuestionVersion
    from question_bank.sources import ensure_default_sources

    factory = make_session_factory(make_engine(url))
    with factory.begin() as s:
        crim = ensure_default_sources(s)["criminal_law"]
        import_law(s, "criminal_law", dt.date(2023, 12, 29), LAW.encode(), filename="c.md",
                   actor=SYSTEM)  # fmt: skip
        ids = list(s.scalars(select(QuestionVersion.id)))
        s.execute(update(QuestionVersion).values(source_id=crim.id))
        s.add_all(Citation(version_id=v, source_id=crim.id, article_key="385") for v in ids)


def start_sessions(port: int, logins: list[c.Login]) -> list[tuple[int, list[tuple[int, str]]]]:
    out: list = [None] * len(logins)

    def work(conn, idx):
        login = logins[idx]
        conn.request(
            "POST",
            "/api/v1/practice/sessions",
            body=json.dumps({"size": 20}),
            headers={"Cookie": login.cookie, "X-CSRF-Token": login.csrf,
                     "Content-Type": "application/json"},
        )  # fmt: skip
        resp = conn.getresponse()
        data = json.loads(resp.read())
        if resp.status != 201:
            raise RuntimeError(f"session start failed: {data}")
        out[idx] = (data["session_id"], [(q["id"], q["type"]) for q in data["questions"]])

    _, errors, _ = c.run_pool(port, list(range(len(logins))), work, 16)
    if errors:
        raise RuntimeError(f"{len(errors)} session starts failed, e.g. {errors[0]}")
    return out


def _answer(conn, login, sid, qid, qtype) -> None:
    conn.request(
        "PUT",
        f"/api/v1/practice/sessions/{sid}/answers/{qid}",
        body=('{"answer": ' + ANSWERS[qtype] + "}").encode(),
        headers={"Cookie": login.cookie, "X-CSRF-Token": login.csrf,
                 "Content-Type": "application/json"},
    )  # fmt: skip
    resp = conn.getresponse()
    body = json.loads(resp.read())
    if resp.status != 200 or "citation" not in body or not body["citation"]["text"]:
        raise RuntimeError(f"{resp.status} {str(body)[:200]}")


def paced(port, logins, sessions, *, think: float, answers: int, workers: int, seed: int):
    """Open loop: (scheduled time, learner, question index) in time order, sent by a
    pool of client threads; latency from the scheduled time."""
    rng = random.Random(seed)
    t0 = time.perf_counter() + 1.0
    plan = []
    for k in range(len(logins)):
        at = t0 + rng.uniform(0, think)  # learners do not start in lockstep
        for j in range(answers):
            plan.append((at, k, j))
            at += think * rng.uniform(0.5, 1.5)
    heapq.heapify(plan)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    late: list[float] = []

    def worker():
        conn = c.http.client.HTTPConnection(c.HOST, port, timeout=60)
        while True:
            with lock:
                if not plan:
                    break
                at, k, j = heapq.heappop(plan)
            wait = at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            else:
                late.append(-wait)
            sid, items = sessions[k]
            qid, qtype = items[j % len(items)]
            try:
                try:
                    _answer(conn, logins[k], sid, qid, qtype)
                except (BrokenPipeError, ConnectionResetError, c.http.client.RemoteDisconnected):
                    # the server closed an idle keep-alive connection: send again on a new
                    # one (a repeated answer is answered, not stored twice)
                    conn.close()
                    conn = c.http.client.HTTPConnection(c.HOST, port, timeout=60)
                    _answer(conn, logins[k], sid, qid, qtype)
                err = None
            except Exception as exc:  # noqa: BLE001 - counted, reported
                err = repr(exc)[:200]
                conn.close()
                conn = c.http.client.HTTPConnection(c.HOST, port, timeout=60)
            done = time.perf_counter()
            with lock:
                latencies.append(done - at)
                if err:
                    errors.append(err)
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return latencies, errors, elapsed


def burst(port, logins, sessions, *, question: int, connections: int):
    tasks = list(range(len(logins)))

    def work(conn, k):
        sid, items = sessions[k]
        qid, qtype = items[question]
        _answer(conn, logins[k], sid, qid, qtype)

    return c.run_pool(port, tasks, work, connections)


def capacity(port, logins, sessions, *, first: int, per_learner: int):
    def ping(conn, _):
        conn.request("GET", "/api/v1/ping")
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(resp.status)

    tasks = [(k, first + j) for j in range(per_learner) for k in range(len(logins))]

    def work(conn, task):
        k, j = task
        sid, items = sessions[k]
        qid, qtype = items[j]
        _answer(conn, logins[k], sid, qid, qtype)

    p_lat, p_err, p_elapsed = c.run_pool(port, list(range(len(tasks))), ping, 16)
    a_lat, a_err, a_elapsed = c.run_pool(port, tasks, work, 16)
    return {
        "ping_rps": round(len(p_lat) / p_elapsed, 1),
        "answer_rps": round(len(a_lat) / a_elapsed, 1),
        "answer_p99_ms": c.summary(a_lat)["p99_ms"],
        "ratio": round((len(a_lat) / a_elapsed) / (len(p_lat) / p_elapsed), 3),
        "errors": len(a_err) + len(p_err),
        "answers": len(a_lat),
    }


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--learners", type=int, default=500)
    p.add_argument("--think", type=float, default=4.0, help="seconds between answers")
    p.add_argument("--answers", type=int, default=8, help="answers per learner (paced)")
    p.add_argument("--client-threads", type=int, default=128)
    p.add_argument("--burst-connections", type=int, default=250)
    p.add_argument("--seed", type=int, default=16)
    args = p.parse_args()
    with c.fresh_database(args.db, args.pg_admin_url) as url:
        seeded = c.seed(url, args.learners, start_attempts=False)
        cite_everything(url)
        with c.gunicorn(
            url, workers=args.workers, worker_class=args.worker_class, threads=args.threads
        ) as port:
            logins = c.login_all(port, seeded.person_nos, url)
            sessions = start_sessions(port, logins)
            cpu0 = c.server_cpu_seconds(port)
            p_lat, p_err, p_elapsed = paced(
                port, logins, sessions, think=args.think, answers=args.answers,
                workers=args.client_threads, seed=args.seed,
            )  # fmt: skip
            cpu1 = c.server_cpu_seconds(port)
            b_lat, b_err, b_elapsed = burst(
                port, logins, sessions, question=args.answers, connections=args.burst_connections
            )
            cap = capacity(port, logins, sessions, first=args.answers + 1, per_learner=4)
        from sqlalchemy import func, select

        from core.db import make_engine
        from study.models import MistakeEntry, PracticeAnswer

        eng = make_engine(url)
        with eng.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(PracticeAnswer)).scalar()
            notebook = conn.execute(select(func.count()).select_from(MistakeEntry)).scalar()
        eng.dispose()
    paced_summary = c.summary(p_lat)
    c.emit(
        {
            "bench": "practice",
            "db": args.db,
            "server": f"gunicorn {args.workers} {args.worker_class} workers"
            + (f" x {args.threads} threads" if args.worker_class == "gthread" else ""),
            "learners": args.learners,
            "paced": {
                **paced_summary,
                "rps": round(len(p_lat) / p_elapsed, 1),
                "think_s": args.think,
                "errors": len(p_err),
                "first_error": (p_err or [None])[0],
                "worker_cpu_ms_per_answer": round(1000 * (cpu1 - cpu0) / max(1, len(p_lat)), 2),
            },
            "burst": {
                **c.summary(b_lat),
                "rps": round(len(b_lat) / b_elapsed, 1),
                "connections": args.burst_connections,
                "errors": len(b_err),
            },
            "capacity": cap,
            "stored_answers": stored,
            "notebook_entries": notebook,
            "pass": not p_err
            and paced_summary["p99_ms"] <= 100
            and stored == len(p_lat) + len(b_lat) + cap["answers"],
        }
    )


if __name__ == "__main__":
    main()
