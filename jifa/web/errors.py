"""Map errors to responses in one place: a Chinese error page for HTML, the JSON
envelope ``{"ok": false, "error": {"code", "message", "details"}}`` for ``/api/``."""

from __future__ import annotations

from flask import Flask, jsonify, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from core.errors import DomainError
from jifa.web.database import is_api_request

MESSAGES = {
    400: "请求有误。",
    401: "请先登录。",
    403: "您没有权限执行此操作。",
    404: "您要找的页面或数据不存在。",
    405: "不支持此请求方式。",
    409: "操作与当前状态冲突。",
    413: "上传的文件过大。",
    415: "不支持的内容类型。",
    422: "提交的数据无效。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器内部错误，我们已记录此问题。",
    503: "服务暂时不可用，请稍后重试。",
}

CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}


def error_response(status: int, message: str | None = None, details: object = None):
    message = message or MESSAGES.get(status, "出错了。")
    if is_api_request():
        body = {"ok": False, "error": {"code": CODES.get(status, "error"), "message": message}}
        if details is not None:
            body["error"]["details"] = details
        response = jsonify(body)
        response.status_code = status
        return response
    html = render_template("errors/error.html", status=status, message=message, details=details)
    return html, status


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.status, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, "安全校验失败（CSRF 令牌缺失或无效），请刷新页面后重试。")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        return error_response(status, MESSAGES.get(status, exc.description))

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        # A race the services did not foresee (two requests creating the same row).
        app.logger.warning("integrity error: %s", exc.orig)
        return error_response(409, "数据已被其他操作修改，请刷新后重试。")

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError):
        app.logger.exception("database unavailable")
        return error_response(503, "数据库繁忙或暂时不可用，本次操作未保存，请稍后重试。")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500)
