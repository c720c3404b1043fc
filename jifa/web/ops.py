"""Operations endpoints and metrics, a WSGI layer inside ``jifa.web.edge.Edge`` (so
they get the security headers and an access line) and around both apps:

- ``GET /healthz``: the process is up (no database work);
- ``GET /readyz``: the database answers and its schema is at the migrations' head
  (``jifa.app.ops.readiness``); 503 with ``Retry-After`` otherwise, so a proxy or an
  orchestrator stops sending candidates to a server that cannot save;
- ``GET /metrics``: Prometheus text (``prometheus-client``), only with ``JIFA_METRICS=1``
  and only to the addresses in ``JIFA_METRICS_ALLOW`` (others get 404, as when it is
  off). Requests and latency per route, saves by status, attempts in progress.

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory for
the master and every worker and use ``deploy/gunicorn.conf.py`` (it tells the library
when a worker exits); the endpoint then sums every worker.

The route label is the Flask rule (``/api/v1/attempts/<int:attempt_id>/submit``), set in
the environ by a ``before_request`` hook, or the lean autosave route; never the raw path
(ids would make a series per attempt).
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from jifa.web.envelope import retry_headers

ROUTE_KEY = "jifa.route"
AUTOSAVE_ROUTE = "/api/v1/autosave/attempts/<attempt_id>/answers/<item_id>"
SAVE_ROUTES = {AUTOSAVE_ROUTE, "/api/v1/attempts/<int:attempt_id>/answers/<int:item_id>"}

StartResponse = Callable[..., Any]


def _json(start_response: StartResponse, status: str, body: dict, extra=()) -> list[bytes]:
    payload = (json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n").encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(payload))),
        ("Cache-Control", "no-store"),
        *extra,
    ]
    start_response(status, headers)
    return [payload]


def parse_allowlist(value: str | Iterable[str]) -> tuple:
    """``"127.0.0.1, 10.0.0.0/8"`` -> networks; a bad entry raises ``ValueError``."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(ipaddress.ip_network(i.strip(), strict=False) for i in items if i.strip())


class Metrics:
    """The process's Prometheus metrics and their exposition."""

    def __init__(self, attempts_in_progress: Callable[[], int]):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self._registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "jifa_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self._registry,
        )
        self.latency = Histogram(
            "jifa_http_request_duration_seconds",
            "Time to the response's start, by route",
            ["route"],
            registry=self._registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.saves = Counter(
            "jifa_autosaves",
            "Answer saves (both entrances) by reply status",
            ["status"],
            registry=self._registry,
        )
        self._in_progress = attempts_in_progress

    def observe(self, route: str, method: str, status: str, seconds: float) -> None:
        code = status[:3]
        self.requests.labels(route, method, code).inc()
        self.latency.labels(route).observe(seconds)
        if route in SAVE_ROUTES:
            self.saves.labels(code).inc()

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.core import GaugeMetricFamily

        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(_Forward(self._registry))
        in_progress = self._in_progress

        class _Attempts:
            def collect(self):
                gauge = GaugeMetricFamily(
                    "jifa_attempts_in_progress", "Attempts in progress (every exam)"
                )
                try:
                    gauge.add_metric([], in_progress())
                except Exception:  # noqa: BLE001 - the database is down: no sample
                    return
                yield gauge

        registry.register(_Attempts())
        return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward:
    def __init__(self, registry):
        self._registry = registry

    def collect(self):
        return self._registry.collect()


class Ops:
    """The WSGI layer (see the module docstring)."""

    def __init__(
        self,
        app: Callable,
        readiness: Callable[[], Any],
        metrics: Metrics | None = None,
        allow: tuple = (),
    ):
        self.app = app
        self.readiness = readiness
        self.metrics = metrics
        self.allow = allow

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if path == "/healthz":
                return _json(start_response, "200 OK", {"ok": True, "status": "alive"})
            if path == "/readyz":
                state = self.readiness()
                if state.ready:
                    return _json(start_response, "200 OK", {"ok": True, **state.as_dict()})
                return _json(
                    start_response,
                    "503 Service Unavailable",
                    {"ok": False, **state.as_dict()},
                    retry_headers(503),
                )
            if path == "/metrics" and self.metrics is not None and self._allowed(environ):
                payload, content_type = self.metrics.exposition()
                start_response(
                    "200 OK",
                    [("Content-Type", content_type), ("Content-Length", str(len(payload)))],
                )
                return [payload]
        metrics = self.metrics
        if metrics is None:
            return self.app(environ, start_response)
        started = time.perf_counter()
        autosave = path.startswith("/api/v1/autosave/")

        def start(status: str, headers: list, exc_info=None):
            route = AUTOSAVE_ROUTE if autosave else environ.get(ROUTE_KEY, "(unrouted)")
            metrics.observe(
                route, environ.get("REQUEST_METHOD", "-"), status, time.perf_counter() - started
            )
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _allowed(self, environ: dict) -> bool:
        # the peer itself, not a forwarded address (ProxyFix keeps the original)
        peer = environ.get("werkzeug.proxy_fix.orig", environ).get("REMOTE_ADDR", "")
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.allow)
