"""Question bank admin pages (admin and analyst): search, view with the cited article
text, edit (a new version), retire, history, Excel import/export, statistics, law
sources and their article coverage."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from core.audit import search as audit_search
from core.db import utcnow
from core.errors import DomainError, InvalidInput
from jifa.web.access import actor, roles_required
from jifa.web.database import db, end_reads
from question_bank import related, services
from question_bank.articles import label_for
from question_bank.citations import verify_citations
from question_bank.exporter import export_bytes
from question_bank.importer import import_files
from question_bank.law import get_source, import_law, list_sources
from question_bank.lint import CHECK_LABELS, SEVERITY_LABELS, lint_bank
from question_bank.models import (
    QUESTION_STATUS_LABELS,
    QUESTION_TYPE_LABELS,
    RELATION_REASON_LABELS,
    TIER_LABELS,
    LawSource,
    QuestionStatus,
    QuestionType,
)
from question_bank.rows import RowContext
from question_bank.sources import ensure_default_sources, sources_in_order
from question_bank.stats import bank_stats
from question_bank.template import EXPORT_HEADERS, OPTION_KEYS, format_answer, row_values

bp = Blueprint("bank", __name__, template_folder="templates", url_prefix="/bank")

BANK_ROLES = ("admin", "analyst")
TYPE_LABELS = {t.value: label for t, label in QUESTION_TYPE_LABELS.items()}
STATUS_LABELS = {s.value: label for s, label in QUESTION_STATUS_LABELS.items()}


@bp.context_processor
def _labels():
    return {
        "type_labels": TYPE_LABELS,
        "status_labels": STATUS_LABELS,
        "tier_labels": TIER_LABELS,
        "format_answer": format_answer,
        "option_keys": OPTION_KEYS,
        "article_label": label_for,
    }


def _sources() -> list[LawSource]:
    ensure_default_sources(db())
    return sources_in_order(db())


def _int_arg(name: str, lo: int, hi: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput(f"参数 {name} 应为整数。") from exc
    if not lo <= value <= hi:
        raise InvalidInput(f"参数 {name} 应在 {lo} 到 {hi} 之间。")
    return value


@bp.get("/")
@roles_required(*BANK_ROLES)
def index():
    qtype = request.args.get("type") or None
    if qtype and qtype not in TYPE_LABELS:
        raise InvalidInput("未知题型。")
    status = request.args.get("status") or None
    if status and status not in STATUS_LABELS:
        raise InvalidInput("未知状态。")
    filters = services.SearchFilters(
        source=request.args.get("source") or None,
        article=(request.args.get("article") or "").strip() or None,
        type=qtype,
        difficulty=_int_arg("difficulty", 1, 5),
        knowledge_point=(request.args.get("kp") or "").strip() or None,
        status=status,
        text=(request.args.get("q") or "").strip() or None,
        needs_review=request.args.get("review") == "1",
    )
    page = services.search_questions(db(), filters, page=_int_arg("page", 1, 100000) or 1)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "bank/index.html",
        page=page,
        filters=filters,
        sources=_sources(),
        knowledge_points=services.knowledge_point_names(db()),
        args=args,
    )


@bp.get("/q/<code>")
@roles_required(*BANK_ROLES)
def view(code: str):
    question = services.get_question(db(), code)
    version = services.current_version(question)
    return render_template(
        "bank/view.html",
        question=question,
        version=version,
        cited=services.cited_articles(db(), version),
        history=list(reversed(question.versions)),
        audit=audit_search(db(), entity_type="question", entity_id=code, limit=50),
        sources={s.id: s for s in _sources()},
        related=related.pairs_of(db(), question.id),
    )


@bp.get("/q/<code>/v/<int:number>")
@roles_required(*BANK_ROLES)
def version_view(code: str, number: int):
    question = services.get_question(db(), code)
    version = next((v for v in question.versions if v.version == number), None)
    if version is None:
        from core.errors import NotFound

        raise NotFound(f"试题 {code} 没有第 {number} 版。")
    return render_template(
        "bank/view.html",
        question=question,
        version=version,
        cited=services.cited_articles(db(), version),
        history=list(reversed(question.versions)),
        audit=[],
        sources={s.id: s for s in _sources()},
    )


@bp.get("/related")
@roles_required(*BANK_ROLES)
def related_list():
    """关联题: every stored pair with its reason (auto-detected or an exclusion group)."""
    reason = request.args.get("reason") or None
    if reason and reason not in RELATION_REASON_LABELS:
        raise InvalidInput("未知的关联原因。")
    code = (request.args.get("code") or "").strip() or None
    page = related.related_page(
        db(), code=code, reason=reason, page=_int_arg("page", 1, 100000) or 1
    )
    return render_template(
        "bank/related.html",
        page=page,
        args={k: v for k, v in request.args.items() if k != "page" and v},
        summary=related.related_summary(db()),
        reason=reason,
        code=code,
        reason_labels=RELATION_REASON_LABELS,
    )


@bp.get("/lint")
@roles_required(*BANK_ROLES)
def lint():
    """Bank lint: answer cues named by question (what ``jifa bank lint`` prints)."""
    report = lint_bank(db())
    return render_template(
        "bank/lint.html",
        report=report,
        check_labels=CHECK_LABELS,
        severity_labels=SEVERITY_LABELS,
        source_names={s.code: s.name for s in _sources()},
    )


def _form_values() -> dict:
    return {h: request.form.get(h, "") for h in EXPORT_HEADERS[1:]}


def _edit_page(values: dict, *, question=None, errors=None, status: int = 200):
    return (
        render_template(
            "bank/edit.html",
            values=values,
            question=question,
            errors=errors or [],
            sources=_sources(),
            note=request.form.get("note", ""),
        ),
        status,
    )


@bp.route("/q/<code>/edit", methods=["GET", "POST"])
@roles_required(*BANK_ROLES)
def edit(code: str):
    question = services.get_question(db(), code)
    version = services.current_version(question)
    if request.method == "GET":
        values = row_values(RowContext(db()), question.code, question.status, version, question)
        return _edit_page(values, question=question)
    values = _form_values()
    try:
        data = services.parse_form(db(), values)
        new = services.edit_question(
            db(), question, data, actor=actor(), note=request.form.get("note") or None
        )
    except InvalidInput as exc:
        return _edit_page(
            values, question=question, errors=exc.details or [exc.message], status=422
        )
    flash(
        f"已保存为第 {new.version} 版。" if new.id != version.id else "内容未变化。",
        "info",
    )
    return redirect(url_for("bank.view", code=code))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*BANK_ROLES)
def new():
    if request.method == "GET":
        values = {h: "" for h in EXPORT_HEADERS[1:]} | {
            "题型": "单选",
            "难度": "3",
            "适用层级": "全部",
            "状态": "草稿",
        }
        return _edit_page(values)
    values = _form_values()
    try:
        data = services.parse_form(db(), values)
        question = services.create_question(db(), data, actor=actor())
    except InvalidInput as exc:
        return _edit_page(values, errors=exc.details or [exc.message], status=422)
    flash(f"已新建试题 {question.code}。", "info")
    return redirect(url_for("bank.view", code=question.code))


@bp.post("/q/<code>/retire")
@roles_required(*BANK_ROLES)
def retire(code: str):
    question = services.get_question(db(), code)
    services.retire_question(db(), question, actor=actor())
    flash(f"试题 {code} 已停用。", "info")
    return redirect(url_for("bank.view", code=code))


@bp.post("/q/<code>/activate")
@roles_required(*BANK_ROLES)
def activate(code: str):
    question = services.get_question(db(), code)
    services.set_status(db(), question, QuestionStatus.active.value, actor=actor())
    flash(f"试题 {code} 已启用。", "info")
    return redirect(url_for("bank.view", code=code))


@bp.post("/q/<code>/reserve")
@roles_required(*BANK_ROLES)
def reserve(code: str):
    """仅限考试 on/off (the form's ``reserved`` field: 1 or 0)."""
    reserved = request.form.get("reserved", "1") == "1"
    services.set_reserved(db(), [code], reserved, actor=actor())
    flash(f"试题 {code} 已{'设为仅限考试' if reserved else '取消仅限考试'}。", "info")
    return redirect(url_for("bank.view", code=code))


@bp.post("/q/<code>/reviewed")
@roles_required(*BANK_ROLES)
def reviewed(code: str):
    question = services.get_question(db(), code)
    services.clear_review(db(), question, actor=actor())
    flash("已标记为复核完毕。", "info")
    return redirect(url_for("bank.view", code=code))


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*BANK_ROLES)
def upload():
    if request.method == "GET":
        return render_template("bank/import.html", report=None)
    files = [f for f in request.files.getlist("file") if f and f.filename]
    if not files:
        raise InvalidInput("请选择要导入的 Excel 或 CSV 文件。")
    contents = [(f.filename, f.read()) for f in files]
    end_reads()  # the import parses before it writes: no write lock held meanwhile
    report = import_files(
        db(),
        contents,
        dry_run=bool(request.form.get("dry_run")),
        skip_invalid=bool(request.form.get("skip_invalid")),
        actor=actor(),
    )
    status = 200 if report.written or (report.dry_run and not report.rejected) else 422
    if report.dry_run and report.rejected:
        status = 422
    return render_template("bank/import.html", report=report), status


