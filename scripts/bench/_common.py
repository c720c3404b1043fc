"""Shared plumbing for the runner benchmarks: a fresh database (temp SQLite file or a
``jifa_bench`` PostgreSQL database created and dropped here), candidates with papers
from the shared seeder (``jifa.app.seed``, as the tests use), gunicorn on 127.0.0.1,
logins, wrk and a threaded Python client. Everything started here is stopped here."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from jifa.app.seed import CHOICE, Item, Sitting, seed_sitting  # noqa: E402

PASSWORD = "Bench2026!"
HOST = "127.0.0.1"
QUESTIONS = 50


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "JIFA_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="libpq URL used to CREATE/DROP the jifa_bench database",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", default="sync")
    p.add_argument("--threads", type=int, default=1)
    return p


# ------------------------------------------------------------------ database


@contextlib.contextmanager
def fresh_database(kind: str, admin_url: str) -> Iterator[str]:
    from jifa.app.migrate import upgrade

    tmp = tempfile.mkdtemp(prefix="jifa-bench-")
    try:
        if kind == "sqlite":
            url = f"sqlite:///{tmp}/bench.sqlite3"
            upgrade(url)
            yield url
        else:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS jifa_bench")
                conn.execute("CREATE DATABASE jifa_bench")
            base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            url = f"{base}/jifa_bench"
            upgrade(url)
            try:
                yield url
            finally:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute("DROP DATABASE IF EXISTS jifa_bench WITH (FORCE)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: what ``seed`` returns: ids of the exam, the candidates, their paper items and attempts
Seeded = Sitting


def bench_items() -> list[Item]:
    """The benchmarks' paper: 20 single, 10 multiple, 10 true/false, 10 fill-in, 2 points
    each (100 points, pass mark 60)."""
    types = ["single"] * 20 + ["multiple"] * 10 + ["true_false"] * 10 + ["fill_blank"] * 10
    answers = {"single": "A", "multiple": ["A", "C"], "true_false": True, "fill_blank": [["留置"]]}
    return [
        Item(
            typ,
            answers[typ],
            [{"key": k, "text": f"压测选项{k}{i}"} for k in "ABCD"] if typ in CHOICE else [],
            stem=f"压测题干{i}：依据有关规定，下列说法正确的是____。",
            points=2.0,
        )
        for i, typ in enumerate(types)
    ]


def seed(
    url: str, candidates: int, *, start_attempts: bool, answers_per_attempt: int = 0
) -> Seeded:
    """One exam, a 50-question bank, ``candidates`` people with accounts, participants
    and papers (and optionally started attempts with saved answers), through the shared
    seeder (``jifa.app.seed``): independent of the paper generator."""
    from core.db import make_engine, make_session_factory

    engine = make_engine(url)
    now = dt.datetime.now(dt.UTC)
    with make_session_factory(engine).begin() as session:
        seeded = seed_sitting(
            session,
            now=now,
            items=bench_items(),
            candidates=candidates,
            password=PASSWORD,
            cheap_hash=True,  # logins are set-up, not what is measured
            option_orders=[["B", "D", "A", "C"], ["C", "A", "D", "B"], ["A", "B", "C", "D"]],
            attempts="in_progress" if start_attempts else None,
            answers=answers_per_attempt,
            tag="BENCH",
            title="压测考试",
            seed="bench",
            closes_at=now + dt.timedelta(hours=6),
            duration_minutes=120,
        )
    engine.dispose()
    return seeded


# ------------------------------------------------------------------ gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


_SERVERS: dict[int, int] = {}  # port -> gunicorn master pid


def server_cpu_seconds(port: int) -> float:
    """CPU time (user + system) used so far by the gunicorn workers serving ``port``:
    per request, a figure a busy shared machine disturbs far less than throughput."""
    master = _SERVERS[port]
    children = subprocess.run(
        ["pgrep", "-P", str(master)], capture_output=True, text=True
    ).stdout.split()
    ticks = 0
    for pid in children:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _gunicorn_command(port: int, workers: int, worker_class: str, threads: int) -> list[str]:
    venv_gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    cmd = [str(venv_gunicorn)] if venv_gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
    cmd += [
        "-b",
        f"{HOST}:{port}",
        "-w",
        str(workers),
        "-k",
        worker_class,
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    cmd.append("jifa.web.wsgi:app")
    return cmd


@contextlib.contextmanager
def gunicorn(
    url: str,
    *,
    workers: int = 2,
    worker_class: str = "sync",
    threads: int = 1,
    access_log: str | None = None,
) -> Iterator[int]:
    """Serve ``jifa.web.wsgi:app``; the app's access lines go to the file
    ``access_log`` (e.g. ``/dev/null``), or are off when it is ``None``."""
    port = free_port()
    inst = tempfile.mkdtemp(prefix="jifa-bench-inst-")
    env = dict(
        os.environ,
        JIFA_DATABASE_URL=url,
        JIFA_SECRET_KEY="bench-secret",
        JIFA_INSTANCE_PATH=inst,
        JIFA_ACCESS_LOG="1" if access_log else "0",
    )
    cmd = _gunicorn_command(port, workers, worker_class, threads)
    log = open(access_log, "ab") if access_log else None  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=log)
    _SERVERS[port] = proc.pid
    try:
        deadline = time.time() + 30
        while True:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/api/v1/ping")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log is not None:
            log.close()
        shutil.rmtree(inst, ignore_errors=True)


# ------------------------------------------------------------------ HTTP clients


@dataclass
class Login:
    cookie: str
    csrf: str


def login_all(
    port: int, person_nos: list[str], url: str | None = None, concurrency: int = 16
) -> list[Login]:
    """Log every candidate in (setup, not measured). ``url`` is unused (kept for the
    callers): successful logins no longer count towards the per-IP throttle, so the
    login_attempts table no longer needs clearing between batches."""
    out: list[Login | None] = [None] * len(person_nos)

    def work(conn, idx):
        body = json.dumps({"person_no": person_nos[idx], "password": PASSWORD})
        conn.request(
            "POST", "/api/v1/auth/login", body=body, headers={"Content-Type": "application/json"}
        )
        resp = conn.getresponse()
        data = json.loads(resp.read())
        if resp.status != 200:
            raise RuntimeError(f"login failed: {data}")
        cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
        out[idx] = Login(cookie, data["csrf_token"])

    _, errors, _ = run_pool(port, list(range(len(person_nos))), work, concurrency)
    if errors:
        raise RuntimeError(f"{len(errors)} logins failed, e.g. {errors[0]}")
    return out  # type: ignore[return-value]


def autosave_tokens(port: int, logins: list[Login], exam_id: int) -> list[dict]:
    """Open each logged-in candidate's paper as the page does (start or resume) and
    return its ``autosave`` block (url, token, header). Setup, not measured."""
    out: list[dict | None] = [None] * len(logins)

    def work(conn, idx):
        login = logins[idx]
        conn.request(
            "POST",
            f"/api/v1/exams/{exam_id}/attempts",
            body="{}",
            headers={
                "Cookie": login.cookie,
                "X-CSRF-Token": login.csrf,
                "Content-Type": "application/json",
            },
        )
        resp = conn.getresponse()
        data = json.loads(resp.read())
        if resp.status != 200 or "autosave" not in data:
            raise RuntimeError(f"paper load failed: {data.get('error') or 'no autosave route'}")
        out[idx] = data["autosave"]

    _, errors, _ = run_pool(port, list(range(len(logins))), work, 16)
    if errors:
        raise RuntimeError(f"{len(errors)} paper loads failed, e.g. {errors[0]}")
    return out  # type: ignore[return-value]


def run_pool(
    port: int, tasks: list, fn: Callable, concurrency: int
) -> tuple[list[float], list[str], float]:
    """Run ``fn(conn, task)`` over ``tasks`` with ``concurrency`` keep-alive connections.
    Returns (latencies in seconds, errors, elapsed seconds)."""
    q: queue.Queue = queue.Queue()
    for t in tasks:
        q.put(t)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(concurrency + 1)

    def worker():
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        start_gate.wait()
        while True:
            try:
                task = q.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            try:
                fn(conn, task)
                ok = None
            except Exception as exc:  # noqa: BLE001 - counted, reported
                ok = repr(exc)[:200]
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
            dt_ = time.perf_counter() - t0
            with lock:
                latencies.append(dt_)
                if ok:
                    errors.append(ok)
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - t0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def summary(latencies: list[float]) -> dict:
    return {
        "count": len(latencies),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies or [0]) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0,
    }


# ------------------------------------------------------------------ wrk

WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk(
    port: int,
    path: str,
    *,
    lua: str = "",
    seconds: int = 10,
    connections: int = 64,
    threads: int = 2,
) -> dict:
    wrk_bin = shutil.which("wrk")
    if not wrk_bin:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua + WRK_REPORT)
        script = f.name
    try:
        out = subprocess.run(
            [
                wrk_bin,
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "5s",
                "-s",
                script,
                f"http://{HOST}:{port}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON ") :])
    secs = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / secs, 1),
        "errors": raw["errors"],
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
    }


def emit(result: dict) -> None:
    """Figures for humans, then one JSON object on the last line."""
    for k, v in result.items():
        print(f"{k}: {v}", file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))
