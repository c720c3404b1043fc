"""Target 1 (PERFORMANCE.md): autosave throughput against the trivial ping endpoint of
the same gunicorn server, measured with wrk in the same run.

    .venv/bin/python scripts/bench/autosave.py --db sqlite
    .venv/bin/python scripts/bench/autosave.py --db postgresql

Each request is the real endpoint: authenticated session cookie + CSRF header, attempt
and deadline checked, answer validated, upserted and committed before the reply. 256
candidates with started attempts are spread over the wrk connections; each wrk thread
owns its candidates so sequence numbers only grow. Last line: one JSON object.
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
      local cookie, csrf, aid, items = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
      local list = {}
      for id, t in items:gmatch("(%d+):([%w_]+)") do table.insert(list, {id, t}) end
      table.insert(cands, {cookie=cookie, csrf=csrf, aid=aid, items=list})
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
  return wrk.format("PUT", "/api/v1/attempts/" .. cand.aid .. "/answers/" .. it[1],
    {["Cookie"]=cand.cookie, ["X-CSRF-Token"]=cand.csrf, ["Content-Type"]="application/json"}, body)
end
"""


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=64)
    args = p.parse_args()
    wrk_threads = 2
    with c.fresh_database(args.db, args.pg_admin_url) as url:
        seeded = c.seed(url, CANDIDATES, start_attempts=True)
        types = {}
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
        with c.gunicorn(
            url, workers=args.workers, worker_class=args.worker_class, threads=args.threads
        ) as port:
            logins = c.login_all(port, seeded.person_nos, url)
            with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
                for pid, login in zip(seeded.person_ids, logins, strict=True):
                    items = ",".join(f"{i}:{types[i]}" for i in seeded.items[pid])
                    f.write(f"{login.cookie}\t{login.csrf}\t{seeded.attempts[pid]}\t{items}\n")
                datafile = f.name
            lua = LUA.replace("DATAFILE", datafile).replace("NTHREADS", str(wrk_threads))
            try:
                c.wrk(port, "/api/v1/ping", seconds=2, connections=args.connections)  # warm-up
                ping = c.wrk(
                    port, "/api/v1/ping", seconds=args.seconds, connections=args.connections
                )
                save = c.wrk(
                    port,
                    "/api/v1/ping",
                    lua=lua,
                    seconds=args.seconds,
                    connections=args.connections,
                )
            finally:
                os.unlink(datafile)
        # every acknowledged save is in the database
        eng = make_engine(url)
        with eng.connect() as conn:
            from sqlalchemy import func

            from exam.models import Answer

            stored = conn.execute(select(func.count()).select_from(Answer)).scalar()
        eng.dispose()
    ratio = save["rps"] / ping["rps"] if ping["rps"] else 0
    target = 0.5 if args.db == "sqlite" else 0.3
    c.emit(
        {
            "bench": "autosave",
            "db": args.db,
            "server": f"gunicorn {args.workers} {args.worker_class} workers"
            + (f" x {args.threads} threads" if args.worker_class == "gthread" else ""),
            "connections": args.connections,
            "seconds": args.seconds,
            "ping": ping,
            "autosave": save,
            "answer_rows": stored,
            "ratio": round(ratio, 3),
            "target_ratio": target,
            "pass": ratio >= target and save["p99_ms"] <= 150 and save["errors"] == 0,
        }
    )


if __name__ == "__main__":
    main()
