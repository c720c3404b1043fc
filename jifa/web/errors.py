"""Map errors to responses in one place: a Chinese error page for HTML, the JSON
envelope ``{"ok": false, "error": {"code", "message", "details"}}`` for ``/api/``."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    OperationalError,
)
from werkzeug.exceptions import HTTPException

from core.errors import DomainError
from jifa.web.database import is_api_request
from jifa.web.envelope import (
    CREDENTIALS_REFUSED,
    DATABASE_UNAVAILABLE,
    INTEGRITY_CONFLICT,
    MESSAGES,
    encode,
    error_body,
    retry_headers,
)


def json_reply(body: dict, status: int = 200):
    """An API reply in the shared envelope (``jifa.web.envelope``)."""
    return current_app.response_class(encode(body), status=status, mimetype="application/json")


def error_response(
    status: int, message: str | None = None, details: object = None, retry_after: int | None = None
):
    message = message or MESSAGES.get(status, "出错了。")
    if is_api_request():
        response = json_reply(error_body(status, message, details), status)
    else:
        html = render_template("errors/error.html", status=status, message=message, details=details)
        response = current_app.make_response((html, status))
    response.headers.extend(retry_headers(status, retry_after))
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(
            exc.status, exc.message, exc.details, getattr(exc, "retry_after", None)
        )

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, CREDENTIALS_REFUSED)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        return error_response(status, MESSAGES.get(status, exc.description))

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError):
        # JSON nested beyond the parser's depth
        return error_response(400, "请求数据嵌套过深。")

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _overflow(exc: Exception):
        # a number beyond what the database column holds (ids, page numbers): SQLite's
        # driver raises OverflowError, PostgreSQL a DataError
        app.logger.info("value out of range: %s", exc)
        return error_response(400, "请求参数超出范围。")

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        # A race the services did not foresee (two requests creating the same row).
        app.logger.warning("integrity error: %s", exc.orig)
        return error_response(409, INTEGRITY_CONFLICT)

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError):
        app.logger.exception("database unavailable")
        return error_response(503, DATABASE_UNAVAILABLE)

    @app.errorhandler(DisconnectionError)
    @app.errorhandler(DBAPIError)
    def _disconnected(exc: Exception):
        # a connection lost in a database restart (e.g. psycopg's InterfaceError)
        if isinstance(exc, DisconnectionError) or getattr(exc, "connection_invalidated", False):
            app.logger.warning("database connection lost: %s", exc)
            return error_response(503, DATABASE_UNAVAILABLE)
        return _unexpected(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500)
