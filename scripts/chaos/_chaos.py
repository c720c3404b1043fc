"""Shared plumbing for the chaos scripts: candidates that save like the paper page
(answers queued on the phone, the newest answer of an item replacing an unsent older
one, every reply logged, a 503 or a dropped connection retried after ``Retry-After``
with jitter), an app server on a given loopback port, and the check that matters:
every acknowledged answer is in the database.

Builds on ``scripts/bench/_common.py`` (fresh databases, bulk-seeded candidates,
logins, autosave tokens). Every process started here is stopped here."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent / "bench") not in sys.path:  # after the project root (bench/analysis.py)
    sys.path.append(str(HERE.parent / "bench"))

import _common as bench  # noqa: E402

ROOT = bench.ROOT
HOST = bench.HOST
emit = bench.emit
percentile = bench.percentile

CHOICES = {
    "single": ["A", "B", "C", "D"],
    "multiple": [["A", "B"], ["A", "C"], ["B", "D"], ["C", "D"]],
    "true_false": [True, False],
    "fill_blank": [["留置"], ["立案"], ["监察"]],
}


def port_arg(p, default: int = 0) -> None:
    p.add_argument(
        "--port", type=int, default=default, help="the app server's loopback port (0: a free one)"
    )


# ------------------------------------------------------------------ app server


@contextlib.contextmanager
def app_server(
    url: str,
    port: int = 0,
    *,
    workers: int = 2,
    threads: int = 1,
    env: dict | None = None,
    log: str | None = None,
) -> Iterator[tuple[int, subprocess.Popen]]:
    """gunicorn serving ``jifa.web.wsgi:app`` on ``HOST:port``; yields (port, master)."""
    port = port or bench.free_port()
    inst = tempfile.mkdtemp(prefix="jifa-chaos-inst-")
    cmd = bench._gunicorn_command(port, workers, "gthread" if threads > 1 else "sync", threads)
    full_env = dict(
        os.environ,
        JIFA_DATABASE_URL=url,
        JIFA_SECRET_KEY="chaos-secret",
        JIFA_INSTANCE_PATH=inst,
        JIFA_ACCESS_LOG="0",
        **(env or {}),
    )
    out = open(log or os.devnull, "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=full_env, start_new_session=True, stdout=out, stderr=out
    )
    bench._SERVERS[port] = proc.pid
    try:
        wait_http(port, "/healthz", proc)
        yield port, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()
        shutil.rmtree(inst, ignore_errors=True)


def wait_http(port: int, path: str, proc=None, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.time() > deadline or (proc is not None and proc.poll() is not None):
            raise RuntimeError(f"nothing answered on {HOST}:{port}{path}")
        time.sleep(0.2)


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


# ------------------------------------------------------------------ candidates


@dataclass
class Candidate:
    attempt_id: int
    prefix: str  # the lean save route, without the item id
    headers: dict
    items: list[tuple[int, str]]  # (paper item id, type)
    seq: int = 0
    pending: dict = field(default_factory=dict)  # item -> (seq, answer): on the phone
    acked: dict = field(default_factory=dict)  # item -> (seq, answer): the server said saved
    sent: dict = field(default_factory=dict)  # (item, seq) -> answer, every save sent
    online: bool = True
    closed: bool = False  # the server said the attempt is over (409): the page stops

    def answer(self, rng: random.Random) -> None:
        """A new answer to some item: queued, replacing an unsent older one."""
        item, kind = rng.choice(self.items)
        self.seq += 1
        value = rng.choice(CHOICES[kind])
        self.pending[item] = (self.seq, value)
        self.sent[(item, self.seq)] = value

    def oldest(self):
        if not self.pending:
            return None
        return min(self.pending.items(), key=lambda kv: kv[1][0])


def candidates(port: int, url: str, seeded) -> list[Candidate]:
    """Log every seeded candidate in and open its paper (setup, not measured)."""
    types = item_types(url)
    logins = bench.login_all(port, seeded.person_nos, url)
    routes = bench.autosave_tokens(port, logins, seeded.exam_id)
    out = []
    for pid, route in zip(seeded.person_ids, routes, strict=True):
        out.append(
            Candidate(
                attempt_id=int(route["url"].split("/attempts/")[1].split("/")[0]),
                prefix=route["url"],
                headers={route["header"]: route["token"], "Content-Type": "application/json"},
                items=[(i, types[i]) for i in seeded.items[pid]],
            )
        )
    return out


def item_types(url: str) -> dict[int, str]:
    from sqlalchemy import select

    from core.db import make_engine
    from exam.models import PaperItem
    from question_bank.models import QuestionVersion

    eng = make_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            select(PaperItem.id, QuestionVersion.type).join(
                QuestionVersion, QuestionVersion.id == PaperItem.question_version_id
            )
        ).all()
    eng.dispose()
    return dict(rows)


class Replies:
    """Every reply: (monotonic time, status or 'conn', latency)."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, float]] = []
        self.retry_after_missing = 0
        self.refusals: Counter = Counter()  # (status, message) of 4xx replies
        self._lock = threading.Lock()

    def add(self, status: str, latency: float) -> None:
        with self._lock:
            self.log.append((time.monotonic(), status, latency))

    def between(self, t0: float, t1: float) -> dict:
        return dict(Counter(s for t, s, _ in self.log if t0 <= t <= t1))

    def statuses(self) -> dict:
        return dict(Counter(s for _, s, _ in self.log))

    def first_ok_after(self, t0: float) -> float | None:
        return next((t for t, s, _ in sorted(self.log) if t >= t0 and s == "200"), None)

    def last_failure(self) -> float | None:
        fails = [t for t, s, _ in self.log if s != "200"]
        return max(fails) if fails else None


