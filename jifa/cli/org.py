"""``jifa org`` (tree and roster import) and ``jifa user`` (passwords, roles, slips)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.accounts import roles
from core.accounts import services as accounts
from core.accounts.models import ROLE_LABELS, Role
from core.accounts.scope import CONSOLE
from core.db import utcnow
from core.excel import write_workbook
from core.org.services import unit_by_code
from jifa.cli.context import AppContext, echo_json, finish_import, pass_ctx


@click.group("org")
def org_group() -> None:
    """Org tree and roster: import from Excel/CSV, show the tree."""


@org_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row, write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the good rows, skip the bad ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def import_cmd(ctx: AppContext, file: Path, dry_run: bool, skip_invalid: bool, as_json: bool):
    """Import the org tree and/or the roster (sheets recognised by their headers)."""
    from core.org.roster import import_org

    with ctx.transaction() as session:
        report = import_org(
            session,
            file,
            filename=file.name,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            actor=ctx.actor,
            now=utcnow(),
        )
    verb = "检查" if dry_run else ("已导入" if report.written else "未导入")
    summary = (
        f"{verb}：新增单位 {report.units_created}，更新单位 {report.units_updated}；"
        f"新增人员 {report.people_created}，更新人员 {report.people_updated}"
        f"（其中调动 {report.people_moved}），未变化 {report.unchanged}；"
        f"错误行 {len(report.errors)}。"
    )
    finish_import(payload=report.as_dict(), errors=report.errors, summary=summary,
                  as_json=as_json, dry_run=dry_run, skip_invalid=skip_invalid)  # fmt: skip


@org_group.command("tree")
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON.")
@pass_ctx
def tree_cmd(ctx: AppContext, as_json: bool) -> None:
    """Print the org tree with unit codes, kinds and head counts."""
    from core.org.services import tree_rows

    with ctx.transaction() as session:
        rows = tree_rows(session)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(
            f"{'  ' * r['depth']}{r['code']:<8} {r['name']}（{r['kind_label']}，{r['people']} 人）"
        )


@click.group("user")
def user_group() -> None:
    """Accounts: passwords, roles, bulk initial passwords and exam codes."""


@user_group.command("passwd")
@click.argument("person_no")
@click.option("--must-change", is_flag=True, help="Require a change at the next login.")
@pass_ctx
def passwd_cmd(ctx: AppContext, person_no: str, must_change: bool) -> None:
    """Set a password read from standard input (console recovery)."""
    password = _read_password()
    with ctx.transaction() as session:
        person = accounts.person_by_no(session, person_no)
        accounts.reset_password(
            session, person, password, must_change=must_change, actor=ctx.actor, now=utcnow()
        )
    click.echo(f"已为 {person_no} 设置新密码（其他设备上的登录已失效）。")


@user_group.command("create-admin")
@click.argument("person_no")
@pass_ctx
def create_admin_cmd(ctx: AppContext, person_no: str) -> None:
    """Create an administrator (the first one of a production installation): the person
    from the roster (``jifa org import``), the password from standard input."""
    password = _read_password()
    with ctx.transaction() as session:
        person = accounts.person_by_no(session, person_no)
        roles.create_admin(session, person, password, actor=ctx.actor, now=utcnow())
    click.echo(f"已将 {person_no} 设为系统管理员（密码已设置，其他设备上的登录已失效）。")


def _read_password() -> str:
    stream = sys.stdin
    if stream.isatty():
        return click.prompt("新密码", hide_input=True, confirmation_prompt=True)
    return stream.readline().rstrip("\r\n")


def _person_and_unit(session, person_no: str, unit_code: str | None):
    person = accounts.person_by_no(session, person_no)
    unit = unit_by_code(session, unit_code) if unit_code else None
    return person, unit


@user_group.command("grant")
@click.argument("person_no")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--unit", "unit_code", help="Unit code (required for unit_admin).")
@pass_ctx
def grant_cmd(ctx: AppContext, person_no: str, role: str, unit_code: str | None) -> None:
    """Grant a role (unit_admin needs --unit CODE)."""
    with ctx.transaction() as session:
        person, unit = _person_and_unit(session, person_no, unit_code)
        grant = roles.grant(
            session, person, role, unit, scope=CONSOLE, actor=ctx.actor, now=utcnow()
        )
        unit_code = grant.unit.code if grant.unit else None
    click.echo(
        f"已授予 {person_no} 角色：{ROLE_LABELS[Role(role)]}"
        + (f"（{unit_code}）" if unit_code else "")
    )


@user_group.command("revoke")
@click.argument("person_no")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--unit", "unit_code", help="Only the unit_admin grant for this unit.")
@pass_ctx
def revoke_cmd(ctx: AppContext, person_no: str, role: str, unit_code: str | None) -> None:
    """Revoke a role."""
    with ctx.transaction() as session:
        person, unit = _person_and_unit(session, person_no, unit_code)
        n = roles.revoke(session, person, role, unit, scope=CONSOLE, actor=ctx.actor, now=utcnow())
    click.echo(f"已撤销 {n} 项授权。")


@user_group.command("issue-passwords")
@click.option("--unit", "unit_code", required=True, help="Unit code (its subtree is included).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reset-existing", is_flag=True, help="Also reset people who chose a password.")
@pass_ctx
def issue_passwords_cmd(ctx: AppContext, unit_code: str, out: Path, reset_existing: bool) -> None:
    """Issue initial passwords (changed at first login) to a unit; write slips to Excel."""
    with ctx.transaction() as session:
        issued = accounts.issue_unit_passwords(
            session,
            unit_by_code(session, unit_code),
            scope=CONSOLE,
            actor=ctx.actor,
            now=utcnow(),
            reset_existing=reset_existing,
        )
        write_workbook(out, [accounts.password_slip_sheet(issued)])
    click.echo(f"已为 {len(issued)} 人生成初始密码，写入 {out}（请妥善保管，密码不会再次显示）。")


@user_group.command("issue-codes")
@click.option("--unit", "unit_code", required=True, help="Unit code (its subtree is included).")
@click.option(
    "--exam", "exam_id", type=int, help="Limit the codes to one exam (its enrolled people)."
)
@click.option("--days", default=30, show_default=True, help="Days the codes stay valid (1-365).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def issue_codes_cmd(
    ctx: AppContext, unit_code: str, exam_id: int | None, days: int, out: Path
) -> None:
    """Issue one-time exam codes to a unit; write the slips to Excel."""
    from exam.admin.codes import code_slip_sheet, issue_unit_codes

    with ctx.transaction() as session:
        codes = issue_unit_codes(
            session,
            unit_by_code(session, unit_code),
            exam_id=exam_id,
            days=days,
            scope=CONSOLE,
            actor=ctx.actor,
            now=utcnow(),
        )
        write_workbook(out, [code_slip_sheet(codes)])
    click.echo(
        f"已为 {len(codes.issued)} 人生成考试码，写入 {out}（请妥善保管，考试码不会再次显示）。"
    )


def register(main: click.Group) -> None:
    main.add_command(org_group)
    main.add_command(user_group)
