"""Target 1 (PERFORMANCE.md): autosave throughput against the trivial ping endpoint of
the same gunicorn server, measured with wrk in the same run.

    .venv/bin/python scripts/bench/autosave.py --db sqlite
    .venv/bin/python scripts/bench/autosave.py --db postgresql

Each request is the real endpoint the paper page uses: the lean autosave route with
the attempt's token (issued with the paper, sent as a header); account, owner, attempt
status and deadline checked, answer validated, upserted and committed before the reply.
``--flask`` sends the same saves to the Flask API route (session cookie + CSRF header)
instead. 256 candidates with started attempts are spread over the wrk connections; each
wrk thread owns its candidates so sequence numbers only grow. ``--access-log FILE``
writes the app's access lines there (off by default). Besides the throughput ratio
(the target), the gunicorn workers' CPU time per request is printed for both
(``worker_cpu_us``, ``cpu_ratio``): on a busy shared machine it moves far less.
Last line: one JSON object.
"""

from __future__ import annotations

import os
import tempfile

import _common as c

CANDIDATES = 256

LUA = r"""
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
local cands = {}
local n, i, seq = 0, 0, 0
local bodies = {single='"B"', multiple='["A","C"]', true_false='true', fill_blank='["留置"]'}
function init(args)
  local k = 0
  for line in io.lines("DATAFILE") do
    if k % NTHREADS == tid then
      local url, headers, items = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
      local h = {["Content-Type"]="application/json"}
      for k, v in headers:gmatch("([^=;]+)=([^;]+)") do h[k] = v end
      local list = {}
      for id, t in items:gmatch("(%d+):([%w_]+)") do table.insert(list, {id, t}) end
      table.insert(cands, {url=url, headers=h, items=list})
    end
    k = k + 1
  end
  n = #cands
end
function request()
  i = i % n + 1
  seq = seq + 1
  local cand = cands[i]
  local it = cand.items[(seq % #cand.items) + 1]
  local body = '{"answer": ' .. bodies[it[2]] .. ', "seq": ' .. seq .. '}'
  return wrk.format("PUT", cand.url .. it[1], cand.headers, body)
end
"""


def _item_types(url: str) -> dict[int, str]:
    from sqlalchemy import select

    from core.db import make_engine
    from exam.models import PaperItem
    from question_bank.models import QuestionVersion

    eng = make_engine(url)
    with eng.connect() as conn:
        types = dict(
            conn.execute(
                select(PaperItem.id, QuestionVersion.type).join(
                    QuestionVersion, QuestionVersion.id == PaperItem.question_version_id
                )
            ).all()
        )
    eng.dispose()
    return types


def _answer_rows(url: str) -> int:
    from sqlalchemy import func, select

    from core.db import make_engine
    from exam.models import Answer

    eng = make_engine(url)
    with eng.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Answer)).scalar()
    eng.dispose()
    return stored


def _datafile(port: int, url: str, seeded, flask: bool) -> str:
    """One line per candidate: the save URL prefix, the headers, the paper's items."""
    types = _item_types(url)
    logins = c.login_all(port, seeded.person_nos, url)
    routes = [{}] * len(logins) if flask else c.autosave_tokens(port, logins, seeded.exam_id)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        for pid, login, route in zip(seeded.person_ids, logins, routes, strict=True):
            items = ",".join(f"{i}:{types[i]}" for i in seeded.items[pid])
            if flask:
                url_prefix = f"/api/v1/attempts/{seeded.attempts[pid]}/answers/"
                headers = f"Cookie={login.cookie};X-CSRF-Token={login.csrf}"
            else:
                url_prefix, headers = route["url"], f"{route['header']}={route['token']}"
            f.write(f"{url_prefix}\t{headers}\t{items}\n")
        return f.name


def _combined(runs: list[dict]) -> dict:
    """Several wrk runs as one: requests and errors summed, the rate over their whole
    time, the worst round's percentiles."""
    if len(runs) == 1:
        return runs[0]
    seconds = sum(r["requests"] / r["rps"] for r in runs if r["rps"])
    requests = sum(r["requests"] for r in runs)
    return {
        "requests": requests,
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "errors": sum(r["errors"] for r in runs),
        **{k: max(r[k] for r in runs) for k in ("p50_ms", "p99_ms", "max_ms")},
        "rounds": len(runs),
    }


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--flask", action="store_true", help="save through the Flask API route")
    p.add_argument("--access-log", metavar="FILE", help="write the app's access lines here")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate ping and save this many times, --seconds each (a shared, noisy "
        "machine drifts less between the two); figures are summed, p99 is the worst round",
    )
    args = p.parse_args()
    wrk_threads = 2
    run = {"seconds": args.seconds, "connections": args.connections}
    with c.fresh_database(args.db, args.pg_admin_url) as url:
        seeded = c.seed(url, CANDIDATES, start_attempts=True)
        with c.gunicorn(
            url,
            workers=args.workers,
            worker_class=args.worker_class,
            threads=args.threads,
            access_log=args.access_log,
        ) as port:
            datafile = _datafile(port, url, seeded, args.flask)
            lua = LUA.replace("DATAFILE", datafile).replace("NTHREADS", str(wrk_threads))
            try:
                c.wrk(port, "/api/v1/ping", seconds=2, connections=args.connections)  # warm-up
                pings, saves, cpu = [], [], {"ping": 0.0, "save": 0.0}
                for _ in range(args.rounds):
                    for name, runs, script in (("ping", pings, ""), ("save", saves, lua)):
                        before = c.server_cpu_seconds(port)
                        runs.append(c.wrk(port, "/api/v1/ping", lua=script, **run))
                        cpu[name] += c.server_cpu_seconds(port) - before
                ping, save = _combined(pings), _combined(saves)
                for name, result in (("ping", ping), ("save", save)):
                    result["worker_cpu_us"] = round(cpu[name] / max(1, result["requests"]) * 1e6)
            finally:
                os.unlink(datafile)
        stored = _answer_rows(url)  # every acknowledged save is in the database
    ratio = save["rps"] / ping["rps"] if ping["rps"] else 0
    target = 0.65 if args.db == "sqlite" else 0.45
    c.emit(
        {
            "bench": "autosave",
            "db": args.db,
            "route": "flask" if args.flask else "lean",
            "access_log": bool(args.access_log),
            "server": f"gunicorn {args.workers} {args.worker_class} workers"
            + (f" x {args.threads} threads" if args.worker_class == "gthread" else ""),
            "connections": args.connections,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "ping": ping,
            "autosave": save,
            "answer_rows": stored,
            "ratio": round(ratio, 3),
            # server CPU per request: ping's over save's (less disturbed by a busy machine)
            "cpu_ratio": round(ping["worker_cpu_us"] / max(1, save["worker_cpu_us"]), 3),
            "target_ratio": target,
            "pass": ratio >= target and save["p99_ms"] <= 150 and save["errors"] == 0,
        }
    )


if __name__ == "__main__":
    main()
