from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.audit import AuditLogIsAppendOnly, record
from core.db import autocommit, make_engine, one_statement_write
from jifa.app.migrate import alembic_config, current_revision, upgrade


def test_sqlite_engine_has_wal_foreign_keys_and_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_sqlite_autocommit_reads_do_not_queue_behind_a_writer(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 1)")
    writer = engine.connect()
    writer.begin()
    writer.exec_driver_sql("UPDATE t SET v = 2")  # holds the write lock and the queue
    reader = engine.connect()
    reader.connection.dbapi_connection.queue_timeout = 0.05
    try:
        autocommit(reader)
        assert reader.exec_driver_sql("SELECT v FROM t").scalar() == 1  # no waiting
        reader.commit()
        autocommit(reader, False)
        with pytest.raises(Exception, match="locked"):  # a write transaction must queue
            reader.exec_driver_sql("SELECT v FROM t")
        reader.rollback()
        writer.commit()
        autocommit(reader)
        with one_statement_write(reader):
            reader.exec_driver_sql("UPDATE t SET v = 3")
        assert reader.get_execution_options()["jifa_autocommit"] is True  # restored
        assert writer.exec_driver_sql("SELECT v FROM t").scalar() == 3
        writer.commit()
    finally:
        reader.close()
        writer.close()
        engine.dispose()


def test_sqlite_writers_wait_for_the_queue_without_spinning(tmp_path):
    """A writer behind another sleeps in the kernel (no CPU while it waits), starts the
    moment the first commits, and a wait given up on leaves the queue usable."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 1)")
    holder = engine.connect()
    holder.begin()
    holder.exec_driver_sql("UPDATE t SET v = 2")
    waited = {}

    def second_writer():
        t0, cpu0 = time.perf_counter(), time.thread_time()
        with engine.begin() as conn:
            waited["wall"] = time.perf_counter() - t0
            waited["cpu"] = time.thread_time() - cpu0
            conn.exec_driver_sql("UPDATE t SET v = v + 10")

    writer = threading.Thread(target=second_writer)
    cpu0 = time.process_time()
    writer.start()
    time.sleep(0.5)
    holder.commit()  # the waiting writer goes now
    writer.join(10)
    # (polling every few microseconds cost about 14 % of a core while waiting)
    assert waited["wall"] >= 0.45 and waited["cpu"] < 0.02
    assert time.process_time() - cpu0 < 0.04  # no thread spun while it waited
    assert holder.exec_driver_sql("SELECT v FROM t").scalar() == 12
    holder.commit()

    # a wait given up on (same thread: it could never be granted) ...
    holder.begin()
    holder.exec_driver_sql("UPDATE t SET v = 0")
    other = engine.connect()
    other.connection.dbapi_connection.queue_timeout = 0.05
    with pytest.raises(Exception, match="locked"):
        other.exec_driver_sql("UPDATE t SET v = 1")
    other.rollback()
    holder.commit()
    # ... is settled once the lock comes, and the queue works for everyone after it
    with one_statement_write(autocommit(other)):
        other.exec_driver_sql("UPDATE t SET v = 5")
    assert other.connection.dbapi_connection._waiter.abandoned == 0
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT v FROM t").scalar() == 5
    other.close()
    holder.close()
    engine.dispose()


def test_models_and_migrations_agree(db_url):
    # Raises when the models describe a schema the migrations do not create.
    command.check(alembic_config(db_url))


def test_upgrade_twice_applies_nothing_new(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    assert current_revision(url) is None
    upgrade(url)
    head = current_revision(url)
    assert head is not None
    upgrade(url)
    assert current_revision(url) == head


def test_audit_log_is_append_only(session):
    entry = record(session, None, "test.action", "thing", 1, after={"x": 1})
    session.flush()
    entry.action = "changed"
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    session.rollback()
    entry = record(session, None, "test.action", "thing", 2)
    session.flush()
    session.delete(entry)
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()


def test_datetimes_round_trip_as_aware_utc(session):
    at = dt.datetime(2026, 6, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    entry = record(session, None, "t", "thing", at=at)
    session.flush()
    session.expire(entry)
    assert entry.at == at
    assert entry.at.tzinfo is not None


def test_named_constraint_guards_unit_kind(session):
    with pytest.raises(IntegrityError) as err:
        session.execute(
            text(
                "INSERT INTO org_units (code, name, kind, path, sort_order) VALUES ('X', 'x', 'nope', '/', 0)"
            )
        )
    assert "kind_valid" in str(err.value) or "CHECK" in str(err.value).upper()


def test_database_refuses_audit_log_edits_even_with_raw_sql(session):
    from sqlalchemy.exc import DBAPIError

    record(session, None, "t.raw", "thing", 1)
    session.flush()
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("UPDATE audit_log SET action = 'x' WHERE action = 't.raw'"))
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM audit_log WHERE action = 't.raw'"))


def test_sqlite_lazy_writes_take_the_lock_at_the_first_write_only(tmp_path):
    """A request's transaction (``lazy_writes``) reads without the write lock while
    another writer holds it; its first write, or a locking read, queues for it."""
    from sqlalchemy import Column, Integer, MetaData, Table, select

    from core.db import lazy_writes

    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 1)")
    t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("v", Integer))
    writer = engine.connect()
    writer.begin()
    writer.exec_driver_sql("UPDATE t SET v = 2")  # holds the write lock and the queue
    request = lazy_writes(engine).connect()
    request.connection.dbapi_connection.queue_timeout = 0.05
    try:
        request.begin()
        assert request.execute(select(t.c.v)).scalar() == 1  # no waiting for the writer
        assert not request.connection.dbapi_connection.in_transaction
        with pytest.raises(Exception, match="locked"):  # a locking read queues ...
            request.execute(select(t.c.v).with_for_update())
        request.rollback()
        request.begin()
        with pytest.raises(Exception, match="locked"):  # ... and so does a write
            request.execute(t.update().values(v=5))
        request.rollback()
        writer.commit()
        with request.begin():  # the lock is free: read, then write under the lock
            assert request.execute(select(t.c.v)).scalar() == 2
            request.execute(t.update().values(v=3))
            assert request.connection.dbapi_connection.in_transaction
        assert not request.connection.dbapi_connection._holding  # released at commit
        assert writer.exec_driver_sql("SELECT v FROM t").scalar() == 3
        writer.commit()
        # a savepoint is a write: it starts the locked transaction
        with request.begin(), request.begin_nested():
            request.execute(t.update().values(v=4))
        assert writer.exec_driver_sql("SELECT v FROM t").scalar() == 4
        writer.commit()
    finally:
        request.close()
        writer.close()
        engine.dispose()
