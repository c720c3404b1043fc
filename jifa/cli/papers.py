"""``jifa blueprint ...`` and the paper commands of ``jifa exam``: check the pool,
generate papers, print, export papers and keys, import offline answer sheets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from core.db import utcnow
from jifa.cli.context import echo_json, finish_import, pass_ctx, progress
from jifa.cli.exam import blueprint_group, exam_group


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def blueprint_import(app, file: Path, as_json: bool) -> None:
    """Import a blueprint from YAML or Excel (a known code becomes a new version)."""
    from exam.papers.blueprints import import_blueprint

    with app.transaction() as session:
        row = import_blueprint(session, file.read_bytes(), file.name, actor=app.actor, now=utcnow())
        out = {"id": row.id, "code": row.code, "version": row.version, "name": row.name}
    if as_json:
        echo_json(out)
    else:
        click.echo(
            f"已导入组卷规则 {out['code']} 第{out['version']}版：{out['name']}（id {out['id']}）"
        )


@click.command("list")
@click.option("--all-versions", is_flag=True, help="List every version, not only the latest.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def blueprint_list(app, all_versions: bool, as_json: bool) -> None:
    """List blueprints (latest version of each code)."""
    from exam.papers.blueprints import list_blueprints

    with app.transaction() as session:
        rows = [
            {
                "id": r.id,
                "code": r.code,
                "version": r.version,
                "name": r.name,
                "tier": r.tier,
                "total_points": r.total_points,
                "pass_mark": r.pass_mark,
                "questions": sum(int(s["count"]) for s in r.spec["sections"]),
            }
            for r in list_blueprints(session, all_versions=all_versions)
        ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("还没有组卷规则。")
    for r in rows:
        click.echo(
            f"{r['code']:<20} 第{r['version']}版  {r['name']}  {r['questions']}题/"
            f"{r['total_points']:g}分 及格{r['pass_mark']:g}  (id {r['id']})"
        )


@click.command("show")
@click.argument("code")
@click.option("--version", type=int, help="Version (default: latest).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def blueprint_show(app, code: str, version: int | None, as_json: bool) -> None:
    """Show a blueprint with its two-way table (cells)."""
    from exam.papers.blueprints import get_blueprint, source_names
    from exam.papers.spec import band_label, type_label

    with app.transaction() as session:
        row = get_blueprint(session, code, version)
        names = source_names(session)
        data = {"id": row.id, "code": row.code, "version": row.version, "name": row.name}
        data.update(row.spec)
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['code']} 第{data['version']}版：{data['name']}")
    click.echo(f"总分 {data['total_points']:g}，及格 {data['pass_mark']:g}，层级 {data['tier']}")
    if data.get("target_difficulty") is not None:
        click.echo(f"目标平均难度 {data['target_difficulty']:g} ± {data['difficulty_tolerance']:g}")
    for i, s in enumerate(data["sections"], start=1):
        click.echo(f"第{i}节 {type_label(s['type'])} {s['count']}题 × {s['points']:g}分")
        for source, band, n in s.get("cells") or []:
            click.echo(
                f"    {names.get(source, '不限来源' if source == '*' else source)} × "
                f"{band_label(band)}：{n}"
            )


@click.command("copy")
@click.argument("code")
@click.argument("new_code")
@click.option("--version", type=int, help="Version to copy (default: latest).")
@click.option("--name", help="Name of the copy.")
@pass_ctx
def blueprint_copy(app, code: str, new_code: str, version: int | None, name: str | None) -> None:
    """Copy a blueprint under a new code."""
    from exam.papers.blueprints import copy_blueprint, get_blueprint

    with app.transaction() as session:
        row = copy_blueprint(
            session,
            get_blueprint(session, code, version),
            new_code,
            name=name,
            actor=app.actor,
            now=utcnow(),
        )
        click.echo(f"已复制为 {row.code} 第{row.version}版：{row.name}")


@click.command("check")
@click.argument("exam")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def exam_check(app, exam: str, as_json: bool) -> None:
    """Prove the active pool can give every participant a full paper (exit 1 if not)."""
    from exam.papers.persist import check_pool, get_exam

    with app.transaction() as session:
        report = check_pool(session, get_exam(session, exam))
    if as_json:
        echo_json(report)
    else:
        click.echo(
            f"题库可用 {report['pool_size']} 题（符合本规则的 {report['eligible_questions']} 题），"
            f"每卷 {report['questions_per_paper']} 题，考生 {report['candidates']} 人。"
        )
        if report.get("related_pairs"):
            click.echo(f"关联题（互斥题）{report['related_pairs']} 对，组卷时不同卷。")
        for row in report.get("related_cells") or ():
            click.echo(f"  - {row['message']}", err=row["short"])
        if report["ok"]:
            click.echo("题库可以满足组卷规则。")
            _echo_stats(report.get("stats"))
        else:
            click.echo("题库不能满足组卷规则：", err=True)
            for s in report["shortages"]:
                click.echo(f"  - {s['message']}", err=True)
            if report.get("error"):
                click.echo(f"  - {report['error']}", err=True)
    if not report["ok"]:
        sys.exit(1)


def _echo_stats(stats: dict | None) -> None:
    if not stats:
        return
    click.echo(
        f"试卷 {stats['papers']} 份；题目使用次数 最少 {stats['exposure_min']}、最多 "
        f"{stats['exposure_max']}（平均 {stats['exposure_mean']}）；平均难度 "
        f"{stats['difficulty_min']}–{stats['difficulty_max']}（极差 {stats['difficulty_spread']}）"
    )


@click.command("generate-papers")
@click.argument("exam")
@click.option(
    "--regenerate",
    is_flag=True,
    help="Delete and rebuild every paper (refused once any attempt exists).",
)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def exam_generate(app, exam: str, regenerate: bool, as_json: bool) -> None:
    """Generate the papers of every participant who has none (late participants get
    only theirs)."""
    from exam.papers.persist import generate_papers, get_exam

    with app.transaction() as session:
        ex = get_exam(session, exam)
        state = {"bar": None, "done": 0}

        def on_progress(done: int, total: int) -> None:
            if state["bar"] is None:
                state["bar"] = progress(range(total), label="生成试卷", length=total).__enter__()
            state["bar"].update(done - state["done"])
            state["done"] = done

        try:
            report = generate_papers(
                session,
                ex,
                now=utcnow(),
                progress=None if as_json else on_progress,
                regenerate=regenerate,
                actor=app.actor,
            )
        finally:
            if state["bar"] is not None:
                state["bar"].__exit__(None, None, None)
    if as_json:
        echo_json(report)
        return
    click.echo(
        f"考生 {report['participants']} 人，已有试卷 {report['existing']} 份，"
        f"本次生成 {report['generated']} 份。"
    )
    _echo_stats(report.get("stats"))


@click.command("rebuild-paper")
@click.argument("exam")
@click.argument("person_no")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def exam_rebuild(app, exam: str, person_no: str, as_json: bool) -> None:
    """Rebuild one candidate's paper from the seed and compare it with the stored one."""
    from core.accounts.services import person_by_no
    from exam.papers.persist import get_exam, paper_for
    from exam.papers.rebuild import rebuild_paper

    with app.transaction() as session:
        ex = get_exam(session, exam)
        person = person_by_no(session, person_no)
        result = rebuild_paper(session, paper_for(session, ex, person.id))
    if as_json:
        echo_json(result)
    else:
        click.echo("重建的试卷与存档一致。" if result["identical"] else "重建的试卷与存档不一致！")
    if not result["identical"]:
        sys.exit(1)


