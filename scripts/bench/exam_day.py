"""Exam day at full scale: two PostgreSQL-backed app servers behind nginx, an hour-long
exam compressed into ``--minutes``.

    .venv/bin/python scripts/bench/exam_day.py [--candidates 2000] [--minutes 10]
        [--ports 5151,5152] [--nginx-port 5158] [--db-name jifa_examday]

What it starts (all on 127.0.0.1, all stopped at the end): a fresh PostgreSQL database
(``--db-name`` on the server of ``--pg-admin-url``, dropped afterwards), two ``jifa
serve`` processes (``--workers`` x ``--threads`` gthread workers each, one shared
``JIFA_SECRET_KEY``) and nginx in front of them, with a configuration written here
(Debian's ``nginx`` package, installed with apt-get when missing).

The day: N candidates log in within ``--login-window`` seconds and open their papers;
each answers 45 questions at a human pace scaled to the exam's length and reloads the
paper once; 5 % go offline for ``--offline-seconds`` (answers kept on the phone, sent
when back); all submit at the end. Meanwhile a unit admin polls the live monitor every
10 s and an analyst opens the statistics every 30 s.

Figures: requests and rps, p50/p99 per endpoint, replies by status, answers
acknowledged against stored, the machine's load (1-minute load average, sampled).
Targets: 0 answers lost, 0 replies 5xx, save p99 <= 150 ms, start p99 <= 1 s. The
client runs on the same machine as the servers. Last line: one JSON object."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import heapq
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import _common as bench

sys.path.append(str(bench.ROOT / "scripts" / "chaos"))
import _chaos  # noqa: E402

HOST = bench.HOST
QUESTIONS_ANSWERED = 45
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{upstream}
    server {{
        listen {host}:{port};
{locations}
    }}
}}
"""


def deploy_snippets() -> tuple[str, str]:
    """The upstream and the locations of ``deploy/nginx/jifa.conf`` (one source)."""
    text = (bench.ROOT / "deploy" / "nginx" / "jifa.conf").read_text(encoding="utf-8")
    upstream = text.split("# >>> upstream", 1)[1].split("# <<< upstream", 1)[0]
    locations = text.split("# >>> locations", 1)[1].split("# <<< locations", 1)[0]
    return upstream, locations


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found:
        return found
    print("nginx is missing: apt-get install -y nginx", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "nginx"], check=False, capture_output=True)
    if not Path("/usr/sbin/nginx").exists():
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "nginx"], check=True, capture_output=True)
    return "/usr/sbin/nginx"