def send_once(conn, cand: Candidate, replies: Replies):
    """Send the candidate's oldest queued answer once. Returns (conn, status, body,
    retry-after seconds or None)."""
    top = cand.oldest()
    if top is None:
        return conn, None, None, None
    item, (seq, value) = top
    body = json.dumps({"answer": value, "seq": seq})
    t0 = time.perf_counter()
    try:
        conn.request("PUT", cand.prefix + str(item), body=body, headers=cand.headers)
        resp = conn.getresponse()
        data = resp.read()
        status = str(resp.status)
        retry_after = resp.getheader("Retry-After")
    except (OSError, http.client.HTTPException):
        replies.add("conn", time.perf_counter() - t0)
        conn.close()
        return http.client.HTTPConnection(HOST, conn.port, timeout=30), "conn", None, None
    replies.add(status, time.perf_counter() - t0)
    if status == "200":
        if cand.pending.get(item, (None,))[0] == seq:
            del cand.pending[item]
        if seq >= cand.acked.get(item, (0,))[0]:
            cand.acked[item] = (seq, value)
    elif status == "503" and retry_after is None:
        replies.retry_after_missing += 1
    elif status.startswith("4"):
        try:
            message = json.loads(data)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = data[:80].decode(errors="replace")
        replies.refusals[(status, message)] += 1
    return conn, status, data, retry_after


def storm(
    port: int,
    cands: list[Candidate],
    stop: threading.Event,
    replies: Replies,
    *,
    threads: int = 8,
    pause: float = 0.0,
    seed: int = 1,
) -> list[threading.Thread]:
    """Each thread owns a share of the candidates: answer, send, and on a 503 or a
    dropped connection keep the answer queued and wait (``Retry-After``, jittered)."""

    def run(mine: list[Candidate], rng: random.Random) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        k = 0
        while not stop.is_set():
            cand = mine[k % len(mine)]
            k += 1
            if cand.closed:
                if all(x.closed for x in mine):
                    stop.wait(0.05)
                continue
            if not cand.online:
                if rng.random() < 0.3:
                    cand.answer(rng)  # answering offline: kept on the phone
                time.sleep(0.01)
                continue
            if not cand.pending:
                cand.answer(rng)
            conn, status, _body, retry_after = send_once(conn, cand, replies)
            if status in ("503", "conn"):
                wait = float(retry_after) if retry_after else 0.5
                stop.wait(min(wait, 2.0) * (0.5 + rng.random()) / 2)
            elif status not in ("200", None):
                cand.pending.clear()  # refused for good: dropped, as the page does
                cand.closed = status == "409"  # the attempt is over
            if pause:
                time.sleep(pause)
        conn.close()

    out = []
    for n in range(threads):
        mine = cands[n::threads]
        if mine:
            t = threading.Thread(
                target=run, args=(mine, random.Random(seed * 1000 + n)), daemon=True
            )
            t.start()
            out.append(t)
    return out


