"""``jifa exam finalize-expired`` (cron) and ``jifa exam regrade EXAM``."""

from __future__ import annotations

import click

from core.accounts.scope import CONSOLE
from core.db import utcnow
from exam.admin.access import find_exam
from exam.runner import marking, submit
from jifa.cli.context import echo_json, pass_ctx
from jifa.cli.exam import exam_group


@exam_group.command("finalize-expired")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_ctx
def finalize_expired(ctx, as_json: bool) -> None:
    """Submit and score every attempt whose time (plus grace) is over; prints the count.

    Safe to run from cron every minute."""
    with ctx.transaction() as session:
        count = submit.finalize_expired(session, utcnow())
    if as_json:
        echo_json({"finalized": count})
    else:
        click.echo(count)


@exam_group.command("regrade")
@click.argument("exam_ref", metavar="EXAM")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show who would gain or lose what (per candidate, per item); write nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@pass_ctx
def regrade(ctx, exam_ref: str, dry_run: bool, as_json: bool) -> None:
    """Rescore every submitted attempt of EXAM (id or title) after a key correction or
    a change of answer normalisation or synonyms; prints each changed score (before ->
    after); recorded in the audit log. --dry-run shows the changes item by item first."""
    if dry_run:
        with ctx.transaction() as session:
            exam = find_exam(session, exam_ref, CONSOLE)
            preview = [
                {
                    "attempt_id": c["attempt"].id,
                    "person_no": c["attempt"].person.person_no,
                    "name": c["attempt"].person.name,
                    "before": c["before"],
                    "after": c["after"],
                    "passed_before": c["passed_before"],
                    "passed_after": c["passed_after"],
                    "items": c["items"],
                }
                for c in marking.preview_regrade(session, exam)
            ]
        if as_json:
            echo_json({"exam_id": exam.id, "dry_run": True, "changes": preview})
            return
        for r in preview:
            gain = (r["after"] or 0) - (r["before"] or 0)
            click.echo(
                f"{r['person_no']}\t{r['name']}\t{r['before']} -> {r['after']}"
                f"（{gain:+g} 分）"
                + ("，由不及格变为及格" if r["passed_after"] and not r["passed_before"] else "")
            )
            for item in r["items"]:
                click.echo(f"    第 {item['position']} 题：{item['before']:g} -> {item['after']:g}")
        click.echo(f"试算（未写入）：{len(preview)} 份成绩将发生变化。")
        return
    with ctx.transaction() as session:
        exam = find_exam(session, exam_ref, CONSOLE)
        changes = marking.regrade_exam(session, exam, ctx.actor)
        rows = [
            {
                "attempt_id": a.id,
                "person_no": a.person.person_no,
                "name": a.person.name,
                "before": before,
                "after": after,
            }
            for a, before, after in changes
        ]
    if as_json:
        echo_json({"exam_id": exam.id, "changed": rows})
        return
    for r in rows:
        click.echo(f"{r['person_no']}\t{r['name']}\t{r['before']} -> {r['after']}")
    click.echo(f"重新评分完成：{len(rows)} 份成绩发生变化。")


def register(main: click.Group) -> None:
    """Commands attach to the shared ``exam`` group (registered by ``jifa.cli.exam``)."""
