"""The outermost WSGI layer, around both apps (Flask and the lean autosave app): every
response gets the headers of ``jifa.web.headers`` and one access-log line, so no route
escapes either.

Access lines go to the ``jifa.access`` logger at INFO, one per request, written when
the response starts: ``client "METHOD /path?query" status bytes duration rid=ID``, where
ID is the proxy's ``X-Request-Id`` (nginx: ``$request_id``) when it is a plain token, else
one made here; it is echoed in the ``X-Request-Id`` response header. Nothing is
formatted unless the logger is enabled; ``log_requests`` sends it to a stream (the
served entry point ``jifa.web.wsgi`` does, to stdout).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from jifa.web.headers import response_headers

ACCESS_LOG = logging.getLogger("jifa.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


class Edge:
    def __init__(self, app: WSGIApp, log: logging.Logger = ACCESS_LOG, *, secure: bool = False):
        self.app = app
        self.log = log
        #: served over HTTPS only (``JIFA_SECURE_COOKIES``): every response gets HSTS
        self.secure = secure

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = environ.get("HTTP_X_REQUEST_ID", "")
        if not _REQUEST_ID.fullmatch(rid):  # none, or not safe to log
            rid = environ["HTTP_X_REQUEST_ID"] = os.urandom(8).hex()

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            headers.extend(response_headers(status, headers, secure=self.secure))
            headers.append(("X-Request-Id", rid))
            if self.log.isEnabledFor(logging.INFO):
                self._access(environ, status, headers, started)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _access(self, environ: dict, status: str, headers: list, started: float) -> None:
        length = next((v for k, v in headers if k.lower() == "content-length"), "-")
        query = environ.get("QUERY_STRING")
        self.log.info(
            '%s "%s %s%s%s" %s %s %.1fms rid=%s',
            environ.get("REMOTE_ADDR", "-"),
            environ.get("REQUEST_METHOD", "-"),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            "?" + query if query else "",
            status[:3],
            length,
            (time.perf_counter() - started) * 1000,
            environ["HTTP_X_REQUEST_ID"],
        )


def log_requests(stream: IO[str] | None = None) -> logging.Handler:
    """Write access lines to ``stream`` (stdout by default), with the time."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False
    return handler
