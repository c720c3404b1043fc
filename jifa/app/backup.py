"""Backups and restores of the whole database (``jifa db backup`` / ``jifa db restore``).

- SQLite: SQLite's online backup API (``sqlite3.Connection.backup``), which copies a
  consistent snapshot while the app keeps serving (WAL readers and writers go on); the
  copy is written beside the target and renamed into place, so a backup file is never
  half written. Restore copies the file back through the same API into the live
  database.
- PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot, no lock that stops
  saves) and ``pg_restore --single-transaction`` (all or nothing); the client programs
  of the server's major version or newer must be on ``PATH``.

A restore goes into an empty database (no tables at all); a database with tables is
refused unless ``force`` (SQLite: replaced whole; PostgreSQL: ``--clean --if-exists``,
every object of the dump dropped and recreated).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from core.db import make_engine
from core.errors import Conflict, InvalidInput

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupFailed(InvalidInput):
    """A backup or restore tool failed (its message says why)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str
    bytes: int
    tables: int


def _backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise InvalidInput(f"不支持备份此类数据库：{name}")
    return name


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise InvalidInput("内存数据库无法备份或恢复。")
    return Path(url.database)


def _pg_env(url: URL) -> tuple[list[str], dict]:
    """libpq options for ``url`` (the password goes in the environment, not argv)."""
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: list[str], env: dict) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupFailed(
            f"找不到 {cmd[0]}：请安装 PostgreSQL 客户端（Debian: postgresql-client）。"
        )
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupFailed(f"{cmd[0]} 失败：{done.stderr.strip()[-800:]}")


def table_names(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def backup(url: str, target: str | Path) -> BackupResult:
    """Write a backup of the database at ``url`` to ``target`` (replaced if present)."""
    backend = _backend(url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    parsed = make_url(url)
    try:
        if backend == "sqlite":
            source = sqlite3.connect(f"file:{_sqlite_path(parsed)}?mode=ro", uri=True)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # all pages in one step: one consistent snapshot
            except sqlite3.Error as exc:
                raise BackupFailed(f"SQLite 备份失败：{exc}") from exc
            finally:
                copy.close()
                source.close()
        else:
            args, env = _pg_env(parsed)
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--file", str(partial), *args]
                + ["--dbname", str(parsed.database)],
                env,
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, backend, target.stat().st_size, len(table_names(url)))


def backup_kind(path: str | Path) -> str:
    """``sqlite`` or ``postgresql`` from the file's first bytes; ``InvalidInput`` else."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"备份文件不存在：{path}")
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise InvalidInput(f"不是本系统的备份文件（SQLite 数据库或 pg_dump 自定义格式）：{path}")


def restore(url: str, source: str | Path, *, force: bool = False) -> BackupResult:
    """Restore the backup ``source`` into the database at ``url``: it must be empty
    (no tables) unless ``force``. The backup's kind must match the database's."""
    backend = _backend(url)
    kind = backup_kind(source)
    if kind != backend:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise InvalidInput(f"备份是 {names[kind]} 格式，目标数据库是 {names[backend]}，无法恢复。")
    existing = table_names(url)
    if existing and not force:
        raise Conflict(
            f"目标数据库不是空库（已有 {len(existing)} 张表）：恢复会覆盖现有数据。"
            "确认覆盖请加 --force。"
        )
    parsed = make_url(url)
    source = Path(source)
    if backend == "sqlite":
        check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
        if ok != "ok":
            raise BackupFailed(f"备份文件已损坏（integrity_check：{ok}），未恢复。")
        path = _sqlite_path(parsed)
        path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(path, timeout=30)
        try:
            src.backup(dst)  # replaces every page of the target, under its write lock
        except sqlite3.Error as exc:
            raise BackupFailed(f"SQLite 恢复失败：{exc}") from exc
        finally:
            dst.close()
            src.close()
    else:
        args, env = _pg_env(parsed)
        cmd = ["pg_restore", "--single-transaction", "--no-owner", "--exit-on-error", *args]
        if existing:
            cmd += ["--clean", "--if-exists"]
        _run([*cmd, "--dbname", str(parsed.database), str(source)], env)
    return BackupResult(source, backend, source.stat().st_size, len(table_names(url)))
