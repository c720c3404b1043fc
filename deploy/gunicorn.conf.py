"""gunicorn settings for one jifa-exam app server (``gunicorn -c deploy/gunicorn.conf.py
jifa.web.wsgi:app``); ``jifa serve`` passes the same options on its command line.

PostgreSQL: gthread workers, 2 per core x 4 threads (README, "Benchmarks"). SQLite: sync
workers, 2 per 2 cores (set JIFA_GUNICORN_THREADS=1)."""

import os

bind = os.environ.get("JIFA_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("JIFA_GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("JIFA_GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 60
graceful_timeout = 30  # a restart lets requests in flight finish (saves are acknowledged)
keepalive = 75  # longer than nginx's upstream keepalive_timeout (60 s)
backlog = 2048
accesslog = None  # the app writes its own access lines (JIFA_ACCESS_LOG, with request ids)


def child_exit(server, worker):
    """Prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR): forget a worker's live
    gauges when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
