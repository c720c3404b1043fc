"""Analyst pages: exam statistics with charts and filters, downloads (workbook, notice),
and the sampling draw walk-through (freeze -> publish -> draw -> replace) with printable
announcements. Analysts and administrators only; views stay thin."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from analysis import charts, draws, notice, report, sampling, workbook
from analysis.models import SamplingDraw
from core.db import utcnow
from core.errors import DomainError, InvalidInput
from core.org.models import RANK_LABELS
from exam.admin import access
from jifa.web.access import actor, current_scope, roles_required
from jifa.web.database import db

bp = Blueprint("analyst", __name__, template_folder="templates", url_prefix="/analysis")
ROLES = ("analyst", "admin")
CST = dt.timezone(dt.timedelta(hours=8))
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _cutoff() -> str:
    return utcnow().astimezone(CST).strftime("%Y-%m-%d %H:%M（北京时间）")


def _exam_ids(exam_id: int) -> list[int]:
    """The exam, plus others on the same blueprint if ``?with=3,4`` is given; each must
    be an exam the user sees (404 otherwise)."""
    ids = [exam_id]
    extra = request.args.get("with", "")
    for part in extra.replace("，", ",").split(","):
        if part.strip():
            if not part.strip().isdigit():
                raise InvalidInput(f"考试编号应为数字：{part}")
            ids.append(int(part))
    return [access.get_visible_exam(db(), i, current_scope()).id for i in ids]


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip() for k in ("unit", "rank", "source")}


def _report(exam_id: int):
    """The full report, recomputed on the filtered responses if filters are set."""
    rep = report.build(db(), _exam_ids(exam_id), cutoff=_cutoff())
    f = _filters()
    if not any(f.values()):
        return rep, rep
    df = rep.responses
    if f["unit"]:
        df = df[df["top_unit_name"].astype(str) == f["unit"]]
    if f["rank"]:
        df = df[df["rank"].astype(str) == f["rank"]]
    if f["source"]:
        df = df[df["source_name"].astype(str) == f["source"]]
    sub = report.compute(
        df, pass_mark=rep.pass_mark, total_points=rep.total_points, title=rep.title,
        exam_ids=rep.exam_ids,
    )  # fmt: skip
    if f["source"]:
        # a single source is a sub-score: compare it with its own maximum
        sub.pass_mark = (
            rep.pass_mark / rep.total_points * float(sub.scores["max_score"].mean() or 1)
        )
    sub.participation, sub.draw, sub.cutoff = rep.participation, rep.draw, rep.cutoff
    return rep, sub


@bp.route("/")
@roles_required(*ROLES)
def index():
    return render_template(
        "analyst/index.html",
        exams=access.list_visible_exams(db(), current_scope()),
        counts=report.submitted_counts(db()),
        draws=draws.list_draws(db()),
    )


@bp.route("/exams/<int:exam_id>")
@roles_required(*ROLES)
def exam_stats(exam_id: int):
    full, rep = _report(exam_id)
    units = sorted(full.scores["top_unit_name"].unique().tolist()) if len(full.scores) else []
    sources = sorted(full.by_source["category"].tolist())
    query = request.query_string.decode()
    return render_template(
        "analyst/exam.html",
        exam_id=exam_id,
        rep=rep,
        full=full,
        units=units,
        ranks=list(RANK_LABELS.values()),
        sources=sources,
        f=_filters(),
        query=query,
        chart_titles=charts.CHART_TITLES,
        chart_names=[n for n in charts.CHART_TITLES if _has_chart(rep, n)],
    )


def _has_chart(rep, name: str) -> bool:
    if name in ("histogram", "pass_rate_by_unit", "funnel", "box_by_rank"):
        return len(rep.scores) > 0
    if name == "mastery_by_source":
        return len(rep.by_source) > 0
    if name == "unit_source_heatmap":
        return rep.unit_source.size > 0
    return len(rep.item_table) > 0


@bp.route("/exams/<int:exam_id>/charts/<name>.png")
@roles_required(*ROLES)
def chart(exam_id: int, name: str):
    if name not in charts.CHART_TITLES:
        abort(404)
    _, rep = _report(exam_id)
    pngs = charts.render_all(rep)
    if name not in pngs:
        abort(404)
    return Response(pngs[name], mimetype="image/png", headers={"Cache-Control": "no-store"})


@bp.route("/exams/<int:exam_id>/workbook.xlsx")
@roles_required(*ROLES)
def download_workbook(exam_id: int):
    _, rep = _report(exam_id)
    data = workbook.to_bytes(rep, charts.render_all(rep))
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=analysis-exam{exam_id}.xlsx"},
    )


def _publishing() -> dict:
    """Names masked unless ?unmask=1; the issuer from JIFA_ISSUER; today's date."""
    return {
        "unmask": request.args.get("unmask") == "1",
        "issuer": str(current_app.config.get("ISSUER") or ""),
        "date": utcnow().astimezone(CST).date(),
    }


def _attachment(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@bp.route("/exams/<int:exam_id>/notice.zip")
@roles_required(*ROLES)
def download_notice(exam_id: int):
    _, rep = _report(exam_id)
    data = notice.zip_bytes(rep, charts.render_all(rep), **_publishing())
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=notice-exam{exam_id}.zip"},
    )


