"""Administration benchmark: roster import (validate + write) and the live monitor /
results computation over a large exam. In-process service calls (no HTTP): these are
the parts whose cost grows with the district. Prints one JSON object on the last line.

    .venv/bin/python scripts/bench/admin.py [--db sqlite|postgresql] [--people 5000]
        [--candidates 2000]
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time

from _common import fresh_database, parser, seed  # noqa: E402 (adds the repo to sys.path)


def roster_bytes(n: int, units: list[str]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "人员名册"
    ws.append(["姓名", "人员编号", "单位", "职级", "是否党员", "职务", "联系方式"])
    ranks = ["县处级", "乡科级（正科）", "乡科级（副科）", "一般干部", "其他公职人员"]
    for i in range(n):
        ws.append([f"压测{i}", f"R{i:06d}", units[i % len(units)], ranks[i % 5], "是", "科员",
                   f"139{i:08d}"])  # fmt: skip
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--people", type=int, default=5000)
    p.add_argument("--candidates", type=int, default=2000)
    args = p.parse_args()
    from core.accounts.scope import CONSOLE
    from core.db import make_engine, make_session_factory
    from core.org.roster import import_org
    from exam.admin import monitor, results
    from exam.models import Exam
    from jifa.app.demo import load_org

    out: dict = {"db": args.db}
    with fresh_database(args.db, args.pg_admin_url) as url:
        seeded = seed(url, args.candidates, start_attempts=True, answers_per_attempt=40)
        factory = make_session_factory(make_engine(url))
        with factory.begin() as session:
            units = load_org(session)
            codes = [c for c in units if c not in ("D00", "JW")]
        data = roster_bytes(args.people, codes)
        now = dt.datetime.now(dt.UTC)
        with factory.begin() as session:
            t = time.perf_counter()
            report = import_org(session, data, filename="r.xlsx", now=now)
            session.flush()
            out["roster_import_s"] = round(time.perf_counter() - t, 2)
            out["roster_people"] = report.people_created
            assert not report.errors, report.errors[:3]
        with factory.begin() as session:
            t = time.perf_counter()
            report = import_org(session, data, filename="r.xlsx", now=now)  # all unchanged
            out["roster_reimport_s"] = round(time.perf_counter() - t, 2)
            assert report.unchanged == args.people
        with factory() as session:
            exam = session.get(Exam, seeded.exam_id)
            t = time.perf_counter()
            mon = monitor.monitor(session, exam, scope=CONSOLE, now=now)
            out["monitor_s"] = round(time.perf_counter() - t, 3)
            out["monitor_candidates"] = len(mon["candidates"])
            out["monitor_json_kb"] = round(len(json.dumps(mon, ensure_ascii=False)) / 1024)
            t = time.perf_counter()
            res = results.results(session, exam, scope=CONSOLE)
            out["results_s"] = round(time.perf_counter() - t, 3)
            out["results_rows"] = len(res["rows"])
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
