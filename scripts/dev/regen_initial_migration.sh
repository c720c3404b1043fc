#!/usr/bin/env bash
# Development only, until the first release: regenerate migrations/versions/0001 from the
# models. Once a migration has been applied anywhere, add a new migration instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec 9>/tmp/jifa-regen.lock
flock 9
tmp=$(mktemp -d)
rm -f migrations/versions/0001_initial_schema.py
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from jifa.migrate import alembic_config
cfg = alembic_config(f"sqlite:///{sys.argv[1]}/gen.sqlite3")
command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
PY
sed -i "s/^down_revision = .*/down_revision = None/" migrations/versions/0001_initial_schema.py
.venv/bin/ruff format -q migrations/versions/0001_initial_schema.py || true
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial_schema.py"