@bp.get("/export.xlsx")
@roles_required(*BANK_ROLES)
def export():
    status = request.args.get("status") or None
    if status and status not in STATUS_LABELS:
        raise InvalidInput("未知状态。")
    data = export_bytes(db(), status=status)
    stamp = utcnow().astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y%m%d-%H%M")
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=question-bank-{stamp}.xlsx"},
    )


@bp.get("/stats")
@roles_required(*BANK_ROLES)
def stats():
    return render_template(
        "bank/stats.html",
        stats=bank_stats(db()),
        verify=verify_citations(db()),
        types=[t.value for t in QuestionType],
    )


@bp.get("/laws")
@roles_required(*BANK_ROLES)
def laws():
    return render_template("bank/laws.html", sources=list_sources(db()))


@bp.get("/laws/<code>")
@roles_required(*BANK_ROLES)
def law(code: str):
    source = get_source(db(), code)
    return render_template(
        "bank/law.html", source=source, coverage=services.source_coverage(db(), source)
    )


@bp.post("/laws/<code>/import")
@roles_required(*BANK_ROLES)
def law_import(code: str):
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        raise InvalidInput("请选择法规文件（.docx、保存的网页、.md 或 .txt）。")
    try:
        revision = dt.date.fromisoformat(request.form.get("revision", ""))
    except ValueError as exc:
        raise InvalidInput("修订日期格式应为 YYYY-MM-DD。") from exc
    content = upload_file.read()
    end_reads()  # no write lock held while the file is parsed
    try:
        report = import_law(
            db(), code, revision, content, filename=upload_file.filename, actor=actor()
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("bank.law", code=code))
    flash(
        f"已导入 {report.articles} 条；新增 {len(report.added)}、删除 {len(report.removed)}、"
        f"修改 {len(report.changed)} 条；需复核试题 {len(report.flagged)} 道。",
        "info",
    )
    return redirect(url_for("bank.law", code=code))
