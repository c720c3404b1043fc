"""Blueprints (组卷规则), the pool check, paper generation, printable papers and keys,
Excel exports and offline answer-sheet upload. Thin views over ``exam.papers``.

Blueprints are managed by admins and analysts; the exam pages are open to unit admins
for exams owned by a unit in their scope (``exam.admin.access.get_owned_exam``: an exam
they do not see at all answers 404).
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask import Response as FlaskResponse

from core.accounts.scope import unit_in_scope
from core.db import utcnow
from core.errors import InvalidInput, NotFound
from core.excel import workbook_bytes
from exam.admin import access
from exam.admin.exams import get_blueprint_row
from exam.models import Blueprint as BlueprintRow
from exam.models import Exam
from exam.papers import answer_sheets, printable
from exam.papers import blueprints as bps
from exam.papers import persist as papers
from exam.papers import spec as bp_spec
from jifa.app.printing import render_papers
from jifa.web.access import actor, current_scope, roles_required
from jifa.web.database import db, end_reads
from question_bank.sources import sources_in_order

bp = Blueprint("papers", __name__, template_folder="templates", url_prefix="/papers")

BLUEPRINT_ROLES = ("admin", "analyst")
EXAM_ROLES = ("admin", "analyst", "unit_admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _blueprint_row(blueprint_id: int) -> BlueprintRow:
    return get_blueprint_row(db(), blueprint_id)


def _exam(exam_id: int) -> Exam:
    return access.get_owned_exam(db(), exam_id, current_scope())


def _managed_exam(exam_id: int) -> Exam:
    return access.get_managed_exam(db(), exam_id, current_scope())


def _visible_exams() -> list[Exam]:
    return access.list_visible_exams(db(), current_scope(), owned_only=True, limit=200)


# ---------------------------------------------------------------- index


@bp.get("/")
@roles_required(*EXAM_ROLES)
def index():
    can_edit = bool(g.roles & set(BLUEPRINT_ROLES))
    blueprints = bps.list_blueprints(db()) if can_edit else []
    return render_template(
        "papers/index.html",
        blueprints=blueprints,
        exams=_visible_exams(),
        can_edit=can_edit,
        tier_labels=bp_spec.TIER_LABELS,
    )


# ---------------------------------------------------------------- blueprints


def _form_context(data: dict | None = None, errors=None, row=None):
    sources = sources_in_order(db())
    data = data or {
        "code": "",
        "name": "",
        "tier": "all",
        "pass_mark": 60,
        "target_difficulty": 3,
        "difficulty_tolerance": 0.3,
        "source_shares": {},
        "difficulty_shares": {},
        "required_knowledge_points": [],
        "sections": [],
    }
    sections = {s["type"]: s for s in data.get("sections") or []}
    return {
        "data": data,
        "sections": sections,
        "types": bp_spec.TYPES,
        "type_labels": bp_spec.TYPE_LABELS,
        "sources": sources,
        "bands": list(bp_spec.DEFAULT_BANDS),
        "band_labels": bp_spec.BAND_LABELS,
        "tiers": bp_spec.TIERS,
        "tier_labels": bp_spec.TIER_LABELS,
        "errors": errors or [],
        "row": row,
    }


def _form_to_dict(form) -> dict:
    sections = []
    for t in bp_spec.TYPES:
        count = (form.get(f"count_{t}") or "").strip()
        if not count or count == "0":
            continue
        section = {"type": t, "count": count, "points": (form.get(f"points_{t}") or "").strip()}
        if t == "multiple":
            section["policy"] = form.get("policy_multiple") or "all_or_nothing"
            if section["policy"] == "partial":
                section["partial_fraction"] = form.get("partial_fraction") or 0.5
        sections.append(section)
    source_shares = {
        k[len("share_") :]: v.strip()
        for k, v in form.items()
        if k.startswith("share_") and v.strip() not in ("", "0")
    }
    band_shares = {
        k[len("band_") :]: v.strip()
        for k, v in form.items()
        if k.startswith("band_") and v.strip() not in ("", "0")
    }
    return {
        "code": (form.get("code") or "").strip(),
        "name": (form.get("name") or "").strip(),
        "tier": form.get("tier") or "all",
        "pass_mark": (form.get("pass_mark") or "").strip() or None,
        "total_points": None,
        "target_difficulty": (form.get("target_difficulty") or "").strip() or None,
        "difficulty_tolerance": (form.get("difficulty_tolerance") or "").strip() or None,
        "source_shares": source_shares or None,
        "difficulty_shares": band_shares or None,
        "required_knowledge_points": form.get("required_knowledge_points") or "",
        "reserved_only": form.get("reserved_only") == "1",
        "sections": sections,
    }


@bp.route("/blueprints/new", methods=["GET", "POST"])
@roles_required(*BLUEPRINT_ROLES)
def blueprint_new():
    if request.method == "POST":
        data = _form_to_dict(request.form)
        try:
            row = bps.save_blueprint(db(), bps.validate(db(), data), actor=actor(), now=utcnow())
        except InvalidInput as exc:
            return render_template(
                "papers/blueprint_form.html", **_form_context(data, exc.details or [exc.message])
            ), 422
        flash(f"已保存组卷规则 {row.code} 第{row.version}版。", "info")
        return redirect(url_for("papers.blueprint_show", blueprint_id=row.id))
    return render_template("papers/blueprint_form.html", **_form_context())


@bp.route("/blueprints/<int:blueprint_id>/edit", methods=["GET", "POST"])
@roles_required(*BLUEPRINT_ROLES)
def blueprint_edit(blueprint_id: int):
    row = _blueprint_row(blueprint_id)
    if request.method == "POST":
        data = _form_to_dict(request.form)
        data["code"] = row.code  # editing makes the next version of the same code
        try:
            new = bps.save_blueprint(db(), bps.validate(db(), data), actor=actor(), now=utcnow())
        except InvalidInput as exc:
            return render_template(
                "papers/blueprint_form.html",
                **_form_context(data, exc.details or [exc.message], row),
            ), 422
        flash(f"已保存为 {new.code} 第{new.version}版；已生成的试卷仍使用原版本。", "info")
        return redirect(url_for("papers.blueprint_show", blueprint_id=new.id))
    data = bp_spec.editable_dict(bp_spec.spec_of(row))
    return render_template("papers/blueprint_form.html", **_form_context(data, row=row))


@bp.get("/blueprints/<int:blueprint_id>")
@roles_required(*BLUEPRINT_ROLES)
def blueprint_show(blueprint_id: int):
    row = _blueprint_row(blueprint_id)
    return render_template(
        "papers/blueprint.html",
        row=row,
        spec=row.spec,
        versions=bps.versions_of(db(), row.code),
        names=bps.source_names(db()),
        type_labels=bp_spec.TYPE_LABELS,
        band_labels=bp_spec.BAND_LABELS,
        tier_labels=bp_spec.TIER_LABELS,
        policy_labels=bp_spec.POLICY_LABELS,
    )


@bp.post("/blueprints/<int:blueprint_id>/copy")
@roles_required(*BLUEPRINT_ROLES)
def blueprint_copy(blueprint_id: int):
    row = _blueprint_row(blueprint_id)
    new = bps.copy_blueprint(
        db(),
        row,
        (request.form.get("new_code") or "").strip(),
        name=(request.form.get("name") or "").strip() or None,
        actor=actor(),
        now=utcnow(),
    )
    flash(f"已复制为 {new.code}。", "info")
    return redirect(url_for("papers.blueprint_show", blueprint_id=new.id))


@bp.post("/blueprints/import")
@roles_required(*BLUEPRINT_ROLES)
def blueprint_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("请选择要导入的 YAML 或 Excel 文件。")
    content = upload.read()
    end_reads()  # no write lock held while the file is parsed
    row = bps.import_blueprint(db(), content, upload.filename, actor=actor(), now=utcnow())
    flash(f"已导入组卷规则 {row.code} 第{row.version}版。", "info")
    return redirect(url_for("papers.blueprint_show", blueprint_id=row.id))


@bp.get("/blueprints/<int:blueprint_id>/check")
@roles_required(*BLUEPRINT_ROLES)
def blueprint_check(blueprint_id: int):
    row = _blueprint_row(blueprint_id)
    report = papers.check_pool(db(), row)
    return render_template("papers/check.html", report=report, exam=None, row=row)


# ---------------------------------------------------------------- exams


@bp.get("/exams/<int:exam_id>")
@roles_required(*EXAM_ROLES)
def exam_view(exam_id: int):
    exam = _exam(exam_id)
    scope = current_scope()
    return render_template(
        "papers/exam.html",
        exam=exam,
        counts=papers.paper_counts(db(), exam, scope),
        units=access.enrolled_units(db(), exam, scope),
        keys_locked=printable.keys_locked(exam, utcnow()),
        can_manage=access.can_manage(exam, scope),
    )


@bp.get("/exams/<int:exam_id>/check")
@roles_required(*EXAM_ROLES)
def exam_check(exam_id: int):
    exam = _exam(exam_id)
    report = papers.check_pool(db(), exam)
    return render_template("papers/check.html", report=report, exam=exam, row=exam.blueprint)


@bp.post("/exams/<int:exam_id>/generate")
@roles_required(*EXAM_ROLES)
def exam_generate(exam_id: int):
    exam = _managed_exam(exam_id)
    report = papers.generate_papers(
        db(),
        exam,
        now=utcnow(),
        regenerate=bool(request.form.get("regenerate")),
        actor=actor(),
    )
    stats = report.get("stats") or {}
    message = f"本次生成 {report['generated']} 份试卷。"
    if stats:
        message += (
            f" 题目使用次数 {stats['exposure_min']}–{stats['exposure_max']}，"
            f"平均难度 {stats['difficulty_min']}–{stats['difficulty_max']}。"
        )
    flash(message, "info")
    return redirect(url_for("papers.exam_view", exam_id=exam.id))


def _selected_papers(exam: Exam, *, output: str, key: bool):
    """The papers of the request's selection in the viewer's scope (audited)."""
    unit = None
    person_ids = None
    if request.args.get("unit"):
        unit = unit_in_scope(db(), current_scope(), request.args["unit"])
    if request.args.get("person"):
        person = request.args["person"]
        if not person.isdigit() or len(person) > 18:
            raise InvalidInput("考生参数无效。")
        person_ids = [int(person)]
    return printable.papers_for_output(
        db(),
        exam,
        output=output,
        key=key,
        scope=current_scope(),
        actor=actor(),
        now=utcnow(),
        person_ids=person_ids,
        unit=unit,
    )


@bp.get("/exams/<int:exam_id>/print")
@roles_required(*EXAM_ROLES)
def exam_print(exam_id: int):
    exam = _exam(exam_id)
    key = request.args.get("key") == "1"
    selected = _selected_papers(exam, output="print", key=key)
    if not selected:
        raise NotFound("没有可打印的试卷：请先生成试卷，或检查所选单位/考生。")
    html = render_papers(
        exam.title,
        selected,
        key=key,
        back_url=url_for("papers.exam_view", exam_id=exam.id),
        script_url=url_for("static", filename="app.js"),
    )
    return FlaskResponse(html, mimetype="text/html")


@bp.get("/exams/<int:exam_id>/export.xlsx")
@roles_required(*EXAM_ROLES)
def exam_export(exam_id: int):
    exam = _exam(exam_id)
    # the workbook always carries the key sheet (答案)
    data = workbook_bytes(printable.export_sheets(_selected_papers(exam, output="export", key=True)))
    return FlaskResponse(
        data,
        mimetype=XLSX,
        headers={"Content-Disposition": f"attachment; filename=papers-{exam.id}.xlsx"},
    )


@bp.post("/exams/<int:exam_id>/answers")
@roles_required(*EXAM_ROLES)
def exam_import_answers(exam_id: int):
    exam = _managed_exam(exam_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("请选择要导入的答题卡文件（.xlsx 或 .csv）。")
    content = upload.read()
    end_reads()  # the import parses before it writes: no write lock held meanwhile
    report = answer_sheets.import_answer_sheets(
        db(),
        exam,
        content,
        upload.filename,
        scope=current_scope(),
        now=utcnow(),
        actor=actor(),
        dry_run=bool(request.form.get("dry_run")),
        skip_invalid=bool(request.form.get("skip_invalid")),
    )
    status = 422 if report["errors"] and not request.form.get("skip_invalid") else 200
    return render_template("papers/import_result.html", exam=exam, report=report), status