def _unit(session, code: str | None):
    if not code:
        return None
    from core.accounts.services import get_unit_by_code

    return get_unit_by_code(session, code)


@click.command("print")
@click.argument("exam")
@click.option("--unit", "unit_code", help="Only this unit (and its sub-units).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--key/--no-key", default=True, help="Also write the answer key.")
@pass_ctx
def exam_print(app, exam: str, unit_code: str | None, out_dir: Path, key: bool) -> None:
    """Write printable HTML papers (and the answer key) into a directory."""
    from core.accounts.scope import CONSOLE
    from exam.papers.persist import get_exam
    from exam.papers.printable import papers_for_output
    from jifa.app.printing import render_papers

    with app.transaction() as session:
        ex = get_exam(session, exam)
        papers = papers_for_output(
            session, ex, output="print", key=key, scope=CONSOLE, actor=app.actor,
            now=utcnow(), unit=_unit(session, unit_code),
        )  # fmt: skip
        title = ex.title
    if not papers:
        raise click.ClickException("没有可打印的试卷（请先生成试卷，或检查单位代码）。")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "papers.html").write_text(render_papers(title, papers, key=False), encoding="utf-8")
    if key:
        (out_dir / "answer_key.html").write_text(
            render_papers(title, papers, key=True), encoding="utf-8"
        )
    click.echo(f"已写入 {len(papers)} 份试卷：{out_dir / 'papers.html'}")


@click.command("export-papers")
@click.argument("exam")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", help="Only this unit (and its sub-units).")
@pass_ctx
def exam_export(app, exam: str, out_file: Path, unit_code: str | None) -> None:
    """Export papers, keys and a blank answer sheet to Excel."""
    from core.accounts.scope import CONSOLE
    from core.excel import write_workbook
    from exam.papers.persist import get_exam
    from exam.papers.printable import export_sheets, papers_for_output

    with app.transaction() as session:
        ex = get_exam(session, exam)
        papers = papers_for_output(
            session, ex, output="export", key=True, scope=CONSOLE, actor=app.actor,
            now=utcnow(), unit=_unit(session, unit_code),
        )  # fmt: skip
    write_workbook(out_file, export_sheets(papers))
    click.echo(f"已导出 {len(papers)} 份试卷及答案：{out_file}")


@click.command("import-answers")
@click.argument("exam")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate only, write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows, skip bad ones.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def exam_import_answers(
    app, exam: str, file: Path, dry_run: bool, skip_invalid: bool, as_json: bool
) -> None:
    """Import offline answer sheets (person number + answer per question number)."""
    from exam.papers.answer_sheets import import_answer_sheets
    from exam.papers.persist import get_exam

    with app.transaction() as session:
        report = import_answer_sheets(
            session,
            get_exam(session, exam),
            file.read_bytes(),
            file.name,
            now=utcnow(),
            actor=app.actor,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )
    verb = "检查" if dry_run else "导入"
    summary = (
        f"共 {report['rows']} 行，有效 {report['valid']} 行，错误 {len(report['errors'])} 行；"
        f"已{verb} {report['valid'] if dry_run else report['imported']} 份答卷。"
    )
    finish_import(payload=report, errors=report["error_messages"], summary=summary,
                  as_json=as_json, dry_run=dry_run, skip_invalid=skip_invalid)  # fmt: skip


def register(main: click.Group) -> None:
    for cmd in (blueprint_import, blueprint_list, blueprint_show, blueprint_copy):
        blueprint_group.add_command(cmd)
    for cmd in (
        exam_check,
        exam_generate,
        exam_rebuild,
        exam_print,
        exam_export,
        exam_import_answers,
    ):
        exam_group.add_command(cmd)