def drain(port: int, cands: list[Candidate], replies: Replies, timeout: float = 30) -> int:
    """Send whatever is still queued on the phones (after the fault); how many remain."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    until = time.time() + timeout
    for cand in cands:
        while cand.pending and time.time() < until:
            conn, status, _b, _r = send_once(conn, cand, replies)
            if status not in ("200", "503", "conn"):
                cand.pending.clear()
            elif status != "200":
                time.sleep(0.2)
    conn.close()
    return sum(len(c.pending) for c in cands)


# ------------------------------------------------------------------ the check


def stored_answers(url: str, attempt_ids: list[int]) -> dict:
    from sqlalchemy import select

    from core.db import make_engine
    from exam.models import Answer

    eng = make_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            select(Answer.attempt_id, Answer.paper_item_id, Answer.seq, Answer.response).where(
                Answer.attempt_id.in_(attempt_ids)
            )
        ).all()
    eng.dispose()
    return {(a, i): (s, r) for a, i, s, r in rows}


def verify(url: str, cands: list[Candidate]) -> dict:
    """Acknowledged answers against the database: an acknowledged answer is lost when
    the stored one is older, or differs at the same sequence number."""
    stored = stored_answers(url, [c.attempt_id for c in cands])
    acked = lost = newer = 0
    examples = []
    for cand in cands:
        for item, (seq, value) in cand.acked.items():
            acked += 1
            have = stored.get((cand.attempt_id, item))
            ok = have is not None and (
                (have[0] == seq and have[1] == value)
                or (have[0] > seq and cand.sent.get((item, have[0])) == have[1])
            )
            if ok and have[0] > seq:
                newer += 1  # a later save committed though its reply was lost: fine
            if not ok:
                lost += 1
                if len(examples) < 5:
                    examples.append(
                        {"attempt": cand.attempt_id, "item": item, "acked": seq, "stored": have}
                    )
    return {
        "answers_acknowledged": acked,
        "answers_stored_as_acknowledged": acked - lost,
        "answers_lost": lost,
        "stored_newer_than_ack": newer,
        "lost_examples": examples,
    }


def latency_ms(replies: Replies, status: str = "200") -> dict:
    values = [lat for _, s, lat in replies.log if s == status]
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
    }


# ------------------------------------------------------------------ a private PostgreSQL


def pg_bin(name: str) -> str:
    """A PostgreSQL server program (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if not versions:
        raise SystemExit(f"{name} not found: install Debian's postgresql package")
    return str(versions[0])


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


class PrivateCluster:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory) on a loopback
    port: restarting it disturbs nobody else. ``pg_ctl`` is what Debian's
    ``pg_ctlcluster`` runs for a registered cluster."""

    def __init__(self, port: int):
        self.port = port or bench.free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="jifa-chaos-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def url(self, db: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@{HOST}:{self.port}/{db}"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = _as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), *args])
        return subprocess.run(cmd, capture_output=True, text=True, check=check)

    def __enter__(self) -> PrivateCluster:
        subprocess.run(
            _as_postgres(
                [
                    pg_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                ]
            ),
            capture_output=True,
            check=True,
        )
        self.start()
        return self

    def restart(self) -> float:
        """``pg_ctl restart -m fast`` (every session is cut); seconds it took."""
        t0 = time.monotonic()
        self._ctl("-m", "fast", "-w", "restart")
        return time.monotonic() - t0

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses={HOST} -c max_connections=200"
        self._ctl("-o", opts, "-w", "start")

    def __exit__(self, *exc) -> None:
        self._ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(driver="postgresql"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
