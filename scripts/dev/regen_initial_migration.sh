#!/usr/bin/env bash
# Development only, until the first release: regenerate migrations/versions/0001 from the
# models. Once a migration has been applied anywhere, add a new migration instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec 9>/tmp/jifa-regen.lock
flock 9
tmp=$(mktemp -d)
mkdir -p "$tmp/migrations/versions"
cp migrations/env.py migrations/script.py.mako "$tmp/migrations/"
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from jifa.app.migrate import alembic_config
tmp = sys.argv[1]
cfg = alembic_config(f"sqlite:///{tmp}/gen.sqlite3")
cfg.set_main_option("script_location", f"{tmp}/migrations")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
cp "$tmp"/migrations/versions/0001_*.py migrations/versions/0001_initial_schema.py
.venv/bin/ruff format -q migrations/versions/0001_initial_schema.py || true
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial_schema.py"
