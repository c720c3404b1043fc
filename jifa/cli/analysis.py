"""``jifa sample`` (the verifiable draw), ``jifa report`` (statistics and outputs) and
``jifa demo simulate``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from analysis import draws, sampling
from core.db import utcnow
from core.errors import InvalidInput
from jifa.cli.context import AppContext, echo_json, pass_ctx
from jifa.cli.demo import demo_group

CST = dt.timezone(dt.timedelta(hours=8))


def _cutoff(now: dt.datetime) -> str:
    return now.astimezone(CST).strftime("%Y-%m-%d %H:%M（北京时间）")


def _exam_ids(session, ref: str) -> list[int]:
    from exam.papers.persist import get_exam

    parts = [p.strip() for p in str(ref).replace("，", ",").split(",") if p.strip()]
    if not parts:
        raise InvalidInput("请指定考试编号。")
    return [get_exam(session, p).id for p in parts]


# ------------------------------------------------------------------ jifa sample


@click.group("sample")
def sample_group() -> None:
    """可验证的随机抽样：freeze -> publish -> draw -> replace / verify。"""


@sample_group.command("freeze")
@click.option(
    "--rank", "ranks", default="乡科级", show_default=True, help="职级（可用逗号分隔多个）"
)
@click.option("--strata", default="top_unit", show_default=True, help="分层方式")
@click.option("--quota", required=True, help='抽样规则，如 "20%,min=3" 或 "5"')
@click.option("--name", default=None, help="抽样名称")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def freeze_cmd(ctx: AppContext, ranks, strata, quota, name, out_dir, as_json) -> None:
    """冻结名册：写出规范名册 CSV 及其 SHA-256，锁定各层人数和抽样规则。"""
    now = utcnow()
    with ctx.transaction() as session:
        d = draws.freeze(
            session, ranks=ranks, strata=strata, quota_rule=quota, name=name,
            actor=ctx.actor, now=now,
        )  # fmt: skip
        info = {
            "draw_id": d.id,
            "roster_sha256": d.roster_sha256,
            "quota_rule": d.quota_rule,
            "algorithm_version": d.algorithm_version,
            "strata": d.stratum_counts,
        }
        csv_text = d.roster_csv
    path = Path(out_dir) / f"roster-draw{info['draw_id']}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text.encode("utf-8"))
    info["csv_path"] = str(path)
    if as_json:
        echo_json(info)
        return
    click.echo(f"抽样编号：{info['draw_id']}")
    click.echo(f"名册 CSV：{path}")
    click.echo(f"名册 SHA-256：{info['roster_sha256']}")
    click.echo(f"抽样规则：{info['quota_rule']}（{info['algorithm_version']}）")
    for code, c in info["strata"].items():
        click.echo(f"  {code} {c['name']}：{c['n']} 人，抽取 {c['quota']} 人")


def _get(session, draw_id: int):
    return draws.get_draw(session, draw_id)


@sample_group.command("publish")
@click.argument("draw_id", type=int)
@pass_ctx
def publish_cmd(ctx: AppContext, draw_id: int) -> None:
    """公布名册哈希、各层人数和抽样规则（此后不可再改）。"""
    with ctx.transaction() as session:
        d = _get(session, draw_id)
        draws.publish(session, d, actor=ctx.actor, now=utcnow())
        click.echo(f"已公布：抽样 {d.id}，名册 SHA-256 {d.roster_sha256}，规则 {d.quota_rule}")


@sample_group.command("draw")
@click.argument("draw_id", type=int)
@click.option("--entropy", required=True, help="公开随机数（至少 20 位，如当众掷骰结果）")
@click.option("--exam", "exam_ref", default=None, help="为该集中测试考试生成参测名单")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def draw_cmd(ctx: AppContext, draw_id: int, entropy: str, exam_ref, as_json: bool) -> None:
    """抽签：计算每人签号，按签号顺序确定抽中人员和替补顺序。"""
    with ctx.transaction() as session:
        d = _get(session, draw_id)
        exam_id = _exam_ids(session, exam_ref)[0] if exam_ref else None
        results = draws.draw(
            session, d, entropy=entropy, exam_id=exam_id, actor=ctx.actor, now=utcnow()
        )
        seed = d.seed
    if as_json:
        echo_json(
            {"draw_id": draw_id, "exam_id": exam_id, **sampling.result_as_dict(seed, results)}
        )
        return
    click.echo(f"种子：{seed}")
    for r in results:
        click.echo(f"[{r.code}] {r.name}：{r.n} 人，抽取 {r.quota} 人")
        for p, t in r.selected:
            click.echo(f"  抽中 {p}  {t}")
        for i, (p, t) in enumerate(r.alternates, start=1):
            click.echo(f"  替补{i} {p}  {t}")


@sample_group.command("replace")
@click.argument("draw_id", type=int)
@click.argument("person_no")
@click.option("--reason", required=True, help="替补原因")
@pass_ctx
def replace_cmd(ctx: AppContext, draw_id: int, person_no: str, reason: str) -> None:
    """替补：被抽中人员因故不能参加时，由本层下一位替补递补（记录原因）。"""
    with ctx.transaction() as session:
        d = _get(session, draw_id)
        rep = draws.replace(session, d, person_no, reason=reason, actor=ctx.actor, now=utcnow())
        if rep.replacement_person_no:
            click.echo(f"{person_no} 由 {rep.replacement_person_no} 递补（原因：{reason}）")
        else:
            click.echo(f"{person_no} 已登记免测（原因：{reason}），本层已无替补人员。")


@sample_group.command("verify")
@click.argument("draw_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def verify_cmd(ctx: AppContext, draw_id: int, as_json: bool) -> None:
    """按存档的名册和种子重新计算并核对全部结果。"""
    with ctx.transaction() as session:
        report = draws.verify(session, _get(session, draw_id))
    if as_json:
        echo_json(report)
    elif report["ok"]:
        click.echo(f"核验通过：抽样 {draw_id} 的名册哈希、种子、签号和替补顺序均与重新计算一致。")
    else:
        click.echo("核验未通过：")
        for p in report["problems"]:
            click.echo(f"  - {p}")
    if not report["ok"]:
        raise SystemExit(1)


@sample_group.command("show")
@click.argument("draw_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show_cmd(ctx: AppContext, draw_id: int, as_json: bool) -> None:
    """显示一次抽样的设置、结果和替补记录。"""
    with ctx.transaction() as session:
        d = _get(session, draw_id)
        info = {
            "draw_id": d.id, "name": d.name, "status": d.status, "criteria": d.criteria,
            "strata": d.stratum_counts, "quota_rule": d.quota_rule,
            "algorithm_version": d.algorithm_version, "roster_sha256": d.roster_sha256,
            "entropy": d.entropy, "seed": d.seed, "exam_id": d.exam_id,
            "sample": draws.current_sample(session, d) if d.seed else [],
            "replacements": [
                {"excused": r.excused_person_no, "replacement": r.replacement_person_no,
                 "reason": r.reason} for r in draws.replacements(session, d)
            ],
        }  # fmt: skip
    if as_json:
        echo_json(info)
        return
    for k, v in info.items():
        click.echo(f"{k}: {json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}")


# ------------------------------------------------------------------ jifa report


@click.group("report")
def report_group() -> None:
    """统计分析与输出：作答明细、统计、工作簿、通报、图表。EXAM 可为逗号分隔的多场考试。"""


def _build(ctx: AppContext, exam_ref: str):
    from analysis import report

    now = utcnow()
    with ctx.transaction() as session:
        return report.build(session, _exam_ids(session, exam_ref), cutoff=_cutoff(now))


@report_group.command("responses")
@click.argument("exam_ref", metavar="EXAM")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@pass_ctx
def responses_cmd(ctx: AppContext, exam_ref: str, out: str) -> None:
    """每人每题一行的作答明细 CSV（可据此复核全部统计）。"""
    from analysis import loading
    from core.excel import write_csv

    with ctx.transaction() as session:
        df = loading.load_responses(session, _exam_ids(session, exam_ref))
    headers = ["考试编号", "作答编号", "人员编号", "单位代码", "单位", "区直属单位", "单位类型",
               "职级", "题位", "题号", "题目版本", "法规", "知识点", "题型", "得分", "分值",
               "作答（显示选项）", "所选原始选项"]  # fmt: skip
    cols = ["exam_id", "attempt_id", "person_no", "unit_code", "unit_name", "top_unit_name",
            "top_unit_kind", "rank", "position", "question_code", "version_id", "source_name",
            "knowledge_points", "type", "marks", "max_marks", "response", "chosen"]  # fmt: skip
    rows = df[cols].astype(object).itertuples(index=False, name=None)
    write_csv(out, headers, rows)
    click.echo(f"已写出 {len(df)} 行作答明细：{out}")


@report_group.command("stats")
@click.argument("exam_ref", metavar="EXAM")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def stats_cmd(ctx: AppContext, exam_ref: str, as_json: bool) -> None:
    """全部统计指标（--json 机器可读）。"""
    rep = _build(ctx, exam_ref)
    data = rep.to_json()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False))
        return
    o = rep.overall
    click.echo(f"{rep.title}：交卷 {o.get('n', 0)} 人")
    if o.get("n"):
        click.echo(
            f"平均分 {o['mean']:.2f}，中位数 {o['median']:.2f}，标准差 {o['sd']:.2f}，"
            f"及格率 {100 * o['pass_rate']:.1f}%（95% 区间 {100 * o['pass_lo']:.1f}%–"
            f"{100 * o['pass_hi']:.1f}%）"
        )
        click.echo(f"信度 {rep.reliability['method']} = {rep.reliability['alpha']:.3f}")
        for r in rep.by_unit.itertuples():
            flag = "（人数过少）" if r.small_n else ""
            click.echo(
                f"  {r.top_unit_name}{flag}：{r.n} 人，均分率 {r.mean:.1f}%，收缩 {r.shrunk_mean:.1f}%"
            )


@report_group.command("workbook")
@click.argument("exam_ref", metavar="EXAM")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@click.option("--mask-names", is_flag=True, help="个人明细中的姓名打码")
@pass_ctx
def workbook_cmd(ctx: AppContext, exam_ref: str, out: str, mask_names: bool) -> None:
    """分析工作簿（Excel）。"""
    from analysis import charts, workbook

    rep = _build(ctx, exam_ref)
    path = workbook.write(rep, out, charts.render_all(rep), mask_names=mask_names)
    click.echo(f"已写出工作簿：{path}")


@report_group.command("notice")
@click.argument("exam_ref", metavar="EXAM")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--unmask", is_flag=True, help="显示完整姓名（默认打码，如 张*明）")
@click.option("--date", "day", default=None, help="成文日期 YYYY-MM-DD（默认今天，北京时间）")
@pass_ctx
def notice_cmd(ctx: AppContext, exam_ref: str, out_dir: str, unmask: bool, day) -> None:
    """通报：Word 公文（notice.docx）、网页及图片、纯文本、微信公众号文章（wechat/）和工作簿。"""
    from analysis import charts, notice, workbook

    try:
        date = dt.date.fromisoformat(day) if day else utcnow().astimezone(CST).date()
    except ValueError as exc:
        raise click.BadParameter("日期格式应为 YYYY-MM-DD", param_hint="--date") from exc
    rep = _build(ctx, exam_ref)
    pngs = charts.render_all(rep)
    files = notice.publication(rep, pngs, unmask=unmask, issuer=str(ctx.config["ISSUER"]),
                               date=date)  # fmt: skip
    files["workbook.xlsx"] = workbook.to_bytes(rep, pngs, mask_names=not unmask)
    for p in notice.write_files(files, out_dir):
        click.echo(str(p))


@report_group.command("charts")
@click.argument("exam_ref", metavar="EXAM")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@pass_ctx
def charts_cmd(ctx: AppContext, exam_ref: str, out_dir: str) -> None:
    """全部图表（PNG）。"""
    from analysis import charts

    rep = _build(ctx, exam_ref)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, png in charts.render_all(rep).items():
        (out / f"{name}.png").write_bytes(png)
        click.echo(str(out / f"{name}.png"))


# ------------------------------------------------------------------ jifa demo simulate


@demo_group.command("simulate")
@click.argument("exam_ref", metavar="EXAM")
@click.option("--people", type=int, required=True, help="模拟作答人数")
@click.option("--seed", type=int, default=610, show_default=True)
@click.option(
    "--practice/--no-practice",
    default=True,
    show_default=True,
    help="同时模拟近 28 天的练习记录（学习模式）",
)
@pass_ctx
def simulate_cmd(ctx: AppContext, exam_ref: str, people: int, seed: int, practice: bool) -> None:
    """按简单能力模型（IRT）模拟一批考生作答并评分，并模拟练习记录。"""
    from analysis.simulate import simulate
    from exam.papers.persist import get_exam
    from jifa.app.demo import simulate_practice

    with ctx.transaction() as session:
        exam = get_exam(session, exam_ref)
        result = simulate(session, exam, people=people, seed=seed, now=utcnow())
        studied = simulate_practice(session, exam.id, seed=seed, now=utcnow()) if practice else None
    click.echo(f"已模拟 {result['attempts']} 份作答（考试 {result['exam_id']}）。")
    if studied:
        click.echo(
            f"已模拟练习记录：{studied['practice_sessions']} 次练习，"
            f"{studied['practice_answers']} 道题（近 28 天）。"
        )


def register(main: click.Group) -> None:
    main.add_command(sample_group)
    main.add_command(report_group)
