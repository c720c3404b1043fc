"""One SQLAlchemy session per request, committed once at the end of the request.

Reads take no write lock: on SQLite the request's transaction queues for the lock only
at its first write (``core.db.lazy_writes``), so a slow read (a report, a file being
parsed) never delays anyone's save. The commit happens in ``after_request`` so that a client is told "saved" only after
the data is durable; if the commit fails the response is replaced by an error. Any
error response (status >= 400) rolls back instead.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, current_app, g, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.db import lazy_writes, make_engine, make_session_factory


def init_app(app: Flask) -> None:
    factory: sessionmaker[Session] | None = app.config.get("SESSION_FACTORY")
    if factory is None:
        # a request takes SQLite's write lock only around its writes (``lazy_writes``)
        engine = lazy_writes(make_engine(str(app.config["DATABASE_URL"])))
        factory = make_session_factory(engine)
    app.extensions["jifa_sessions"] = factory
    app.after_request(_commit_or_rollback)
    app.teardown_request(_close)


def sessions() -> sessionmaker[Session]:
    return current_app.extensions["jifa_sessions"]


def db() -> Session:
    """The request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = sessions()()
    return g.db_session


def _commit_or_rollback(response):
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    except OperationalError:
        session.rollback()
        current_app.logger.exception("commit failed")
        from jifa.web.errors import error_response

        response = error_response(503, "数据库繁忙，本次操作未保存，请稍后重试。")
    finally:
        session.close()
    return response


def _close(_exc):
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def end_reads() -> None:
    """End the request's transaction before a slow step that needs no database
    (parsing an upload), so no transaction (and, should a write have begun one, no
    SQLite write lock) stays open across it. Call it only before anything was written;
    the next statement begins a new transaction, committed as usual at the end of the
    request."""
    from jifa.web.access import current_scope

    if g.get("uid") is not None:
        current_scope()  # what the call after the parse needs: the account and its scope
    session: Session | None = g.get("db_session")
    if session is not None:
        session.commit()


@contextmanager
def reads_without_write_lock():
    """Run the block's reads outside SQLite's write queue, then carry on as usual.

    A request's transaction takes SQLite's write lock at its first write
    (``core.db.lazy_writes``) and keeps it to the commit. For a hot route that reads a
    lot and then writes a little (a practice answer), this ends the transaction so far (call it
    before anything is written), runs the block in autocommit (no lock: WAL readers
    never wait), and ends that too: the writes after the block begin an ordinary
    transaction, committed as usual at the end of the request. What the block read may
    be changed by another request before the writes: the writes must be guarded by
    the database (unique keys) or re-read. PostgreSQL readers never wait for writers:
    there the block simply runs in the request's transaction."""
    from core.db import AUTOCOMMIT_OPTION

    session = db()
    if session.get_bind().dialect.name != "sqlite":
        yield session
        return
    session.commit()
    session.connection(execution_options={AUTOCOMMIT_OPTION: True})
    try:
        yield session
    finally:
        session.commit()