@bp.route("/exams/<int:exam_id>/notice.docx")
@roles_required(*ROLES)
def download_notice_docx(exam_id: int):
    """The notice as a Word document in the GB/T 9704-2012 layout."""
    _, rep = _report(exam_id)
    data = notice.docx_bytes(rep, charts.render_all(rep), **_publishing())
    return _attachment(data, DOCX, f"notice-exam{exam_id}.docx")


@bp.route("/exams/<int:exam_id>/wechat.zip")
@roles_required(*ROLES)
def download_wechat(exam_id: int):
    """The WeChat article: article.html (inline styles only) and its pictures."""
    _, rep = _report(exam_id)
    data = notice.wechat_zip(rep, charts.render_all(rep), **_publishing())
    return _attachment(data, "application/zip", f"wechat-exam{exam_id}.zip")


@bp.route("/exams/<int:exam_id>/stats.json")
@roles_required(*ROLES)
def stats_json(exam_id: int):
    _, rep = _report(exam_id)
    return {"ok": True, "data": rep.to_json()}


# ------------------------------------------------------------------ the draw


@bp.route("/draws", methods=["GET", "POST"])
@roles_required(*ROLES)
def draw_list():
    if request.method == "POST":
        try:
            d = draws.freeze(
                db(),
                ranks=request.form.getlist("rank") or request.form.get("ranks", ""),
                strata=request.form.get("strata", "top_unit"),
                quota_rule=request.form.get("quota", ""),
                name=request.form.get("name") or None,
                actor=actor(),
                now=utcnow(),
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("analyst.draw_list"))
        flash(f"名册已冻结：{d.roster_sha256}", "success")
        return redirect(url_for("analyst.draw_detail", draw_id=d.id))
    return render_template(
        "analyst/draws.html", draws=draws.list_draws(db()), ranks=list(RANK_LABELS.values())
    )


def _draw(draw_id: int) -> SamplingDraw:
    return draws.get_draw(db(), draw_id)


@bp.route("/draws/<int:draw_id>")
@roles_required(*ROLES)
def draw_detail(draw_id: int):
    d = _draw(draw_id)
    results = draws.results_of(db(), d) if d.seed else []
    exams = access.list_visible_exams(db(), current_scope(), limit=50)
    return render_template(
        "analyst/draw.html",
        d=d,
        results=results,
        replacements=draws.replacements(db(), d),
        sample=set(draws.current_sample(db(), d)) if d.seed else set(),
        exams=exams,
    )


def _step(draw_id: int, fn):
    try:
        fn(_draw(draw_id))
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("analyst.draw_detail", draw_id=draw_id))


@bp.post("/draws/<int:draw_id>/publish")
@roles_required(*ROLES)
def draw_publish(draw_id: int):
    return _step(draw_id, lambda d: draws.publish(db(), d, actor=actor(), now=utcnow()))


@bp.post("/draws/<int:draw_id>/draw")
@roles_required(*ROLES)
def draw_run(draw_id: int):
    exam = request.form.get("exam_id", "").strip()
    if exam and not exam.isdigit():
        raise InvalidInput("考试编号应为数字。")
    return _step(
        draw_id,
        lambda d: draws.draw(
            db(), d, entropy=request.form.get("entropy", ""),
            exam_id=int(exam) if exam else None, actor=actor(), now=utcnow(),
        ),
    )  # fmt: skip


@bp.post("/draws/<int:draw_id>/replace")
@roles_required(*ROLES)
def draw_replace(draw_id: int):
    return _step(
        draw_id,
        lambda d: draws.replace(
            db(), d, request.form.get("person_no", "").strip(),
            reason=request.form.get("reason", ""), actor=actor(), now=utcnow(),
        ),
    )  # fmt: skip


@bp.get("/draws/<int:draw_id>/roster.csv")
@roles_required(*ROLES)
def draw_roster(draw_id: int):
    d = _draw(draw_id)
    return Response(
        d.roster_csv.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=roster-draw{d.id}.csv"},
    )


@bp.get("/draws/<int:draw_id>/verify")
@roles_required(*ROLES)
def draw_verify(draw_id: int):
    """JSON for scripts; a readable page for a browser (which prefers text/html)."""
    d = _draw(draw_id)
    data = draws.verify(db(), d)
    wants_html = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if request.args.get("format") != "json" and wants_html == "text/html":
        return render_template("analyst/verify.html", d=d, report=data)
    return {"ok": True, "data": data}


@bp.get("/draws/<int:draw_id>/announcement/<which>")
@roles_required(*ROLES)
def draw_announcement(draw_id: int, which: str):
    """Printable announcements: ``before`` (hash, counts, rule) and ``result``."""
    if which not in ("before", "result"):
        abort(404)
    d = _draw(draw_id)
    if which == "result" and not d.seed:
        raise InvalidInput("尚未抽签，没有结果可公布。")
    return render_template(
        "analyst/announcement.html",
        d=d,
        which=which,
        results=draws.results_of(db(), d) if d.seed else [],
        replacements=draws.replacements(db(), d) if d.seed else [],
        rule=sampling.parse_quota_rule(d.quota_rule),
    )


# ------------------------------------------------------------------ study beside results


@bp.get("/study")
@roles_required(*ROLES)
def study_results():
    """Study (practice) beside the results of one exam, per unit."""
    from analysis.study_results import study_vs_results

    raw = request.args.get("exam", "").strip()
    if raw and not raw.isdigit():
        raise InvalidInput("考试编号应为数字。")
    data = study_vs_results(db(), current_scope(), int(raw) if raw else None)
    return render_template("analyst/study.html", data=data)
