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
    """Serve the web app with gunicorn (production server). In production
    (``JIFA_ENV=production``) it refuses an unsafe secret key and names any demo
    accounts it finds (their published password is refused at login)."""
    _check_production()
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


def _check_production() -> None:
    from core.config import load_config
    from jifa.app import safety

    config = load_config()
    try:
        safety.check_environment(config)
    except safety.UnsafeConfiguration as exc:
        raise click.ClickException(str(exc)) from exc
    if not safety.is_production(config):
        click.echo(
            "开发模式（JIFA_ENV=development）：演示账号可以登录；生产部署请设置 JIFA_ENV=production。"
        )
        return
    from core.db import make_engine, make_session_factory

    engine = make_engine(str(config["DATABASE_URL"]))
    try:
        with make_session_factory(engine)() as session:
            found = safety.demo_accounts(session)
    except Exception:  # noqa: BLE001 - a database not migrated yet: gunicorn will say so
        found = []
    finally:
        engine.dispose()
    if found:
        click.echo(
            f"警告：数据库中有演示账号（{'、'.join(found)}），其公开密码在生产环境中无法登录；"
            "请用 jifa user passwd 重设或停用这些账号。",
            err=True,
        )


def register(main: click.Group) -> None:
    main.add_command(serve_cmd)
