"""One SQLAlchemy session per request, committed once at the end of the request.

Reads take no write lock: on SQLite the request's transaction queues for the lock only
at its first write (``core.db.lazy_writes``), so a slow read (a report, a file being
parsed) never delays anyone's save. The commit happens in ``after_request`` so that a client is told "saved" only after
the data is durable; if the commit fails the response is replaced by an error. Any
error response (status >= 400) rolls back instead.
"""

from __future__ import annotations

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
