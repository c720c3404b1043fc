"""Exams: the list, create and edit, enrolment, papers, and the window (open, close,
extend, extra time). Every exam is found through ``exam.admin.access``: an exam outside
the scope answers 404, one the user sees but may not change 403."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import flash, redirect, render_template, request, url_for

from core.db import utcnow
from core.errors import DomainError, NotFound
from core.org.services import full_name
from exam.admin import access, enrolment, exams, windows
from exam.models import Exam
from jifa.web.access import actor, current_scope, roles_required
from jifa.web.admin.common import (
    CST,
    READ,
    WRITE,
    bp,
    float_or_none,
    int_field,
    local_input,
    parse_local,
    person_in_scope,
    scope_units,
    unit_in_scope,
)
from jifa.web.database import db

PARTICIPANTS_SHOWN = 500


@bp.get("/exams")
@roles_required(*READ)
def exam_list():
    scope = current_scope()
    status = request.args.get("status") or None
    rows = access.list_visible_exams(db(), scope, status=status)
    counts = exams.exam_counts(db(), [e.id for e in rows], scope)
    return render_template("admin/exams.html", exams=rows, counts=counts, status=status)


def _settings_from_form(form) -> exams.ExamSettings:
    return exams.ExamSettings(
        title=(form.get("title") or "").strip(),
        blueprint_id=int_field(form.get("blueprint_id"), "组卷规则"),
        opens_at=parse_local(form.get("opens_at"), "开放时间"),
        closes_at=parse_local(form.get("closes_at"), "结束时间"),
        duration_minutes=int_field(form.get("duration_minutes"), "考试时长"),
        grace_seconds=int_field(form.get("grace_seconds"), "宽限时间", 30),
        pass_mark=float_or_none(form.get("pass_mark"), "及格分"),
        max_attempts=int_field(form.get("max_attempts"), "作答次数", 1),
        navigation=form.get("navigation") or "all",
        result_policy=form.get("result_policy") or "immediate",
        review_policy=form.get("review_policy") or "after_close",
        mode=form.get("mode") or "online",
        instructions=form.get("instructions") or "",
    )


def _form_context(**extra):
    return {
        "blueprints": exams.blueprint_choices(db()),
        "units": scope_units(),
        "navigation_labels": exams.NAVIGATION_LABELS,
        "result_policy_labels": exams.RESULT_POLICY_LABELS,
        "review_policy_labels": exams.REVIEW_POLICY_LABELS,
        "to_input": local_input,
        **extra,
    }


def _enrol_from_form(exam: Exam, form) -> enrolment.EnrolResult:
    units = [unit_in_scope(c) for c in form.getlist("units") if c.strip()]
    people = [
        x.strip() for x in (form.get("people") or "").replace("，", ",").split(",") if x.strip()
    ]
    return enrolment.enrol(
        db(),
        exam,
        units=units,
        ranks=form.getlist("ranks"),
        person_nos=[y for x in people for y in x.split()],
        scope=current_scope(),
        actor=actor(),
        now=utcnow(),
    )


@bp.route("/exams/new", methods=["GET", "POST"])
@roles_required(*WRITE)
def exam_new():
    if request.method == "GET":
        now = utcnow().astimezone(CST).replace(minute=0, second=0, microsecond=0)
        defaults = {
            "opens_at": (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M"),
        }
        return render_template(
            "admin/exam_form.html", exam=None, defaults=defaults, **_form_context()
        )
    form = request.form
    owner = unit_in_scope(form.get("owner_unit", ""))
    try:
        exam = exams.create_exam(
            db(),
            _settings_from_form(form),
            owner_unit=owner,
            seed=secrets.token_hex(16),
            scope=current_scope(),
            actor=actor(),
            now=utcnow(),
        )
        result = _enrol_from_form(exam, form)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_template(
            "admin/exam_form.html", exam=None, defaults=form, **_form_context()
        ), exc.status
    flash(f"考试已创建，报名 {result.added} 人。下一步：生成试卷，然后开放考试。", "info")
    for p in result.problems:
        flash(p, "error")
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.get("/exams/<int:exam_id>")
@roles_required(*READ)
def exam_detail(exam_id: int):
    scope = current_scope()
    exam = access.get_visible_exam(db(), exam_id, scope)
    return render_template(
        "admin/exam.html",
        exam=exam,
        counts=exams.exam_counts(db(), [exam.id], scope)[exam.id],
        participants=access.participants_in_scope(db(), exam, scope, limit=PARTICIPANTS_SHOWN),
        can_manage=access.can_manage(exam, scope),
        units=scope_units(),
        owner_name=full_name(exam.owner_unit),
        enrol_labels=exams.ENROL_LABELS,
        navigation_labels=exams.NAVIGATION_LABELS,
        result_policy_labels=exams.RESULT_POLICY_LABELS,
        review_policy_labels=exams.REVIEW_POLICY_LABELS,
    )


def _managed(exam_id: int) -> Exam:
    return access.get_managed_exam(db(), exam_id, current_scope())


def _back(exam: Exam):
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.route("/exams/<int:exam_id>/edit", methods=["GET", "POST"])
@roles_required(*WRITE)
def exam_edit(exam_id: int):
    exam = _managed(exam_id)
    if request.method == "GET":
        return render_template("admin/exam_form.html", exam=exam, defaults={}, **_form_context())
    try:
        exams.update_exam(
            db(),
            exam,
            _settings_from_form(request.form),
            scope=current_scope(),
            actor=actor(),
            now=utcnow(),
        )
    except DomainError as exc:
        db().rollback()
        flash(exc.message, "error")
        exam = _managed(exam_id)
        return render_template(
            "admin/exam_form.html", exam=exam, defaults=request.form, **_form_context()
        ), exc.status
    flash("考试设置已保存。", "info")
    return _back(exam)


@bp.post("/exams/<int:exam_id>/enrol")
@roles_required(*WRITE)
def exam_enrol(exam_id: int):
    exam = _managed(exam_id)
    result = _enrol_from_form(exam, request.form)
    flash(f"新增考生 {result.added} 人，已在名单中 {result.already} 人。", "info")
    for p in result.problems:
        flash(p, "error")
    return _back(exam)


@bp.post("/exams/<int:exam_id>/unenrol")
@roles_required(*WRITE)
def exam_unenrol(exam_id: int):
    exam = _managed(exam_id)
    person = person_in_scope(request.form.get("person_no", ""))
    enrolment.remove_participant(
        db(), exam, person, scope=current_scope(), actor=actor(), now=utcnow()
    )
    flash(f"已将 {person.name} 移出考生名单。", "info")
    return _back(exam)


@bp.post("/exams/<int:exam_id>/papers")
@roles_required(*WRITE)
def exam_papers(exam_id: int):
    exam = _managed(exam_id)
    try:
        from exam.papers.persist import generate_papers
    except ImportError:  # pragma: no cover - the papers area not installed
        raise NotFound("试卷生成功能尚未安装。") from None
    report = generate_papers(db(), exam, now=utcnow(), actor=actor())
    flash(
        f"已生成试卷 {report.get('generated', 0)} 份（已有 {report.get('existing', 0)} 份）。",
        "info",
    )
    return _back(exam)


@bp.post("/exams/<int:exam_id>/open")
@roles_required(*WRITE)
def exam_open(exam_id: int):
    exam = _managed(exam_id)
    windows.open_exam(db(), exam, scope=current_scope(), actor=actor(), now=utcnow())
    flash("考试已开放。", "info")
    return _back(exam)


@bp.post("/exams/<int:exam_id>/close")
@roles_required(*WRITE)
def exam_close(exam_id: int):
    exam = _managed(exam_id)
    windows.close_exam(db(), exam, scope=current_scope(), actor=actor(), now=utcnow())
    flash("考试已关闭。", "info")
    return _back(exam)


@bp.post("/exams/<int:exam_id>/release-review")
@roles_required(*WRITE)
def exam_release_review(exam_id: int):
    exam = _managed(exam_id)
    exams.release_review(db(), exam, scope=current_scope(), actor=actor(), now=utcnow())
    flash("已公布答案：考生现在可以查看答案与解析。", "info")
    return _back(exam)


@bp.post("/exams/<int:exam_id>/extend")
@roles_required(*WRITE)
def exam_extend(exam_id: int):
    exam = _managed(exam_id)
    moved = windows.extend_window(
        db(),
        exam,
        parse_local(request.form.get("until"), "新的结束时间"),
        scope=current_scope(),
        actor=actor(),
        now=utcnow(),
        reason=request.form.get("reason", "").strip(),
    )
    flash(f"结束时间已延长，{moved} 份作答的截止时间随之顺延。", "info")
    return _back(exam)


@bp.post("/exams/<int:exam_id>/extra-time")
@roles_required(*WRITE)
def exam_extra_time(exam_id: int):
    exam = _managed(exam_id)
    person = person_in_scope(request.form.get("person_no", ""))
    minutes = int_field(request.form.get("minutes"), "分钟数")
    reason = request.form.get("reason", "")
    kw = {"scope": current_scope(), "actor": actor(), "now": utcnow()}
    if request.form.get("incident"):
        windows.extend_person_time(db(), exam, person, minutes, reason, **kw)
        flash(f"已为 {person.name} 当前作答延长 {minutes} 分钟。", "info")
    else:
        windows.set_extra_time(db(), exam, person, minutes, reason, **kw)
        flash(f"已为 {person.name} 设置延时 {minutes} 分钟。", "info")
    if request.form.get("back") == "monitor":
        return redirect(url_for("admin.exam_monitor", exam_id=exam.id))
    return _back(exam)
