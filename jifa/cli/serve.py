"""``jifa serve``: serve the app with gunicorn."""

from __future__ import annotations

import os
import sys

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=int,
    help="Threads per worker (gthread); 1 means sync workers.",
)
@click.option("--timeout", default=60, show_default=True, type=int)
@click.option(
    "--keep-alive",
    default=2,
    show_default=True,
    type=int,
    help="Seconds an idle connection is kept (threaded workers). Behind nginx with "
    "upstream keepalive: longer than nginx's keepalive_timeout (e.g. 75).",
)
def serve_cmd(
    host: str, port: int, workers: int, threads: int, timeout: int, keep_alive: int
) -> None:
    """Serve the web app with gunicorn (production server)."""
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        "--keep-alive",
        str(keep_alive),
    ]  # access lines come from the app itself (jifa.web.edge), for every route
    if threads > 1:
        args += ["--worker-class", "gthread", "--threads", str(threads)]
    args.append("jifa.web.wsgi:app")
    click.echo(f"在 http://{host}:{port} 提供服务（gunicorn，{workers} 个进程）")
    os.execvp(args[0], args)


def register(main: click.Group) -> None:
    main.add_command(serve_cmd)
