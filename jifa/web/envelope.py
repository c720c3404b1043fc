"""The JSON envelope of every API reply, in one place for both WSGI apps (the Flask
application and the lean autosave app), without Flask:

- success: ``{"ok": true, ...}``
- failure: ``{"ok": false, "error": {"code", "message", "details"?}}``

``encode`` writes the bytes of either: compact UTF-8 JSON with sorted keys and a
trailing newline (the form Flask's ``jsonify`` gives outside debug mode, so every API
reply reads alike).
"""

from __future__ import annotations

import json

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

#: a request whose anti-forgery credential (CSRF token with its session, or an
#: autosave token) is missing, forged or expired
CREDENTIALS_REFUSED = "安全校验失败（CSRF 令牌缺失或无效），请刷新页面后重试。"
#: a race the services did not foresee (two requests creating the same row)
INTEGRITY_CONFLICT = "数据已被其他操作修改，请刷新后重试。"
DATABASE_UNAVAILABLE = "数据库繁忙或暂时不可用，本次操作未保存，请稍后重试。"
#: seconds a client should wait after a 503 (the database busy, or away for a restart)
RETRY_AFTER_UNAVAILABLE = 2
#: seconds after a 429 without a more precise figure
RETRY_AFTER_THROTTLED = 60


def retry_headers(status: int, seconds: int | None = None) -> list[tuple[str, str]]:
    """The ``Retry-After`` header every 429 and 503 carries (both WSGI apps), so that
    clients and proxies back off; nothing for other statuses."""
    if status == 429:
        return [("Retry-After", str(max(1, int(seconds or RETRY_AFTER_THROTTLED))))]
    if status == 503:
        return [("Retry-After", str(max(1, int(seconds or RETRY_AFTER_UNAVAILABLE))))]
    return []


def error_body(status: int, message: str | None = None, details: object = None) -> dict:
    error: dict = {
        "code": CODES.get(status, "error"),
        "message": message or MESSAGES.get(status, "出错了。"),
    }
    if details is not None:
        error["details"] = details
    return {"ok": False, "error": error}


def encode(body: dict) -> bytes:
    return (
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
    ).encode()
