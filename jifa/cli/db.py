"""``jifa db``: schema migrations with Alembic; backups and restores (``jifa.app.backup``)."""

from __future__ import annotations

import json

import click

from core.errors import DomainError
from jifa.app import backup as backups
from jifa.app.migrate import current_revision, upgrade
from jifa.cli.context import AppContext, pass_ctx


@click.group("db")
def db_group() -> None:
    """Database schema: migrate and inspect; back up and restore."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def upgrade_cmd(ctx: AppContext, revision: str) -> None:
    """Apply the migrations not yet applied (idempotent)."""
    url = str(ctx.config["DATABASE_URL"])
    before = current_revision(url)
    upgrade(url, revision)
    after = current_revision(url)
    if before == after:
        click.echo(f"数据库已是最新版本（{after}）。")
    else:
        click.echo(f"数据库已升级：{before or '空库'} -> {after}")


@db_group.command("current")
@pass_ctx
def current_cmd(ctx: AppContext) -> None:
    """Print the applied migration revision."""
    click.echo(current_revision(str(ctx.config["DATABASE_URL"])) or "（空库，未迁移）")


@db_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def backup_cmd(ctx: AppContext, file: str, as_json: bool) -> None:
    """Back up the whole database to FILE (safe while the app serves).

    SQLite: the online backup API; PostgreSQL: pg_dump in custom format."""
    try:
        result = backups.backup(str(ctx.config["DATABASE_URL"]), file)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    _report(result, "备份完成", as_json)


@db_group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite a database that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def restore_cmd(ctx: AppContext, file: str, force: bool, as_json: bool) -> None:
    """Restore FILE (made by `jifa db backup`) into the configured database.

    The database must be empty unless --force; stop the app servers first."""
    try:
        result = backups.restore(str(ctx.config["DATABASE_URL"]), file, force=force)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    _report(result, "恢复完成", as_json)


def _report(result: backups.BackupResult, done: str, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(result.path),
                    "backend": result.backend,
                    "bytes": result.bytes,
                    "tables": result.tables,
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(
            f"{done}：{result.path}（{result.backend}，{result.bytes} 字节，{result.tables} 张表）"
        )


def register(main: click.Group) -> None:
    main.add_command(db_group)
