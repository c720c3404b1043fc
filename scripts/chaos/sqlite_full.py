"""Chaos: SQLite on a full disk.

    .venv/bin/python scripts/chaos/sqlite_full.py [--fault tmpfs|fsize] [--quick] [--port P]

``--fault tmpfs`` (as root): the database lives on a small tmpfs made by the script,
which then fills it with a file until no byte is left. ``--fault fsize``: a file-size
limit (``prlimit --fsize``) on the gunicorn workers, set to the database's current size.
Candidates keep saving as the paper page does. While the disk is full a save that needs
space must answer 503 with ``Retry-After`` (never 500) and the client keeps it; then the
space returns (the file removed, the limit lifted) and saves must succeed again.
Afterwards ``PRAGMA integrity_check`` must say ``ok`` and every acknowledged answer
must be stored. Last line: one JSON object."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import _chaos as c


@contextlib.contextmanager
def small_filesystem(size_mb: int):
    path = Path(tempfile.mkdtemp(prefix="jifa-chaos-fs-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


def fill(path: Path) -> int:
    """Write ``path/filler`` until the filesystem is full; bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with open(path / "filler", "wb", buffering=0) as fh:
        while True:
            try:
                written += fh.write(chunk)
            except OSError:
                break
        with contextlib.suppress(OSError):  # the last few bytes
            while fh.write(b"\0"):
                written += 1
    return written


def set_fsize(pids: list[int], limit: str) -> None:
    for pid in pids:
        subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={limit}"], check=True)


def main() -> None:
    p = c.bench.parser(__doc__.splitlines()[0])
    c.port_arg(p)
    p.add_argument("--fault", choices=["tmpfs", "fsize"], default=None)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--full-seconds", type=float, default=6.0)
    p.add_argument("--quick", action="store_true", help="a short run for the test suite")
    args = p.parse_args()
    fault = args.fault or ("tmpfs" if os.geteuid() == 0 else "fsize")
    candidates = min(args.candidates, 30) if args.quick else args.candidates
    full_for = min(args.full_seconds, 3.0) if args.quick else args.full_seconds
    with contextlib.ExitStack() as stack:
        if fault == "tmpfs":
            where = stack.enter_context(small_filesystem(48))
        else:
            where = Path(tempfile.mkdtemp(prefix="jifa-chaos-fs-"))
            stack.callback(shutil.rmtree, where, True)
        db_file = where / "chaos.sqlite3"
        url = f"sqlite:///{db_file}"
        from jifa.app.migrate import upgrade

        upgrade(url)
        seeded = c.bench.seed(url, candidates, start_attempts=True)
        with c.app_server(url, args.port, workers=2) as (port, master):
            cands = c.candidates(port, url, seeded)
            replies, stop = c.Replies(), threading.Event()
            threads = c.storm(port, cands, stop, replies, threads=6)
            time.sleep(1.0)
            t_full = time.monotonic()
            if fault == "tmpfs":
                filled = fill(where)
            else:
                filled = 0
                size = sum(f.stat().st_size for f in where.glob("chaos.sqlite3*"))
                set_fsize(c.worker_pids(master.pid), f"{size}:unlimited")  # the soft limit
            time.sleep(full_for)
            t_space = time.monotonic()
            if fault == "tmpfs":
                (where / "filler").unlink()
            else:
                set_fsize(c.worker_pids(master.pid), "unlimited:unlimited")
            time.sleep(4.0 if args.quick else 8.0)
            stop.set()
            for t in threads:
                t.join()
            left = c.drain(port, cands, replies)
        with contextlib.closing(sqlite3.connect(db_file)) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        check = c.verify(url, cands)
    during = replies.between(t_full, t_space)
    statuses = replies.statuses()
    first_ok = replies.first_ok_after(t_space)
    five = sum(n for s, n in statuses.items() if s.startswith("5") and s != "503")
    result = {
        "scenario": "sqlite_full",
        "fault": fault,
        "candidates": candidates,
        "filler_bytes": filled,
        "full_seconds": round(t_space - t_full, 2),
        "requests": len(replies.log),
        "replies": statuses,
        "replies_during_fault": during,
        "503_without_retry_after": replies.retry_after_missing,
        "seconds_to_first_save_after_space": round(first_ok - t_space, 3) if first_ok else None,
        "seconds_to_last_failure_after_space": round(
            max(0.0, (replies.last_failure() or t_space) - t_space), 3
        ),
        "integrity_check": integrity,
        "queued_unsent": left,
        **check,
        "replies_5xx_not_503": five,
    }
    c.emit(result)
    ok = (
        integrity == "ok"
        and check["answers_lost"] == 0
        and five == 0
        and during.get("503", 0) > 0  # the fault did bite
        and result["503_without_retry_after"] == 0
        and first_ok is not None
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