@contextlib.contextmanager
def nginx(port: int, app_ports: list[int]):
    work = Path(tempfile.mkdtemp(prefix="jifa-nginx-"))
    upstream, locations = deploy_snippets()
    upstream = upstream.replace(
        "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n",
        "".join(f"    server {HOST}:{p};\n" for p in app_ports),
    )
    conf = work / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(dir=work, host=HOST, port=port, upstream=upstream, locations=locations)
    )
    binary = nginx_binary()
    subprocess.run(
        [binary, "-t", "-c", str(conf), "-p", str(work)], check=True, capture_output=True
    )
    proc = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(work), "-g", "daemon off;"], start_new_session=True
    )
    errors: Counter = Counter()
    try:
        _chaos.wait_http(port, "/healthz", proc)
        yield errors
    finally:
        log = work / "error.log"
        if log.exists():  # what nginx said about the upstreams, by kind
            for line in log.read_text(errors="replace").splitlines():
                if "[error]" in line or "[warn]" in line:
                    errors[
                        re.sub(r"\d+", "N", line.split("] ", 1)[-1].split(", client")[0])[:100]
                    ] += 1
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def jifa_serve(url: str, port: int, workers: int, threads: int, secret: str):
    inst = tempfile.mkdtemp(prefix="jifa-examday-inst-")
    jifa = bench.ROOT / ".venv" / "bin" / "jifa"
    cmd = (
        [str(jifa)]
        if jifa.exists()
        else [sys.executable, "-c", "from jifa.cli import main; main()"]
    )
    cmd += ["serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    cmd += ["--threads", str(threads), "--keep-alive", "75"]  # > nginx's keepalive_timeout
    env = dict(
        os.environ,
        JIFA_DATABASE_URL=url,
        JIFA_SECRET_KEY=secret,
        JIFA_INSTANCE_PATH=inst,
        JIFA_ACCESS_LOG="0",
    )
    proc = subprocess.Popen(
        cmd,
        cwd=bench.ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # gunicorn's own log lines
    )
    bench._SERVERS[port] = proc.pid
    try:
        _chaos.wait_http(port, "/readyz", proc)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(inst, ignore_errors=True)


@contextlib.contextmanager
def database(admin_url: str, name: str):
    import psycopg

    from jifa.app.migrate import upgrade

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{base}/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def add_staff(url: str, unit: int) -> None:
    """A unit admin of the seeded unit and an analyst (same password as candidates)."""
    from sqlalchemy import insert

    from core.accounts.models import RoleGrant, UserAccount
    from core.db import make_engine
    from core.org.models import Person

    eng = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    from werkzeug.security import generate_password_hash

    pw = generate_password_hash(bench.PASSWORD, method="pbkdf2:sha256:1000")
    with eng.begin() as conn:
        for no, role in (("STAFF-UA", "unit_admin"), ("STAFF-AN", "analyst")):
            pid = conn.execute(
                insert(Person).values(
                    person_no=no,
                    name=no,
                    unit_id=unit,
                    rank="township",
                    is_party_member=True,
                    is_active=True,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            uid = conn.execute(
                insert(UserAccount).values(
                    person_id=pid,
                    password_hash=pw,
                    must_change_password=False,
                    session_version=1,
                    failed_logins=0,
                    is_active=True,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(RoleGrant).values(
                    user_id=uid,
                    role=role,
                    unit_id=unit if role == "unit_admin" else None,
                    granted_at=now,
                )
            )
    eng.dispose()


# ------------------------------------------------------------------ the simulation


class Person:
    def __init__(self, person_no: str, items: list[tuple[int, str]]):
        self.person_no = person_no
        self.items = items
        self.cookie = ""
        self.csrf = ""
        self.cand: _chaos.Candidate | None = None
        self.plan: list[tuple[float, str]] = []  # (time, action)
        self.offline: tuple[float, float] | None = None


class Day:
    def __init__(self, port: int, exam_id: int, client_threads: int):
        self.port = port
        self.exam_id = exam_id
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.lock = threading.Lock()
        self.heap: list = []
        self.heap_lock = threading.Condition()
        self.work: queue.Queue = queue.Queue()
        self.t0 = 0.0
        self.pending_people = 0
        self.threads = client_threads
        self.rng = random.Random(2026)
        self.late_by: list[float] = []  # how late events started (client saturation)

    # --------------------------------------------------------------- HTTP
    def request(self, conn, name, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status = str(resp.status)
        except (OSError, http.client.HTTPException):
            conn.close()
            status, data, resp = "conn", b"", None
        elapsed = time.perf_counter() - t0
        with self.lock:
            self.lat[name].append(elapsed)
            self.status[name][status] += 1
        return status, data, resp

    # --------------------------------------------------------------- schedule
    def at(self, when: float, fn, *args) -> None:
        with self.heap_lock:
            heapq.heappush(self.heap, (when, id(fn) ^ id(args), fn, args))
            self.heap_lock.notify()

    def scheduler(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self.heap_lock:
                if not self.heap:
                    self.heap_lock.wait(0.1)
                    continue
                when = self.heap[0][0]
                now = time.monotonic()
                if when > now:
                    self.heap_lock.wait(min(0.05, when - now))
                    continue
                _, _, fn, args = heapq.heappop(self.heap)
            self.work.put((when, fn, args))

    def worker(self, stop: threading.Event) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        while not stop.is_set():
            try:
                when, fn, args = self.work.get(timeout=0.2)
            except queue.Empty:
                continue
            self.late_by.append(time.monotonic() - when)
            try:
                conn = fn(conn, *args) or conn
            except Exception as exc:  # noqa: BLE001 - counted
                with self.lock:
                    self.status["client_error"][repr(exc)[:80]] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            if conn.sock is None:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=60)


def _cookie(resp, person: Person) -> None:
    value = resp.getheader("Set-Cookie") if resp is not None else None
    if value:
        person.cookie = value.split(";", 1)[0]


def simulate(args, port: int, seeded, types: dict) -> tuple[Day, list[Person], dict]:
    day = Day(port, seeded.exam_id, args.client_threads)
    rng = day.rng
    duration = args.minutes * 60.0
    people = [
        Person(no, [(i, types[i]) for i in seeded.items[pid]])
        for no, pid in zip(seeded.person_nos, seeded.person_ids, strict=True)
    ]
    offline = set(rng.sample(range(len(people)), round(len(people) * args.offline_share)))
    stop = threading.Event()
    done = threading.Event()
    remaining = [len(people)]
    remaining_lock = threading.Lock()

    def finished():
        with remaining_lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                done.set()

    def login(conn, p: Person):
        st, data, resp = day.request(
            conn,
            "login",
            "POST",
            "/api/v1/auth/login",
            {"person_no": p.person_no, "password": bench.PASSWORD},
        )
        if st != "200":
            day.at(time.monotonic() + 2, login, p)  # try again, as a person would
            return conn
        _cookie(resp, p)
        p.csrf = json.loads(data)["csrf_token"]
        day.at(time.monotonic() + rng.uniform(1, 5), start, p)
        return conn

    def start(conn, p: Person):
        st, data, resp = day.request(
            conn,
            "start",
            "POST",
            f"/api/v1/exams/{seeded.exam_id}/attempts",
            {},
            {"Cookie": p.cookie, "X-CSRF-Token": p.csrf},
        )
        if st != "200":
            day.at(time.monotonic() + 2, start, p)
            return conn
        _cookie(resp, p)
        payload = json.loads(data)
        route = payload["autosave"]
        p.cand = _chaos.Candidate(
            attempt_id=int(route["url"].split("/attempts/")[1].split("/")[0]),
            prefix=route["url"],
            headers={route["header"]: route["token"], "Content-Type": "application/json"},
            items=p.items,
        )
        now = time.monotonic()
        end = max(now + 30, day.t0 + args.login_window + duration)  # everyone's deadline
        step = (end - now - 10) / (QUESTIONS_ANSWERED + 1)
        for k in range(QUESTIONS_ANSWERED):
            p.plan.append((now + step * (k + 1) * rng.uniform(0.85, 1.15), "save"))
        p.plan.append((now + rng.uniform(0.2, 0.8) * (end - now), "reload"))
        p.plan.sort()
        if p.offline is not None:
            off = now + rng.uniform(0.2, 0.5) * (end - now)
            p.offline = (off, off + args.offline_seconds)
        p.plan.append((end + rng.uniform(0, 5), "submit"))
        p.cand.items = p.items[:QUESTIONS_ANSWERED]
        p.answered = 0
        day.at(p.plan[0][0], step_fn, p)
        return conn

    def step_fn(conn, p: Person):
        when, action = p.plan.pop(0)
        now = time.monotonic()
        cand = p.cand
        off = p.offline is not None and p.offline[0] <= now < p.offline[1]
        if action == "save":
            item, kind = cand.items[p.answered % len(cand.items)]
            p.answered += 1
            cand.seq += 1
            value = rng.choice(_chaos.CHOICES[kind])
            cand.pending[item] = (cand.seq, value)
            cand.sent[(item, cand.seq)] = value
            if not off:
                conn = flush(conn, p)
        elif action == "reload":
            if not off:
                day.request(
                    conn,
                    "reload_page",
                    "GET",
                    f"/exam/attempt/{cand.attempt_id}",
                    None,
                    {"Cookie": p.cookie},
                )
                day.request(
                    conn,
                    "reload_status",
                    "GET",
                    f"/api/v1/attempts/{cand.attempt_id}",
                    None,
                    {"Cookie": p.cookie},
                )
            else:
                p.plan.append((p.offline[1] + 1, "reload"))
                p.plan.sort()
        elif action == "submit":
            if off:  # back online first: the page sends what it kept, then submits
                p.plan.append((p.offline[1] + 1, "submit"))
            else:
                conn = flush(conn, p)
                if cand.pending:  # not all saved yet: try again shortly
                    p.plan.append((now + 2, "submit"))
                else:
                    st, _d, _r = day.request(
                        conn,
                        "submit",
                        "POST",
                        f"/api/v1/attempts/{cand.attempt_id}/submit",
                        {},
                        {"Cookie": p.cookie, "X-CSRF-Token": p.csrf},
                    )
                    if st.startswith("5") or st == "conn":
                        p.plan.append((now + 2, "submit"))
                    else:
                        finished()
                        return conn
        if (
            p.offline is not None
            and p.offline[0] <= now < p.offline[1]
            and not any(a == "back" for _, a in p.plan)
        ):
            p.plan.append((p.offline[1], "back"))
        if action == "back":
            conn = flush(conn, p)
        p.plan.sort()
        if p.plan:
            day.at(p.plan[0][0], step_fn, p)
        return conn

    def flush(conn, p: Person):
        cand = p.cand
        tries = 0
        while cand.pending and tries < 5:
            item, (seq, value) = min(cand.pending.items(), key=lambda kv: kv[1][0])
            st, data, _r = day.request(
                conn,
                "save",
                "PUT",
                cand.prefix + str(item),
                {"answer": value, "seq": seq},
                cand.headers,
            )
            if st == "200":
                if cand.pending.get(item, (None,))[0] == seq:
                    del cand.pending[item]
                if seq >= cand.acked.get(item, (0,))[0]:
                    cand.acked[item] = (seq, value)
            elif st.startswith("5") or st == "conn":  # the page retries these
                tries += 1
                if st == "conn":
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, day.port, timeout=60)
                time.sleep(0.2 * tries)
            else:
                del cand.pending[item]  # refused for good
        return conn

    def monitor(conn):
        st, data, resp = day.request(
            conn,
            "monitor",
            "GET",
            f"/api/v1/admin/exams/{seeded.exam_id}/monitor",
            None,
            {"Cookie": staff["STAFF-UA"]},
        )
        if not done.is_set():
            day.at(time.monotonic() + 10, monitor)
        return conn

    def statistics(conn):
        day.request(
            conn,
            "statistics",
            "GET",
            f"/analysis/exams/{seeded.exam_id}/stats.json",
            None,
            {"Cookie": staff["STAFF-AN"]},
        )
        if not done.is_set():
            day.at(time.monotonic() + 30, statistics)
        return conn

    staff = {}
    for no in ("STAFF-UA", "STAFF-AN"):
        c = http.client.HTTPConnection(HOST, port, timeout=60)
        c.request(
            "POST",
            "/api/v1/auth/login",
            body=json.dumps({"person_no": no, "password": bench.PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        r = c.getresponse()
        r.read()
        staff[no] = r.getheader("Set-Cookie").split(";", 1)[0]
        c.close()

    loads: list[float] = []

    def sample_load():
        while not stop.is_set():
            loads.append(os.getloadavg()[0])
            stop.wait(5)

    day.t0 = time.monotonic()
    for n, p in enumerate(people):
        if n in offline:
            p.offline = (0.0, 0.0)  # placed when the paper opens
        day.at(day.t0 + rng.uniform(0, args.login_window), login, p)
    day.at(day.t0 + 5, monitor)
    day.at(day.t0 + 15, statistics)
    threads = [threading.Thread(target=day.scheduler, args=(stop,), daemon=True)]
    threads += [
        threading.Thread(target=day.worker, args=(stop,), daemon=True)
        for _ in range(args.client_threads)
    ]
    threads.append(threading.Thread(target=sample_load, daemon=True))
    for t in threads:
        t.start()
    limit = args.login_window + duration + 300
    done.wait(limit)
    elapsed = time.monotonic() - day.t0
    stop.set()
    for t in threads:
        t.join(5)
    extra = {
        "elapsed_s": round(elapsed, 1),
        "finished": len(people) - remaining[0],
        "offline_candidates": len(offline),
        "load_1min": {
            "max": round(max(loads or [0]), 2),
            "mean": round(sum(loads) / max(1, len(loads)), 2),
        },
        "cpus": os.cpu_count(),
        "client_lateness_p99_s": round(bench.percentile(day.late_by, 99), 3),
    }
    return day, people, extra


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=2000)
    p.add_argument("--minutes", type=float, default=10.0, help="the exam's length, compressed")
    p.add_argument("--login-window", type=float, default=120.0)
    p.add_argument("--offline-share", type=float, default=0.05)
    p.add_argument("--offline-seconds", type=float, default=60.0)
    p.add_argument("--ports", default="5151,5152", help="the two app servers' ports")
    p.add_argument("--nginx-port", type=int, default=5158)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--client-threads", type=int, default=64)
    p.add_argument("--db-name", default="jifa_examday")
    p.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "JIFA_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = p.parse_args()
    app_ports = [int(x) for x in args.ports.split(",")]
    secret = os.urandom(32).hex()  # one key for every app server (deploy/: JIFA_SECRET_KEY)
    with database(args.pg_admin_url, args.db_name) as url:
        t_seed = time.perf_counter()
        seeded = bench.seed(url, args.candidates, start_attempts=False)
        add_staff(url, seeded.unit_id)  # the seeded sitting's unit
        types = _chaos.item_types(url)
        seed_s = time.perf_counter() - t_seed
        with contextlib.ExitStack() as stack:
            for port in app_ports:
                stack.enter_context(jifa_serve(url, port, args.workers, args.threads, secret))
            nginx_errors = stack.enter_context(nginx(args.nginx_port, app_ports))
            day, people, extra = simulate(args, args.nginx_port, seeded, types)
        cands = [p.cand for p in people if p.cand is not None]
        check = _chaos.verify(url, cands)
    endpoints = {}
    total = 0
    for name, values in sorted(day.lat.items()):
        total += len(values)
        endpoints[name] = {
            "count": len(values),
            "p50_ms": round(bench.percentile(values, 50) * 1000, 1),
            "p99_ms": round(bench.percentile(values, 99) * 1000, 1),
            "replies": dict(day.status[name]),
        }
    fivexx = sum(n for c in day.status.values() for s, n in c.items() if s.startswith("5"))
    conn_errors = sum(c.get("conn", 0) for c in day.status.values())
    result = {
        "benchmark": "exam_day",
        "candidates": args.candidates,
        "app_servers": len(app_ports),
        "workers_x_threads": f"{args.workers}x{args.threads}",
        "exam_minutes": args.minutes,
        "seed_s": round(seed_s, 1),
        **extra,
        "requests": total,
        "rps": round(total / extra["elapsed_s"], 1),
        "endpoints": endpoints,
        "replies_5xx": fivexx,
        "connection_errors": conn_errors,
        "client_errors": dict(day.status.get("client_error", {})),
        "nginx_errors": dict(nginx_errors.most_common(5)),
        **{k: v for k, v in check.items() if k != "lost_examples"},
        "targets": {
            "answers_lost_0": check["answers_lost"] == 0,
            "replies_5xx_0": fivexx == 0,
            "save_p99_le_150ms": endpoints.get("save", {}).get("p99_ms", 1e9) <= 150,
            "start_p99_le_1s": endpoints.get("start", {}).get("p99_ms", 1e9) <= 1000,
        },
    }
    bench.emit(result)


if __name__ == "__main__":
    main()
