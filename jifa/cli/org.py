"""``jifa org`` (tree and roster import) and ``jifa user`` (passwords, roles, slips)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.accounts import services as accounts
from core.accounts.models import ROLE_LABELS, Role
from core.db import utcnow
from core.excel import SheetSpec, write_workbook
from core.org.services import full_name, unit_by_code
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
    stream = sys.stdin
    if stream.isatty():
        password = click.prompt("新密码", hide_input=True, confirmation_prompt=True)
    else:
        password = stream.readline().rstrip("\r\n")
    with ctx.transaction() as session:
        person = accounts.person_by_no(session, person_no)
        account = accounts.ensure_account(session, person)
        accounts.set_password(session, account, password, must_change=must_change)
        accounts.logout_everywhere(account)
        from core.audit import record

        record(session, ctx.actor, "account.set_password", "user_account", account.id,
               after={"person_no": person_no, "must_change": must_change})  # fmt: skip
    click.echo(f"已为 {person_no} 设置新密码（其他设备上的登录已失效）。")


def _grant_args(session, person_no: str, role: str, unit_code: str | None):
    person = accounts.person_by_no(session, person_no)
    account = accounts.ensure_account(session, person)
    unit = unit_by_code(session, unit_code) if unit_code else None
    return account, unit


@user_group.command("grant")
@click.argument("person_no")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--unit", "unit_code", help="Unit code (required for unit_admin).")
@pass_ctx
def grant_cmd(ctx: AppContext, person_no: str, role: str, unit_code: str | None) -> None:
    """Grant a role (unit_admin needs --unit CODE)."""
    from core.audit import record

    with ctx.transaction() as session:
        account, unit = _grant_args(session, person_no, role, unit_code)
        accounts.grant_role(session, account, role, unit)
        record(session, ctx.actor, "account.grant", "user_account", account.id,
               after={"person_no": person_no, "role": role, "unit": unit_code})  # fmt: skip
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
    from core.audit import record

    with ctx.transaction() as session:
        account, unit = _grant_args(session, person_no, role, unit_code)
        n = accounts.revoke_role(session, account, role, unit)
        if n:
            record(session, ctx.actor, "account.revoke", "user_account", account.id,
                   before={"person_no": person_no, "role": role, "unit": unit_code})  # fmt: skip
    click.echo(f"已撤销 {n} 项授权。")


SLIP_HEADERS_PW = ["人员编号", "姓名", "单位", "初始密码", "说明"]
SLIP_HEADERS_CODE = ["人员编号", "姓名", "单位", "考试码", "有效期至", "说明"]


@user_group.command("issue-passwords")
@click.option("--unit", "unit_code", required=True, help="Unit code (its subtree is included).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reset-existing", is_flag=True, help="Also reset people who chose a password.")
@pass_ctx
def issue_passwords_cmd(ctx: AppContext, unit_code: str, out: Path, reset_existing: bool) -> None:
    """Issue initial passwords (changed at first login) to a unit; write slips to Excel."""
    with ctx.transaction() as session:
        unit = unit_by_code(session, unit_code)
        people = accounts.people_of_unit(session, unit)
        issued = accounts.issue_initial_passwords(
            session, people, actor=ctx.actor, now=utcnow(), reset_existing=reset_existing
        )
        rows = [
            [p.person_no, p.name, full_name(p.unit), pw, "首次登录后须修改密码"] for p, pw in issued
        ]
        write_workbook(out, [SheetSpec("初始密码", SLIP_HEADERS_PW, rows)])
    click.echo(f"已为 {len(rows)} 人生成初始密码，写入 {out}（请妥善保管，密码不会再次显示）。")


@user_group.command("issue-codes")
@click.option("--unit", "unit_code", required=True, help="Unit code (its subtree is included).")
@click.option(
    "--exam", "exam_id", type=int, help="Limit the codes to one exam (its enrolled people)."
)
@click.option("--days", default=30, show_default=True, help="Days the codes stay valid.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def issue_codes_cmd(
    ctx: AppContext, unit_code: str, exam_id: int | None, days: int, out: Path
) -> None:
    """Issue one-time exam codes to a unit; write the slips to Excel."""
    import datetime as dt

    from exam.codes import issue_codes

    now = utcnow()
    with ctx.transaction() as session:
        unit = unit_by_code(session, unit_code)
        people = accounts.people_of_unit(session, unit)
        if exam_id is not None:
            from exam.admin import EVERYTHING, get_exam
            from exam.models import Participant

            exam = get_exam(session, exam_id, EVERYTHING)
            enrolled = {p.person_id for p in session.query(Participant).filter_by(exam_id=exam.id)}
            people = [p for p in people if p.id in enrolled]
        issued = issue_codes(
            session, people, now=now, exam_id=exam_id, valid_for=dt.timedelta(days=days),
            actor=ctx.actor,
        )  # fmt: skip
        cst = dt.timezone(dt.timedelta(hours=8))
        expires = (now + dt.timedelta(days=days)).astimezone(cst).strftime("%Y-%m-%d %H:%M")
        rows = [
            [p.person_no, p.name, full_name(p.unit), code, expires, "一次性使用"]
            for p, code in issued
        ]
        write_workbook(out, [SheetSpec("考试码", SLIP_HEADERS_CODE, rows)])
    click.echo(f"已为 {len(rows)} 人生成考试码，写入 {out}（请妥善保管，考试码不会再次显示）。")


def register(main: click.Group) -> None:
    main.add_command(org_group)
    main.add_command(user_group)
