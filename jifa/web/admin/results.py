"""The live monitor, results (page, workbook, JSON), self-reported results and the
audit log. Readers see only the people of their scope."""

from __future__ import annotations

from flask import flash, jsonify, render_template, request, url_for

from core.audit import record
from core.audit import search as audit_search
from core.db import utcnow
from core.excel import SheetSpec, workbook_bytes
from core.org.models import OrgUnit
from core.org.services import full_name
from exam.admin import access, monitor, results
from exam.admin import self_reported as reported
from exam.runner.review import score_sheet
from jifa.web.access import actor, current_scope, roles_required
from jifa.web.admin.common import (
    READ,
    api,
    bp,
    download,
    parse_local,
    person_in_scope,
    scope_units,
    unit_in_scope,
    upload,
)
from jifa.web.database import db

AUDIT_SHOWN = 300


def _visible(exam_id: int):
    return access.get_visible_exam(db(), exam_id, current_scope())


@bp.get("/exams/<int:exam_id>/monitor")
@roles_required(*READ)
def exam_monitor(exam_id: int):
    exam = _visible(exam_id)
    return render_template(
        "admin/monitor.html",
        exam=exam,
        data=monitor.monitor(db(), exam, scope=current_scope(), now=utcnow()),
        can_manage=access.can_manage(exam, current_scope()),
    )


@api.get("/exams/<int:exam_id>/monitor")
@roles_required(*READ)
def api_monitor(exam_id: int):
    exam = _visible(exam_id)
    data = monitor.monitor(db(), exam, scope=current_scope(), now=utcnow())
    return jsonify({"ok": True, **data})


def _results(exam_id: int):
    exam = _visible(exam_id)
    code = request.args.get("unit", "").strip()
    unit: OrgUnit | None = unit_in_scope(code) if code else None
    return exam, results.results(db(), exam, scope=current_scope(), unit=unit)


@bp.get("/exams/<int:exam_id>/results")
@roles_required(*READ)
def exam_results(exam_id: int):
    exam, data = _results(exam_id)
    return render_template("admin/results.html", exam=exam, data=data, units=scope_units())


@bp.get("/exams/<int:exam_id>/score-sheet/<person_no>")
@roles_required(*READ)
def exam_score_sheet(exam_id: int, person_no: str):
    exam = _visible(exam_id)
    person = person_in_scope(person_no)
    attempt = results.best_attempt(db(), exam, person, scope=current_scope())
    return render_template(
        "runner/score_sheet.html",
        attempt=attempt,
        sheet=score_sheet(db(), attempt, utcnow(), staff=True),
        printed_at=utcnow(),
        back_url=url_for("admin.exam_results", exam_id=exam.id),
    )


@bp.get("/exams/<int:exam_id>/results.xlsx")
@roles_required(*READ)
def exam_results_export(exam_id: int):
    exam, data = _results(exam_id)
    record(db(), actor(), "export.results", "exam", exam.id, after={"rows": len(data["rows"])})
    return download(workbook_bytes(results.results_sheets(exam, data)), f"考试{exam.id}成绩.xlsx")


@api.get("/exams/<int:exam_id>/results")
@roles_required(*READ)
def api_results(exam_id: int):
    _, data = _results(exam_id)
    for r in data["rows"]:
        r["submitted_at"] = r["submitted_at"].isoformat() if r["submitted_at"] else None
    return jsonify({"ok": True, **data})


# ---------------------------------------------------------------- self-reported results


@bp.route("/self-reported", methods=["GET", "POST"])
@roles_required(*READ)
def self_reported():
    report = None
    status = 200
    if request.method == "POST":
        data, filename = upload()
        report = reported.import_self_reported(
            db(),
            data,
            filename=filename,
            scope=current_scope(),
            actor=actor(),
            now=utcnow(),
            dry_run=bool(request.form.get("dry_run")),
            skip_invalid=bool(request.form.get("skip_invalid")),
        )
        if report.errors and not report.written:
            status = 422
        elif report.written:
            flash(f"已导入：新增 {report.created} 条，更新 {report.updated} 条。", "info")
    rows = reported.list_self_reported(db(), scope=current_scope())
    return render_template(
        "admin/self_reported.html", report=report, rows=rows, full_name=full_name
    ), status


@bp.get("/self-reported/template.xlsx")
@roles_required(*READ)
def self_reported_template():
    example = ["T01-0001", "张三", 92, 100, "2026-05-20", "城关镇纪法知识测试（纸笔）"]
    sheet = SheetSpec("自报成绩", reported.SELF_REPORTED_HEADERS, [example])
    return download(workbook_bytes([sheet]), "自报成绩模板.xlsx")


# ---------------------------------------------------------------- audit log


@bp.get("/audit")
@roles_required("admin")
def audit_log():
    args = request.args
    entries = audit_search(
        db(),
        action=args.get("action", "").strip() or None,
        entity_type=args.get("entity_type", "").strip() or None,
        entity_id=args.get("entity_id", "").strip() or None,
        actor=args.get("actor", "").strip() or None,
        since=parse_local(args["since"], "开始时间") if args.get("since") else None,
        until=parse_local(args["until"], "结束时间") if args.get("until") else None,
        limit=AUDIT_SHOWN,
    )
    return render_template("admin/audit.html", entries=entries)
