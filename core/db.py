"""Database plumbing: the declarative ``Base``, engines and session factories.

Plain SQLAlchemy 2.0 with our own ``sessionmaker`` so that CLI jobs, analysis and
tests run without a Flask app. Services take a ``Session`` and never commit; the caller
(request wrapper, CLI command, test fixture) owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC values")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict: JSON, list: JSON}


def utcnow() -> dt.datetime:
    """The one place that reads the clock; call it at the edges (views, CLI) only."""
    return dt.datetime.now(dt.UTC)


class _QueuedConnection(sqlite3.Connection):
    """A pysqlite connection whose transactions queue on an ``flock`` before
    ``BEGIN IMMEDIATE``.

    SQLite allows one writer at a time and makes the others poll with growing sleeps
    (1, 2, 5, 10 ... ms), which wrecks latency when several gunicorn workers write at
    once. Waiting on a file lock instead wakes the next transaction the moment the
    previous one commits. The lock is released right after COMMIT or ROLLBACK.

    A free queue is taken at once; a busy one is waited for in the kernel (a blocking
    ``flock`` on this connection's waiter thread, see ``_LockWaiter``), so a waiting
    writer costs no CPU, with the same ``queue_timeout`` as before.
    """

    lock_path: str | None = None
    #: seconds to wait for the queue before failing like a busy SQLite would
    queue_timeout: float = 30.0

    _queue_fd: int | None = None  # the lock file, opened once per connection
    _waiter: _LockWaiter | None = None
    _holding = False

    def acquire_queue(self) -> None:
        if self.lock_path is None or self._holding:
            return
        if self._queue_fd is None:
            self._queue_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        waiter = self._waiter
        if waiter is None or not waiter.abandoned:  # (else the waiter's turn comes first)
            try:
                fcntl.flock(self._queue_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._holding = True
                return
            except BlockingIOError:
                pass
        if waiter is None:
            waiter = self._waiter = _LockWaiter(self._queue_fd)
        if not waiter.wait(self.queue_timeout):
            raise sqlite3.OperationalError("database is locked")
        self._holding = True

    def release_queue(self) -> None:
        if self._holding:
            self._holding = False
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_queue()
            waiter, self._waiter = self._waiter, None
            if waiter is not None:
                waiter.stop()
            fd, self._queue_fd = self._queue_fd, None
            if fd is not None:
                os.close(fd)


class _LockWaiter:
    """Takes a busy ``flock`` for a connection with a blocking call on a thread of its
    own, so the connection can give up after a timeout (a blocking ``flock`` has none)
    while the wait itself sleeps in the kernel and wakes when the lock is released.

    A wait given up on is finished by the thread: when it gets the lock at last, it
    releases it at once (until then, ``abandoned`` counts it and the connection's next
    wait goes through the thread too, behind it).
    """

    abandoned = 0

    def __init__(self, fd: int):
        # its own descriptor of the same open file: the lock is the file's, and the
        # thread may outlive the connection's descriptor (a wait given up on)
        self._fd = os.dup(fd)
        self._guard = threading.Lock()  # settles a wait given up on as the lock comes
        self._requests: queue.SimpleQueue[_LockRequest | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-queue", daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> bool:
        """True once this connection holds the lock; False after ``timeout``."""
        request = _LockRequest()
        self._requests.put(request)
        if request.done.wait(timeout):
            return request.error is None
        with self._guard:
            if request.done.is_set():  # got it while we were giving up
                return request.error is None
            request.abandoned = True
            self.abandoned += 1
        return False

    def stop(self) -> None:
        self._requests.put(None)

    def _run(self) -> None:
        try:
            while (request := self._requests.get()) is not None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
                except OSError as exc:  # pragma: no cover - defensive
                    request.error = exc
                with self._guard:
                    if request.abandoned:
                        if request.error is None:
                            fcntl.flock(self._fd, fcntl.LOCK_UN)
                        self.abandoned -= 1
                    request.done.set()
        finally:
            os.close(self._fd)


class _LockRequest:
    __slots__ = ("abandoned", "done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.abandoned = False
        self.error: OSError | None = None


def _create_private(path: str) -> None:
    """Create ``path`` readable by its owner only (0600) if it does not exist yet: the
    database holds password hashes and answers; SQLite gives its WAL and shared-memory
    files the main file's permissions."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and explicit
    ``BEGIN IMMEDIATE`` transactions queued on a file lock (see ``_QueuedConnection``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        lock_path = None
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            lock_path = f"{parsed.database}.lock"
            _create_private(parsed.database)
            _create_private(lock_path)
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("timeout", 30)
        connect_args.setdefault("factory", _QueuedConnection)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, lock_path)
        return engine
    # No pre-ping: it costs a round trip per request; a dropped connection invalidates
    # the pool on first use and the next checkout reconnects.
    kwargs.setdefault("pool_recycle", 3600)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, lock_path: str | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, emit BEGIN (needed for savepoints, too).
        dbapi_connection.isolation_level = None
        if isinstance(dbapi_connection, _QueuedConnection):
            dbapi_connection.lock_path = lock_path
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        options = conn.get_execution_options()
        if options.get(AUTOCOMMIT_OPTION):
            return  # statements run one by one (see ``autocommit``)
        if options.get(LAZY_WRITE_OPTION):
            return  # BEGIN IMMEDIATE comes with the first write (see ``lazy_writes``)
        dbapi_connection = conn.connection.dbapi_connection
        if isinstance(dbapi_connection, _QueuedConnection):
            dbapi_connection.acquire_queue()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            if isinstance(dbapi_connection, _QueuedConnection):
                dbapi_connection.release_queue()
            raise

    @event.listens_for(engine, "before_cursor_execute")
    def _lock_on_first_write(conn, cursor, statement, _params, context, _many):
        options = conn.get_execution_options()
        if not options.get(LAZY_WRITE_OPTION) or options.get(AUTOCOMMIT_OPTION):
            return
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection.in_transaction or not _takes_write_lock(statement, context):
            return
        if isinstance(dbapi_connection, _QueuedConnection):
            dbapi_connection.acquire_queue()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except Exception:
            if isinstance(dbapi_connection, _QueuedConnection):
                dbapi_connection.release_queue()
            raise


def _takes_write_lock(statement: str, context) -> bool:
    """A statement that must run under the write lock: anything but a plain read
    (writes, DDL, SAVEPOINT) and a locking read (``SELECT ... FOR UPDATE``, which SQLite
    does not know: the lock itself serialises what PostgreSQL's row lock would)."""
    head = statement.lstrip()[:7].upper()
    if not head.startswith(("SELECT", "PRAGMA", "EXPLAIN")):
        return True
    compiled = getattr(context, "compiled", None)
    target = getattr(compiled, "statement", None)
    return getattr(target, "_for_update_arg", None) is not None


AUTOCOMMIT_OPTION = "jifa_autocommit"
LAZY_WRITE_OPTION = "jifa_lazy_write"


def lazy_writes(bind):
    """``bind`` (an engine or a connection) whose transactions take SQLite's write lock
    only when they first write, not from their first read.

    A request's reads (the identity check, a report, a file being parsed) then never
    hold the lock that every save queues on: until the first write, each read runs on
    its own (WAL readers never wait and make no one wait); the first INSERT, UPDATE,
    DELETE, SAVEPOINT or ``SELECT ... FOR UPDATE`` queues on the lock and opens a
    ``BEGIN IMMEDIATE`` transaction that the commit ends. Reads before the first write
    are each consistent on their own, as in PostgreSQL's READ COMMITTED; a read that
    guards a write must lock (``with_for_update``), as it must on PostgreSQL. Other
    backends ignore the option."""
    return bind.execution_options(**{LAZY_WRITE_OPTION: True})


def autocommit(conn: Connection, on: bool = True) -> Connection:
    """Switch ``conn`` (in place) between autocommit, where every statement is its own
    transaction, and ordinary transactions. End any open transaction first.

    PostgreSQL uses the driver's autocommit; on SQLite no BEGIN is emitted, so a read
    takes no write lock (WAL readers never wait) and a single write statement is atomic
    on its own. SQLite's ``isolation_level="AUTOCOMMIT"`` is not used: resetting it on
    return to the pool would hand pysqlite back its own implicit BEGIN.
    """
    if conn.dialect.name == "sqlite":
        return conn.execution_options(**{AUTOCOMMIT_OPTION: on})
    return conn.execution_options(
        isolation_level="AUTOCOMMIT" if on else conn.default_isolation_level
    )


@contextmanager
def one_statement_write(conn: Connection) -> Iterator[Connection]:
    """Run one write statement on an autocommit ``conn`` so that it is durable when the
    block ends. PostgreSQL: the statement is its own transaction (one round trip).
    SQLite: an ordinary ``BEGIN IMMEDIATE`` transaction, which queues on the write lock
    instead of SQLite's sleep-and-retry busy handler; autocommit is restored after."""
    if conn.dialect.name != "sqlite":
        yield conn
        conn.commit()  # ends SQLAlchemy's bookkeeping; the driver has already committed
        return
    autocommit(conn, False)
    try:
        with conn.begin():
            yield conn
    finally:
        autocommit(conn, True)


class DriverStatement:
    """A Core statement compiled once for one dialect and run on the driver's cursor
    directly, for the hottest write (autosave): no cache key, compiled-cache lookup or
    execution context per call, which cost several times the database work on SQLite.
    Parameters pass through the same type processors SQLAlchemy applies (public API:
    ``bind_names``, ``construct_params``, ``positiontup``, ``bind_processor``)."""

    def __init__(self, stmt, dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self._compiled = compiled
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._processors = {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor

    def parameters(self, values: dict):
        """The driver's parameters (a tuple or a dict, as its paramstyle wants)."""
        full = self._compiled.construct_params(values)
        for name, processor in self._processors.items():
            full[name] = processor(full[name])
        if self._order is None:
            return full
        return tuple(full[name] for name in self._order)


def write_now(conn: Connection, statement: DriverStatement, values: dict) -> tuple | None:
    """Run one write statement through the driver on an autocommit ``conn`` (see
    ``autocommit``) so that it is durable when this returns; the first row it returns,
    if any. SQLite: queued ``BEGIN IMMEDIATE`` .. ``COMMIT``; PostgreSQL: the statement
    is its own transaction (one round trip). Driver errors come back as SQLAlchemy's
    (``DBAPIError``, ``connection_invalidated`` when the connection is gone)."""
    dialect = conn.dialect
    dbapi_conn = conn.connection.dbapi_connection
    params = statement.parameters(values)
    cursor = None
    try:
        cursor = dbapi_conn.cursor()
        if dialect.name != "sqlite":
            cursor.execute(statement.sql, params)
            return cursor.fetchone()
        if isinstance(dbapi_conn, _QueuedConnection):
            dbapi_conn.acquire_queue()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(statement.sql, params)
            row = cursor.fetchone()
            dbapi_conn.commit()
        except BaseException:
            dbapi_conn.rollback()
            raise
        return row
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, dbapi_conn, cursor)
        if gone:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            statement.sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=gone
        ) from exc
    finally:
        if cursor is not None:
            with suppress(Exception):
                cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def check_database(session: Session) -> None:
    """Raise if the database does not answer (for health checks)."""
    session.execute(text("SELECT 1"))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory.begin() as session:
        yield session
