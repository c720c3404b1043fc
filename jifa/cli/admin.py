"""``jifa exam create/list/open/close/extend/extra-time/results/upload-results``.

Times are read as China Standard Time (UTC+8) unless they carry an offset.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import click

from core.accounts.scope import CONSOLE
from core.db import utcnow
from core.excel import write_workbook
from exam.admin import access, enrolment, exams, results, self_reported, windows
from jifa.cli.context import AppContext, echo_json, finish_import, pass_ctx
from jifa.cli.exam import exam_group

CST = dt.timezone(dt.timedelta(hours=8))


def parse_time(text: str) -> dt.datetime:
    """``2026-06-15 09:00`` (China time) or ISO 8601 with an offset → aware UTC."""
    s = text.strip().replace("T", " ").replace("/", "-")
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError as exc:
        raise click.BadParameter(f"无法识别的时间：{text}（格式如 2026-06-15 09:00）") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=CST)
    return value.astimezone(dt.UTC)


def _fmt(value: dt.datetime | None) -> str:
    return value.astimezone(CST).strftime("%Y-%m-%d %H:%M") if value else "—"


def _split(values: tuple[str, ...]) -> list[str]:
    out = []
    for v in values:
        out.extend(x.strip() for x in v.replace("，", ",").split(",") if x.strip())
    return out


@exam_group.command("create")
@click.option("--title", required=True, help="Exam title.")
@click.option(
    "--blueprint", "blueprint_ref", required=True, help="Blueprint id, code or code@version."
)
@click.option("--owner", "owner_code", required=True, help="Owner unit code.")
@click.option("--opens", "opens", required=True, help="Window opens (China time).")
@click.option("--closes", "closes", required=True, help="Window closes (China time).")
@click.option("--duration", type=int, required=True, help="Minutes per attempt.")
@click.option(
    "--grace", type=int, default=30, show_default=True, help="Grace seconds for late saves."
)
@click.option("--pass-mark", type=float, help="Pass mark (default: the blueprint's).")
@click.option("--attempts", type=int, default=1, show_default=True, help="Attempts allowed.")
@click.option(
    "--navigation", type=click.Choice(["all", "single"]), default="all", show_default=True
)
@click.option(
    "--result-policy",
    type=click.Choice(["immediate", "after_close", "hidden"]),
    default="immediate",
    show_default=True,
)
@click.option(
    "--review-policy",
    type=click.Choice(["none", "after_submit", "after_close", "manual"]),
    default="after_close",
    show_default=True,
)
@click.option(
    "--mode",
    type=click.Choice(["online", "offline", "centralized"]),
    default="online",
    show_default=True,
)
@click.option("--instructions", default="", help="Instructions shown before the start.")
@click.option(
    "--units", multiple=True, help="Enrol these units with their subtrees (codes, comma separated)."
)
@click.option(
    "--ranks", multiple=True, help="Enrol only these ranks (county/township/... or 县处级...)."
)
@click.option("--people", multiple=True, help="Enrol these person numbers.")
@click.option("--seed", help="Paper seed (default: random).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def create_cmd(ctx: AppContext, title, blueprint_ref, owner_code, opens, closes, duration, grace,
               pass_mark, attempts, navigation, result_policy, review_policy, mode, instructions,
               units, ranks, people, seed, as_json) -> None:  # fmt: skip
    """Create a draft exam and enrol its candidates."""
    from core.org.services import unit_by_code

    now = utcnow()
    with ctx.transaction() as session:
        bp = exams.resolve_blueprint(session, blueprint_ref)
        settings = exams.ExamSettings(
            title=title,
            blueprint_id=bp.id,
            opens_at=parse_time(opens),
            closes_at=parse_time(closes),
            duration_minutes=duration,
            grace_seconds=grace,
            pass_mark=pass_mark,
            max_attempts=attempts,
            navigation=navigation,
            result_policy=result_policy,
            review_policy=review_policy,
            mode=mode,
            instructions=instructions,
        )
        exam = exams.create_exam(
            session,
            settings,
            owner_unit=unit_by_code(session, owner_code),
            seed=seed or secrets.token_hex(16),
            scope=CONSOLE,
            actor=ctx.actor,
            now=now,
        )
        result = enrolment.enrol(
            session,
            exam,
            units=[unit_by_code(session, c) for c in _split(units)],
            ranks=_split(ranks),
            person_nos=_split(people),
            scope=CONSOLE,
            actor=ctx.actor,
            now=now,
        )
        exam_id = exam.id
    if as_json:
        echo_json({"exam_id": exam_id, **result.as_dict()})
    else:
        click.echo(f"已创建考试 #{exam_id}「{title}」（草稿），报名 {result.added} 人。")
        for p in result.problems:
            click.echo(f"  - {p}", err=True)


@exam_group.command("enrol")
@click.argument("exam_id", type=int)
@click.option("--units", multiple=True)
@click.option("--ranks", multiple=True)
@click.option("--people", multiple=True)
@pass_ctx
def enrol_cmd(ctx: AppContext, exam_id: int, units, ranks, people) -> None:
    """Add candidates to an exam (units with subtrees, ranks, named people)."""
    from core.org.services import unit_by_code

    with ctx.transaction() as session:
        exam = access.get_visible_exam(session, exam_id, CONSOLE)
        result = enrolment.enrol(
            session,
            exam,
            units=[unit_by_code(session, c) for c in _split(units)],
            ranks=_split(ranks),
            person_nos=_split(people),
            scope=CONSOLE,
            actor=ctx.actor,
            now=utcnow(),
        )
    click.echo(f"新增 {result.added} 人，已在名单中 {result.already} 人。")
    for p in result.problems:
        click.echo(f"  - {p}", err=True)


@exam_group.command("list")
@click.option("--status", type=click.Choice(["draft", "open", "closed"]))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def list_cmd(ctx: AppContext, status: str | None, as_json: bool) -> None:
    """List exams with their window and candidate counts."""
    with ctx.transaction() as session:
        found = access.list_visible_exams(session, CONSOLE, status=status)
        counts = exams.exam_counts(session, [e.id for e in found], CONSOLE)
        rows = [
            {
                "id": e.id,
                "title": e.title,
                "status": e.status,
                "mode": e.mode,
                "owner": e.owner_unit.code,
                "opens_at": e.opens_at.isoformat(),
                "closes_at": e.closes_at.isoformat(),
                **counts[e.id],
            }
            for e in found
        ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(
            f"#{r['id']:<4} {exams.STATUS_LABELS[r['status']]:<4} {r['title']}  "
            f"{_fmt(dt.datetime.fromisoformat(r['opens_at']))} ~ "
            f"{_fmt(dt.datetime.fromisoformat(r['closes_at']))}  "
            f"考生 {r['participants']}，试卷 {r['papers']}，已交卷 {r['submitted']}"
        )


def _status_cmd(name: str, fn, done: str, help_text: str):
    @exam_group.command(name, help=help_text)
    @click.argument("exam_id", type=int)
    @pass_ctx
    def cmd(ctx: AppContext, exam_id: int) -> None:
        with ctx.transaction() as session:
            exam = access.get_visible_exam(session, exam_id, CONSOLE)
            fn(session, exam, scope=CONSOLE, actor=ctx.actor, now=utcnow())
        click.echo(f"考试 #{exam_id} {done}。")

    return cmd


_status_cmd("open", windows.open_exam, "已开放", "Open an exam to its candidates (audited).")
_status_cmd("close", windows.close_exam, "已关闭", "Close an exam: no new starts (audited).")


@exam_group.command("release-review")
@click.argument("exam_id", type=int)
@pass_ctx
def release_review_cmd(ctx: AppContext, exam_id: int) -> None:
    """公布答案: open every candidate's review at once, whatever the policy (audited)."""
    with ctx.transaction() as session:
        exam = access.get_visible_exam(session, exam_id, CONSOLE)
        exams.release_review(session, exam, scope=CONSOLE, actor=ctx.actor, now=utcnow())
    click.echo(f"考试 #{exam_id} 已公布答案：考生现在可以查看答案与解析。")


