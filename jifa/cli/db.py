"""``jifa db``: schema migrations with Alembic."""

from __future__ import annotations

import click

from jifa.app.migrate import current_revision, upgrade
from jifa.cli.context import AppContext, pass_ctx


@click.group("db")
def db_group() -> None:
    """Database schema: migrate and inspect."""


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


def register(main: click.Group) -> None:
    main.add_command(db_group)
