"""Configuration from ``JIFA_*`` environment variables and an optional instance file.

Nothing here runs at import time; ``load_config`` is called by the app factory and by
the CLI, so tests can pass their own values.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, object] = {
    # SQLAlchemy URL; the embedded default is an SQLite file under instance/.
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    # Grace period after an attempt's deadline during which saves are still accepted.
    "GRACE_SECONDS": 30,
    # Login throttling: failures per window before the account is locked.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_SECONDS": 60,
    "LOGIN_LOCKOUT_SECONDS": 300,
    # Session cookie is marked Secure when served over HTTPS (set to 1 behind TLS).
    "SECURE_COOKIES": False,
    # Mount the lean autosave app (jifa.web.runner.autosave); off = saves through Flask only.
    "FAST_AUTOSAVE": True,
    "INSTANCE_PATH": None,
    # Prometheus metrics at /metrics (jifa.web.ops): off by default; when on, served only
    # to these addresses or networks (comma-separated).
    "METRICS": False,
    "METRICS_ALLOW": "127.0.0.1,::1",
    # The issuer (落款) at the end of the notice: joint issuers separated by a full-width space.
    "ISSUER": "中共示范区纪律检查委员会\u3000示范区监察委员会",
    # development | production: production refuses demo data and logins and a
    # generated or default secret key (jifa.app.safety)
    "ENV": "development",
    # production only: accept the secret generated into instance/secret_key (one server)
    "ALLOW_GENERATED_SECRET": False,
    # reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted
    # (Werkzeug's ProxyFix); 0 = none, the peer address is the client's
    "TRUSTED_PROXIES": 0,
}

_INT_KEYS = {k for k, v in DEFAULTS.items() if isinstance(v, int) and not isinstance(v, bool)}
_BOOL_KEYS = {k for k, v in DEFAULTS.items() if isinstance(v, bool)}


def instance_path(config: dict | None = None) -> Path:
    value = (config or {}).get("INSTANCE_PATH") or os.environ.get("JIFA_INSTANCE_PATH")
    return Path(value) if value else PROJECT_ROOT / "instance"


def _read_instance_file(path: Path) -> dict[str, object]:
    """Read ``instance/jifa.cfg``: ``KEY = value`` lines, ``#`` comments."""
    values: dict[str, object] = {}
    cfg = path / "jifa.cfg"
    if not cfg.exists():
        return values
    for raw in cfg.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().upper()] = value.strip().strip("'\"")
    return values


def _coerce(key: str, value: object) -> object:
    if key in _INT_KEYS and isinstance(value, str):
        return int(value)
    if key in _BOOL_KEYS and isinstance(value, str):
        return value.lower() in {"1", "true", "yes", "on"}
    return value


def load_config(overrides: dict | None = None) -> dict[str, object]:
    """Defaults < instance file < ``JIFA_*`` environment < explicit overrides."""
    overrides = dict(overrides or {})
    inst = instance_path(overrides)
    config: dict[str, object] = dict(DEFAULTS)
    config.update(_read_instance_file(inst))
    for key in DEFAULTS:
        env = os.environ.get(f"JIFA_{key}")
        if env is not None:
            config[key] = env
    config.update(overrides)
    config = {k: _coerce(k, v) for k, v in config.items()}
    config["INSTANCE_PATH"] = str(inst)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{inst / 'jifa.sqlite3'}"
    config["SECRET_KEY_SOURCE"] = "configured" if config.get("SECRET_KEY") else "generated"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _persistent_secret(inst)
    return config


def _persistent_secret(inst: Path) -> str:
    """A secret key kept in ``instance/secret_key`` so restarts keep sessions valid.

    Several app servers must share one key: set ``JIFA_SECRET_KEY`` for them.
    """
    inst.mkdir(parents=True, exist_ok=True)
    path = inst / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_hex(32)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key
