"""Backups: ``jifa db backup`` / ``jifa db restore`` on the configured database, and the
restore drill (the statistics of a restored database are those of the original)."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db import make_engine, make_session_factory, transaction
from core.errors import Conflict, InvalidInput
from jifa.app import backup as backups
from jifa.app.migrate import upgrade
from tests.conftest import BACKEND, PG_URL


@pytest.fixture
def new_database(tmp_path):
    """Make empty databases of the suite's backend (dropped afterwards)."""
    made: list[str] = []

    def _new() -> str:
        if BACKEND != "postgresql":
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.sqlite3'}"
        base = make_url(PG_URL)
        name = f"{base.database}_drill_{uuid.uuid4().hex[:6]}"
        admin = make_engine(
            base.set(database="postgres").render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        made.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    yield _new
    if made:
        base = make_url(PG_URL)
        admin = make_engine(
            base.set(database="postgres").render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _statistics(url: str, exam_id: int) -> dict:
    from analysis import report

    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return json.loads(json.dumps(report.build(session, exam_id).to_json(), default=str))
    finally:
        engine.dispose()


def _sitting(url: str) -> int:
    """The demo district with simulated, scored attempts; the exam id."""
    from analysis.simulate import simulate
    from exam.models import Exam
    from jifa.app.demo import demo_now, load_all

    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            load_all(session, now=demo_now())
            exam = session.query(Exam).order_by(Exam.id).first()
            simulate(session, exam, people=80, seed=7, now=demo_now())
            return exam.id
    finally:
        engine.dispose()


def test_restore_drill_keeps_the_statistics(new_database, tmp_path):
    source, target = new_database(), new_database()
    exam_id = _sitting(source)
    before = _statistics(source, exam_id)
    assert before["overall"]["n"] >= 60  # a real sitting, not an empty report

    made = backups.backup(source, tmp_path / "nightly.backup")
    assert made.bytes > 0 and made.tables == len(backups.table_names(source))
    restored = backups.restore(target, made.path)
    assert restored.tables == made.tables
    assert _statistics(target, exam_id) == before

    # the target now has tables: a second restore is refused unless forced
    with pytest.raises(Conflict, match="--force"):
        backups.restore(target, made.path)
    backups.restore(target, made.path, force=True)
    assert _statistics(target, exam_id) == before


def test_restore_refuses_a_foreign_or_broken_file(new_database, tmp_path):
    target = new_database()
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup")
    with pytest.raises(InvalidInput, match="不是本系统的备份文件"):
        backups.restore(target, junk)
    other = tmp_path / ("x.dump" if BACKEND != "postgresql" else "x.sqlite3")
    other.write_bytes(b"PGDMP..." if BACKEND != "postgresql" else backups.SQLITE_MAGIC)
    with pytest.raises(InvalidInput, match="无法恢复"):
        backups.restore(target, other)
    assert backups.table_names(target) == []  # nothing written


@pytest.mark.skipif(BACKEND == "postgresql", reason="SQLite file backup")
def test_sqlite_backup_is_consistent_while_writes_go_on(tmp_path):
    import threading

    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT)"))
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            n += 1
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t (n, v) VALUES (:n, :v)"), {"n": n, "v": "x" * 500})

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = [backups.backup(url, tmp_path / f"b{i}.sqlite3") for i in range(5)]
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    for made in copies:
        with sqlite3.connect(made.path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows, top = conn.execute("SELECT count(*), coalesce(max(n), 0) FROM t").fetchone()
            assert rows == top  # a snapshot: no gap in the sequence


def test_cli_backup_and_restore(new_database, tmp_path):
    from jifa.cli import main
    from jifa.cli.context import AppContext

    source, target = new_database(), new_database()
    upgrade(source)
    file = tmp_path / "cli.backup"

    def run(url, *args):
        ctx = AppContext({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "inst")})
        return CliRunner().invoke(main, ["db", *args], obj=ctx)

    made = run(source, "backup", str(file), "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["tables"] > 10
    done = run(target, "restore", str(file))
    assert done.exit_code == 0 and "恢复完成" in done.output
    again = run(target, "restore", str(file))
    assert again.exit_code == 1 and "--force" in again.output
    forced = run(target, "restore", str(file), "--force")
    assert forced.exit_code == 0, forced.output