@exam_group.command("extend")
@click.argument("exam_id", type=int)
@click.option("--until", required=True, help="New close time (China time).")
@click.option("--reason", default="", help="Why (kept in the audit log).")
@pass_ctx
def extend_cmd(ctx: AppContext, exam_id: int, until: str, reason: str) -> None:
    """Extend an exam's window (audited)."""
    new_close = parse_time(until)
    with ctx.transaction() as session:
        exam = access.get_visible_exam(session, exam_id, CONSOLE)
        moved = windows.extend_window(
            session, exam, new_close, scope=CONSOLE, actor=ctx.actor, now=utcnow(),
            reason=reason,
        )  # fmt: skip
    click.echo(
        f"考试 #{exam_id} 结束时间延长至 {_fmt(new_close)}，{moved} 份作答的截止时间随之顺延。"
    )


@exam_group.command("extra-time")
@click.argument("exam_id", type=int)
@click.argument("person_no")
@click.option("--minutes", type=int, required=True, help="Extra minutes.")
@click.option("--reason", required=True, help="Reason (kept in the audit log).")
@click.option(
    "--incident",
    is_flag=True,
    help="Add to the current time now (incident), instead of setting the accommodation.",
)
@pass_ctx
def extra_time_cmd(ctx: AppContext, exam_id: int, person_no: str, minutes: int, reason: str,
                   incident: bool) -> None:  # fmt: skip
    """Give one person extra time (accommodation, or --incident during the exam)."""
    from core.accounts.services import person_by_no

    with ctx.transaction() as session:
        exam = access.get_visible_exam(session, exam_id, CONSOLE)
        person = person_by_no(session, person_no)
        kw = {"scope": CONSOLE, "actor": ctx.actor, "now": utcnow()}
        if incident:
            windows.extend_person_time(session, exam, person, minutes, reason, **kw)
        else:
            windows.set_extra_time(session, exam, person, minutes, reason, **kw)
    click.echo(f"已为 {person_no} 延长 {minutes} 分钟（原因：{reason}）。")


