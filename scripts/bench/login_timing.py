"""Login replies to unknown, wrong and throttled person numbers: the same status for
unknown and real numbers, and similar times (issue 14: a locked account used to answer
in 5 ms, an unknown number in 75 ms). In process (Flask test client) on a fresh SQLite
database, the three cases interleaved so machine load hits them alike; behind
``JIFA_TRUSTED_PROXIES=1`` so each case comes from its own client address.

    python scripts/bench/login_timing.py [--rounds 18]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.accounts.services import ensure_account, set_password  # noqa: E402
from core.db import make_engine, make_session_factory  # noqa: E402
from core.org.models import Person  # noqa: E402
from core.org.services import create_unit  # noqa: E402
from jifa.app.migrate import upgrade  # noqa: E402

PASSWORD = "Bench2026!"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=18)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jifa-login-"))
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    people = [f"P{i:04d}" for i in range(7)]
    with make_session_factory(engine).begin() as session:
        unit = create_unit(session, code="D", name="区", kind="district")
        for no in people:
            person = Person(person_no=no, name=no, unit=unit, rank="township")
            session.add(person)
            session.flush()
            set_password(session, ensure_account(session, person), PASSWORD)
    engine.dispose()

    from jifa.web import create_app

    app = create_app({"SECRET_KEY": "b" * 40, "INSTANCE_PATH": str(tmp), "DATABASE_URL": url,
                      "TRUSTED_PROXIES": 1})  # fmt: skip
    client = app.test_client()

    def login(person_no: str, address: str) -> tuple[float, int]:
        started = time.perf_counter()
        resp = client.post("/api/v1/auth/login", json={"person_no": person_no, "password": "x-wrong-1"},
                           headers={"X-Forwarded-For": address})  # fmt: skip
        return (time.perf_counter() - started) * 1000, resp.status_code

    locked = people[0]
    for _ in range(5):  # lock P0000 for one address
        login(locked, "10.0.0.1")
    cases: dict[str, list[tuple[float, int]]] = {"unknown": [], "wrong": [], "throttled": []}
    for i in range(args.rounds):
        cases["unknown"].append(login(f"NOBODY-{i}", f"10.1.{i}.1"))
        cases["wrong"].append(login(people[1 + i % 6], f"10.2.{i}.1"))
        cases["throttled"].append(login(locked, "10.0.0.1"))
        cases["unknown"].append(login(f"NOBODY-{i}", "10.0.0.1"))  # settles nothing: one try
    result = {}
    for name, rows in cases.items():
        ms = sorted(t for t, _ in rows)
        result[name] = {"statuses": sorted({s for _, s in rows}),
                        "median_ms": round(statistics.median(ms), 1),
                        "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 1)}  # fmt: skip
        print(f"{name:<10} statuses {result[name]['statuses']}  median {result[name]['median_ms']} ms"
              f"  p90 {result[name]['p90_ms']} ms")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
