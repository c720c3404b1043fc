"""Analyst pages: exam statistics with charts and filters, downloads (workbook, notice),
and the sampling draw walk-through (freeze -> publish -> draw -> replace) with printable
announcements. Analysts and administrators only; views stay thin."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from urllib.parse import urlencode

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

from analysis import cache, charts, draws, items, notice, report, sampling, workbook
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
    return {k: request.args.get(k, "").strip() for k in report.FILTERS}


def _cache() -> cache.ReportCache:
    return cache.ReportCache(Path(current_app.instance_path) / "analysis-cache")


def _entry(exam_id: int) -> cache.Entry:
    """The analysis of the current data (cached per exam, filters and data version; the
    last good copy while another worker builds the new one; ``cache.Busy`` if none)."""
    detached = current_app.config.get("ANALYSIS_DETACHED")
    if detached is None:  # an app on its own database: build in a process of its own
        detached = current_app.config.get("SESSION_FACTORY") is None
    return _cache().get(
        db(), _exam_ids(exam_id), _filters(), cutoff=_cutoff(),
        database_url=str(current_app.config["DATABASE_URL"]) if detached else None,
    )  # fmt: skip


def _query(**changes) -> str:
    args = {k: v for k, v in request.args.items() if v}
    args.update({k: v for k, v in changes.items()})
    return urlencode({k: v for k, v in args.items() if v not in (None, "")})


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
    try:
        entry = _entry(exam_id)
    except cache.Busy as exc:
        page = render_template("analyst/building.html", exam_id=exam_id, message=exc.message)
        return page, 503, {"Retry-After": "3"}
    rep = entry.report
    filters_query = urlencode({k: v for k, v in _filters().items() if v})
    table = items.item_page(
        rep.item_table,
        sort=request.args.get("isort", ""),
        text=request.args.get("iq", ""),
        flagged_only=request.args.get("iflag") == "1",
        page=request.args.get("ipage", ""),
    )
    return render_template(
        "analyst/exam.html",
        exam_id=exam_id,
        rep=rep,
        entry=entry,
        choices=entry.choices,
        ranks=list(RANK_LABELS.values()),
        f=_filters(),
        query=filters_query,
        item_query=_query,
        table=table,
        no_pass_rate=report.NO_PASS_RATE,
        chart_titles=charts.CHART_TITLES,
        chart_notes=charts.CHART_NOTES,
        chart_names=entry.chart_names,
    )


@bp.route("/exams/<int:exam_id>/charts/<name>.png")
@roles_required(*ROLES)
def chart(exam_id: int, name: str):
    """A chart of an analysis already built: never builds anything itself."""
    version = request.args.get("v", "")
    found = _cache().chart(_exam_ids(exam_id), _filters(), version, name)
    if found is None:
        abort(404)
    data, served = found
    fixed = served == version  # the version is in the URL: its picture never changes
    return Response(
        data,
        mimetype="image/png",
        headers={"Cache-Control": "private, max-age=86400" if fixed else "no-store"},
    )


def _download(exam_id: int, name: str, build) -> bytes:
    """A download of the current analysis, built once per data version under the build
    lock, from the full report (the downloads need every response) and cached charts."""
    entry = _entry(exam_id)

    def full():
        rep = report.filtered(
            report.build(db(), _exam_ids(exam_id), cutoff=entry.report.cutoff), _filters()
        )
        pngs = {n: entry.chart(n) for n in entry.chart_names}
        return build(rep, {n: b for n, b in pngs.items() if b})

    if entry.stale:  # newer data than the cached analysis: built now, not kept
        return full()
    return _cache().download(entry, name, full)


@bp.route("/exams/<int:exam_id>/workbook.xlsx")
@roles_required(*ROLES)
def download_workbook(exam_id: int):
    data = _download(exam_id, "workbook.xlsx", workbook.to_bytes)
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


def _publishing_key(kind: str) -> str:
    p = _publishing()
    issuer = hashlib.sha256(p["issuer"].encode()).hexdigest()[:8]
    return f"{kind}-{int(p['unmask'])}-{p['date']:%Y%m%d}-{issuer}"


def _attachment(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@bp.route("/exams/<int:exam_id>/notice.zip")
@roles_required(*ROLES)
def download_notice(exam_id: int):
    data = _download(
        exam_id, _publishing_key("notice.zip"),
        lambda rep, pngs: notice.zip_bytes(rep, pngs, **_publishing()),
    )  # fmt: skip
    return _attachment(data, "application/zip", f"notice-exam{exam_id}.zip")


@bp.route("/exams/<int:exam_id>/notice.docx")
@roles_required(*ROLES)
def download_notice_docx(exam_id: int):
    """The notice as a Word document in the GB/T 9704-2012 layout."""
    data = _download(
        exam_id, _publishing_key("notice.docx"),
        lambda rep, pngs: notice.docx_bytes(rep, pngs, **_publishing()),
    )  # fmt: skip
    return _attachment(data, DOCX, f"notice-exam{exam_id}.docx")


@bp.route("/exams/<int:exam_id>/wechat.zip")
@roles_required(*ROLES)
def download_wechat(exam_id: int):
    """The WeChat article: article.html (inline styles only) and its pictures."""
    data = _download(
        exam_id, _publishing_key("wechat.zip"),
        lambda rep, pngs: notice.wechat_zip(rep, pngs, **_publishing()),
    )  # fmt: skip
    return _attachment(data, "application/zip", f"wechat-exam{exam_id}.zip")


@bp.route("/exams/<int:exam_id>/stats.json")
@roles_required(*ROLES)
def stats_json(exam_id: int):
    entry = _entry(exam_id)
    data = entry.report.to_json()
    data["data_version"], data["stale"] = entry.version, entry.stale
    return {"ok": True, "data": data}


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
