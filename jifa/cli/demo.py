"""``jifa demo``: load the demo district, bank and exam."""

from __future__ import annotations

import click

from jifa.app import demo
from jifa.cli.context import AppContext, echo_json, pass_ctx


@click.group("demo")
def demo_group() -> None:
    """Demo data: a district, 600+ people, the starter bank and an open exam."""


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing (but print the logins) if data exists.")
@click.option("--json", "as_json", is_flag=True, help="Print logins and the demo exam id as JSON.")
@pass_ctx
def load_cmd(ctx: AppContext, if_empty: bool, as_json: bool) -> None:
    """Load the demo data into the database (refused in production)."""
    from jifa.app.safety import is_production

    if is_production(ctx.config):
        raise click.ClickException(
            "生产环境（JIFA_ENV=production）不能载入演示数据：演示账号的密码是公开的。"
        )
    with ctx.transaction() as session:
        loaded = demo.is_loaded(session)
        if loaded and not if_empty:
            raise click.ClickException(
                "数据库中已有数据；演示数据只能载入空库（可用 --if-empty 跳过）。"
            )
        if not loaded:
            result = demo.load_all(session, now=demo.demo_now())
        else:
            result = demo.summary(session)
        logins = demo.demo_logins(session)
    if as_json:
        echo_json({"logins": logins, **result})
        return
    if loaded:
        click.echo("演示数据已存在，未重复载入。")
    else:
        click.echo("演示数据已载入：" + "，".join(f"{k}={v}" for k, v in result.items()))
    click.echo("演示账号（角色 / 人员编号 / 密码）：")
    for login in logins:
        click.echo(
            f"  {login['role']:<11} {login['person_no']:<10} {login['password']}  {login['note']}"
        )


def register(main: click.Group) -> None:
    main.add_command(demo_group)
