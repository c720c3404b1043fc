"""Operations services: readiness of the database and the figures the metrics endpoint
reports from it. They take an ``Engine`` (a probe has no request transaction) and only
read."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select, text

from exam.models import Attempt
from exam.runner.helpers import IN_PROGRESS
from jifa.app.migrate import alembic_config


@dataclass(frozen=True)
class Readiness:
    ready: bool
    database: bool  # the database answered
    revision: str | None  # applied migration
    heads: tuple[str, ...]  # the migrations' head(s)
    problem: str | None = None

    def as_dict(self) -> dict:
        return {
            "ready": self.ready,
            "database": self.database,
            "revision": self.revision,
            "head": ",".join(self.heads),
            **({"problem": self.problem} if self.problem else {}),
        }


@cache
def migration_heads() -> tuple[str, ...]:
    """The head revision(s) of ``migrations/`` (read once per process)."""
    return tuple(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _connect(bind: Engine | Connection):
    """A connection of the engine, or the one the app is bound to (tests)."""
    return bind.connect() if isinstance(bind, Engine) else nullcontext(bind)


def readiness(engine: Engine | Connection) -> Readiness:
    """Ready when the database answers and its schema is at the migrations' head."""
    heads = migration_heads()
    try:
        with _connect(engine) as conn:
            conn.execute(text("SELECT 1"))
            revision = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported
        return Readiness(False, False, None, heads, f"数据库不可用：{type(exc).__name__}")
    if revision not in heads:
        return Readiness(
            False, True, revision, heads, "数据库结构不是最新版本，请运行 jifa db upgrade"
        )
    return Readiness(True, True, revision, heads)


def attempts_in_progress(engine: Engine | Connection) -> int:
    """Attempts in progress, every exam (the metrics gauge)."""
    with _connect(engine) as conn:
        return conn.execute(
            select(func.count()).select_from(Attempt).where(Attempt.status == IN_PROGRESS)
        ).scalar_one()