@exam_group.command("results")
@click.argument("exam_id", type=int)
@click.option("--unit", "unit_code", help="Only this unit's subtree.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write an Excel file.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def results_cmd(ctx: AppContext, exam_id: int, unit_code: str | None, out: Path | None,
                as_json: bool) -> None:  # fmt: skip
    """Results per candidate and per unit; optionally as an Excel workbook."""
    from core.org.services import unit_by_code

    with ctx.transaction() as session:
        exam = access.get_visible_exam(session, exam_id, CONSOLE)
        unit = unit_by_code(session, unit_code) if unit_code else None
        data = results.results(session, exam, scope=CONSOLE, unit=unit)
        if out:
            write_workbook(out, results.results_sheets(exam, data))
    if as_json:
        echo_json(data)
        return
    s = data["summary"]
    rate = "—" if s["pass_rate"] is None else f"{s['pass_rate']:.1%}"
    mean = "—" if s["mean"] is None else f"{s['mean']:.1f}"
    click.echo(
        f"应考 {s['enrolled']}，实考 {s['sat']}，及格 {s['passed']}（{rate}），平均分 {mean}"
    )
    for u in data["units"]:
        m = "—" if u["mean"] is None else f"{u['mean']:.1f}"
        click.echo(
            f"  {u['unit']}: 应考 {u['enrolled']}，实考 {u['sat']}，及格 {u['passed']}，平均 {m}"
        )
    if out:
        click.echo(f"已写入 {out}")


@exam_group.command("upload-results")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True)
@click.option("--skip-invalid", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def upload_results_cmd(ctx: AppContext, file: Path, dry_run: bool, skip_invalid: bool,
                       as_json: bool) -> None:  # fmt: skip
    """Upload self-reported results (人员编号, 成绩, 满分, 考试日期, 考试名称)."""
    with ctx.transaction() as session:
        report = self_reported.import_self_reported(
            session, file, filename=file.name, scope=CONSOLE, actor=ctx.actor,
            now=utcnow(), dry_run=dry_run, skip_invalid=skip_invalid,
        )  # fmt: skip
    verb = "检查" if dry_run else ("已导入" if report.written else "未导入")
    summary = f"{verb}：新增 {report.created}，更新 {report.updated}，错误行 {len(report.errors)}。"
    finish_import(payload=report.as_dict(), errors=report.errors, summary=summary,
                  as_json=as_json, dry_run=dry_run, skip_invalid=skip_invalid)  # fmt: skip


def register(main: click.Group) -> None:
    # The commands attach themselves to ``exam_group`` when this module is imported.
    return None
