"""The outermost WSGI layer, around both apps (Flask and the lean autosave app): every
response gets the headers of ``jifa.web.headers`` and one access-log line, so no route
escapes either.

Access lines go to the ``jifa.access`` logger at INFO, one per request, written when
the response starts: ``client "METHOD /path?query" status bytes duration``. Nothing is
formatted unless the logger is enabled; ``log_requests`` sends it to a stream (the
served entry point ``jifa.web.wsgi`` does, to stdout).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from jifa.web.headers import response_headers

ACCESS_LOG = logging.getLogger("jifa.access")

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


class Edge:
    def __init__(self, app: WSGIApp, log: logging.Logger = ACCESS_LOG, *, secure: bool = False):
        self.app = app
        self.log = log
        #: served over HTTPS only (``JIFA_SECURE_COOKIES``): every response gets HSTS
        self.secure = secure

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()

        def start(status: str, headers: list[tuple[str, str]], exc_info=None):
            headers.extend(response_headers(status, headers, secure=self.secure))
            if self.log.isEnabledFor(logging.INFO):
                self._access(environ, status, headers, started)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _access(self, environ: dict, status: str, headers: list, started: float) -> None:
        length = next((v for k, v in headers if k.lower() == "content-length"), "-")
        query = environ.get("QUERY_STRING")
        self.log.info(
            '%s "%s %s%s%s" %s %s %.1fms',
            environ.get("REMOTE_ADDR", "-"),
            environ.get("REQUEST_METHOD", "-"),
            environ.get("SCRIPT_NAME", ""),
            environ.get("PATH_INFO", ""),
            "?" + query if query else "",
            status[:3],
            length,
            (time.perf_counter() - started) * 1000,
        )


def log_requests(stream: IO[str] | None = None) -> logging.Handler:
    """Write access lines to ``stream`` (stdout by default), with the time."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    ACCESS_LOG.addHandler(handler)
    ACCESS_LOG.setLevel(logging.INFO)
    ACCESS_LOG.propagate = False
    return handler
