"""``jifa law ...`` and ``jifa bank ...``: statutes, question import/export, statistics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from jifa.cli.context import AppContext, echo_json, finish_import, pass_ctx


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("日期格式应为 YYYY-MM-DD") from exc


@click.group("law")
def law_group() -> None:
    """Law sources and statute texts (法规与条文)."""


@law_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_code", required=True, help="Source code, e.g. criminal_law.")
@click.option("--revision", required=True, callback=_date, help="Revision date YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def law_import(ctx: AppContext, file: Path, source_code: str, revision, as_json: bool) -> None:
    """Import a statute (.docx, saved web page .html/.mhtml, text or Markdown) as a revision."""
    from question_bank.law import import_law

    with ctx.transaction() as session:
        report = import_law(
            session, source_code, revision, file.read_bytes(), filename=file.name, actor=ctx.actor
        )
        data = report.as_dict()
    if as_json:
        echo_json(data)
        return
    c = data["counts"]
    click.echo(
        f"已导入《{report.source_name}》{data['revision']} 版本：{data['articles']} 条"
        f"（其中“之X”条 {c['suffixed']} 条）。"
    )
    if data["previous_revision"]:
        click.echo(f"与 {data['previous_revision']} 版本相比：")
        for label, key in (("新增", "added"), ("删除", "removed"), ("修改", "changed")):
            items = data[key]
            click.echo(f"  {label} {len(items)} 条" + (f"：{'、'.join(items)}" if items else ""))
        flagged = data["flagged"]
        click.echo(
            f"  需复核的试题 {len(flagged)} 道" + (f"：{'、'.join(flagged)}" if flagged else "")
        )


@law_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_ctx
def law_list(ctx: AppContext, as_json: bool) -> None:
    """List law sources, imported revisions and question counts."""
    from question_bank.law import list_sources

    with ctx.transaction() as session:
        sources = list_sources(session)
    if as_json:
        echo_json(sources)
        return
    for s in sources:
        revs = (
            "，".join(f"{r['date']}（{r['articles']} 条）" for r in s["revisions"]) or "未导入文本"
        )
        click.echo(
            f"{s['code']:<28} {s['name']}  现行版本 {s['current_revision'] or '-'}  "
            f"试题 {s['questions']} 道  文本：{revs}"
        )


@law_group.command("add-source")
@click.argument("code")
@click.argument("name")
@click.option("--short-name", "short_names", multiple=True, help="Accepted short name (repeat).")
@click.option("--kind", type=click.Choice(["party", "state"]), default="party")
@click.option("--revision", callback=_date, help="Current revision date YYYY-MM-DD.")
@pass_ctx
def law_add_source(ctx: AppContext, code, name, short_names, kind, revision) -> None:
    """Register another law source."""
    from question_bank.law import add_source

    with ctx.transaction() as session:
        add_source(
            session,
            code=code,
            name=name,
            short_names=list(short_names),
            kind=kind,
            current_revision=revision,
            actor=ctx.actor,
        )
    click.echo(f"已添加法规：{code} {name}")


@click.group("bank")
def bank_group() -> None:
    """Question bank: import, export, statistics, citation checks (题库)."""


def _finish(report, as_json: bool, *, dry_run: bool = False, skip_invalid: bool = False) -> None:
    finish_import(payload=report.as_dict(), errors=report.rejected, summary=report.summary(),
                  as_json=as_json, dry_run=dry_run, skip_invalid=skip_invalid)  # fmt: skip


@bank_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows, skip bad ones.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def bank_import(click_ctx, file: Path, dry_run: bool, skip_invalid: bool, as_json: bool) -> None:
    """Import questions from .xlsx or .csv (exit status 1 when any row is rejected)."""
    from question_bank.importer import import_path

    ctx: AppContext = click_ctx.obj
    with ctx.transaction() as session:
        report = import_path(
            session, file, dry_run=dry_run, skip_invalid=skip_invalid, actor=ctx.actor
        )
    _finish(report, as_json, dry_run=dry_run, skip_invalid=skip_invalid)


@bank_group.command("load-starter")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def bank_load_starter(click_ctx, as_json: bool) -> None:
    """Import the starter bank shipped with the project."""
    from question_bank.starter import load_starter_bank

    ctx: AppContext = click_ctx.obj
    with ctx.transaction() as session:
        report = load_starter_bank(session, actor=ctx.actor)
    _finish(report, as_json, skip_invalid=True)


@bank_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--status", type=click.Choice(["active", "draft", "retired"]), help="Only this status."
)
@pass_ctx
def bank_export(ctx: AppContext, file: Path, status: str | None) -> None:
    """Export the bank (current versions) as .xlsx (or .csv) in the template."""
    from question_bank.exporter import export_file

    if file.suffix.lower() not in (".xlsx", ".csv"):
        raise click.ClickException("导出文件应以 .xlsx 或 .csv 结尾。")
    with ctx.transaction() as session:
        n = export_file(session, file, status=status)
    click.echo(f"已导出 {n} 道试题到 {file}")


def _set_reserved(ctx: AppContext, codes: tuple[str, ...], reserved: bool, as_json: bool) -> None:
    from question_bank.services import set_reserved

    with ctx.transaction() as session:
        changed = set_reserved(session, list(codes), reserved, actor=ctx.actor)
    if as_json:
        echo_json({"reserved": reserved, "changed": changed})
        return
    what = "设为仅限考试" if reserved else "取消仅限考试"
    click.echo(
        f"已{what} {len(changed)} 道" + (f"：{'、'.join(changed)}" if changed else "（均无变化）")
    )


@bank_group.command("reserve")
@click.argument("codes", nargs=-1, required=True, metavar="CODE...")
@click.option("--json", "as_json", is_flag=True, help="Print the codes changed as JSON.")
@pass_ctx
def bank_reserve(ctx: AppContext, codes: tuple[str, ...], as_json: bool) -> None:
    """Reserve questions for exams (仅限考试): never in practice or the law reader."""
    _set_reserved(ctx, codes, True, as_json)


@bank_group.command("unreserve")
@click.argument("codes", nargs=-1, required=True, metavar="CODE...")
@click.option("--json", "as_json", is_flag=True, help="Print the codes changed as JSON.")
@pass_ctx
def bank_unreserve(ctx: AppContext, codes: tuple[str, ...], as_json: bool) -> None:
    """Release reserved questions back to practice."""
    _set_reserved(ctx, codes, False, as_json)


@bank_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_ctx
def bank_stats_cmd(ctx: AppContext, as_json: bool) -> None:
    """Counts by source x type x difficulty x status, and citation coverage."""
    from question_bank.models import QUESTION_TYPE_LABELS, QuestionType
    from question_bank.stats import bank_stats

    with ctx.transaction() as session:
        stats = bank_stats(session)
    if as_json:
        echo_json(stats)
        return
    click.echo(
        f"试题 {stats['total']} 道（启用 {stats['active']}），"
        f"引用到条 {stats['coverage']['cited']} 道，未引用条款 {stats['coverage']['uncited']} 道"
    )
    for code, b in stats["by_source"].items():
        types = "，".join(
            f"{QUESTION_TYPE_LABELS[QuestionType(t)]} {n}" for t, n in sorted(b["by_type"].items())
        )
        diffs = " ".join(f"{d}:{n}" for d, n in sorted(b["by_difficulty"].items()))
        arts = f"，条文覆盖 {b['articles_cited']}/{b['articles']}" if b.get("articles") else ""
        click.echo(f"{code:<28} 共 {b['total']:>4}（{types or '-'}）难度 {diffs or '-'}{arts}")


@bank_group.command("verify-citations")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def bank_verify(click_ctx, as_json: bool) -> None:
    """Check every citation against the imported statutes (exit 1 if any is wrong)."""
    from question_bank.citations import verify_citations

    ctx: AppContext = click_ctx.obj
    with ctx.transaction() as session:
        result = verify_citations(session)
    if as_json:
        echo_json(result)
    else:
        click.echo(
            f"已核对 {result['checked']} 条引用：正确 {result['ok']}，错误 {len(result['wrong'])}；"
            f"无法核对（法规文本未导入）{len(result['unverifiable'])} 条；"
            f"未引用条款的试题 {result['uncited_questions']} 道。"
        )
        for w in result["wrong"]:
            click.echo(f"  错误：{w['question']} {w['reason']}")
        if result["unverifiable"]:
            by_source: dict[str, int] = {}
            for u in result["unverifiable"]:
                by_source[u["source"]] = by_source.get(u["source"], 0) + 1
            click.echo(
                "  无法核对：" + "，".join(f"{s} {n} 条" for s, n in sorted(by_source.items()))
            )
    if result["wrong"]:
        click_ctx.exit(1)


@bank_group.command("lint")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def bank_lint(click_ctx, file: Path | None, as_json: bool) -> None:
    """Check the bank (or FILE before importing it) for answer cues (exit 1 on errors)."""
    from question_bank.lint import file_items, lint, lint_bank, source_names

    ctx: AppContext = click_ctx.obj
    with ctx.transaction() as session:
        rejected: list[str] = []
        if file is None:
            report = lint_bank(session)
        else:
            items, rejected = file_items(session, file)
            report = lint(items)
        names = source_names(session)
    if as_json:
        echo_json({**report.as_dict(), "rejected_rows": rejected})
    else:
        for line in report.lines(source_names=names):
            click.echo(line)
        for reason in rejected:
            click.echo(f"  未检查（无法导入）：{reason}")
    if report.has_errors:
        click_ctx.exit(1)


@bank_group.command("related")
@click.option("--code", help="Only the pairs of this question.")
@click.option("--reason", type=click.Choice(["gives_away", "near_duplicate", "exclusion_group"]))
@click.option("--refresh", is_flag=True, help="Recompute the pairs first.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def bank_related(click_ctx, code: str | None, reason: str | None, refresh: bool, as_json: bool):
    """Related questions (互斥/关联题) that never share a paper, with their reason."""
    from question_bank import related

    ctx: AppContext = click_ctx.obj
    with ctx.transaction() as session:
        if refresh:
            related.refresh_relations(session)
        summary = related.related_summary(session)
        rows = [r.as_dict() for r in related.list_related(session, code=code, reason=reason)]
    if as_json:
        echo_json({**summary, "rows_listed": rows})
        return
    by_reason = summary["by_reason"]
    click.echo(
        f"关联题 {summary['pairs']} 对（按原因 {summary['rows']} 条：自动发现 "
        f"{summary['by_origin'].get('auto', 0)}，互斥组 {summary['by_origin'].get('manual', 0)}；"
        f"含答案 {by_reason.get('gives_away', 0)}，题意相近 {by_reason.get('near_duplicate', 0)}，"
        f"同一互斥组 {by_reason.get('exclusion_group', 0)}）"
    )
    for r in rows:
        click.echo(f"{r['a']}\t{r['b']}\t{r['reason_label']}\t{r['description']}")


def register(main: click.Group) -> None:
    main.add_command(law_group)
    main.add_command(bank_group)


__all__ = ["register"]
