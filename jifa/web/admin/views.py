"""Administration pages: org tree and roster, people, users and roles, initial
passwords and exam codes, exams (create, edit, enrol, open/close, extend, extra time,
papers), the live monitor, results, self-reported results and the audit log.

Scope: unit admins see and change only their subtree; analysts read everything;
admins do everything. Services enforce the scope; views only pass it on.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from core.accounts import services as accounts
from core.accounts.models import ROLE_LABELS, Role, RoleGrant, UserAccount
from core.audit import record
from core.db import utcnow
from core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from core.excel import SheetSpec, workbook_bytes
from core.org.models import RANK_LABELS, OrgUnit, Person
from core.org.services import full_name, tree_rows
from exam import admin as exams
from exam.models import Blueprint as ExamBlueprint
from exam.models import Exam, Participant
from jifa.web.access import actor, current_scope, roles_required
from jifa.web.database import db

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")
api = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin")

READ = ("admin", "unit_admin", "analyst")
WRITE = ("admin", "unit_admin")
CST = dt.timezone(dt.timedelta(hours=8))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024


# ---------------------------------------------------------------- helpers


def _can_see_contact() -> bool:
    """Contact details are for those who run the unit (admins, unit admins in scope)."""
    return bool(g.roles & {"admin", "unit_admin"})


def _can_write() -> bool:
    return bool(g.roles & set(WRITE))


@bp.app_context_processor
def _admin_helpers():
    return {
        "rank_labels": {r.value: label for r, label in RANK_LABELS.items()},
        "role_labels": {r.value: label for r, label in ROLE_LABELS.items()},
        "status_labels": exams.STATUS_LABELS,
        "mode_labels": exams.MODE_LABELS,
    }


def _scope_units() -> list[dict]:
    """Units the current user may act on, in tree order (with depth for indenting)."""
    scope = current_scope()
    if scope.everything:
        return tree_rows(db())
    rows: list[dict] = []
    for path in scope.unit_paths:
        root = db().get(OrgUnit, int(path.strip("/").split("/")[-1]))
        if root is not None:
            rows.extend(tree_rows(db(), root))
    return rows


def _unit_in_scope(code: str) -> OrgUnit:
    code = (code or "").strip()
    unit = db().scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"单位代码不存在：{code}")
    if not current_scope().covers_path(unit.path):
        raise PermissionDenied(f"单位「{unit.name}」不在您的管理范围内。")
    return unit


def _person_in_scope(person_no: str) -> Person:
    person = db().scalar(
        select(Person).where(Person.person_no == person_no).options(selectinload(Person.unit))
    )
    if person is None or not current_scope().covers_path(person.unit.path):
        raise NotFound("人员不存在或不在您的管理范围内。")
    return person


def _upload() -> tuple[bytes, str]:
    f = request.files.get("file")
    if f is None or not f.filename:
        raise InvalidInput("请选择要上传的文件（.xlsx 或 .csv）。")
    data = f.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("文件过大（上限 20 MB）。")
    return data, f.filename


def _download(data: bytes, filename: str, mimetype: str = XLSX):
    resp = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _parse_local(value: str | None, label: str) -> dt.datetime:
    """A ``datetime-local`` value in China time → aware UTC."""
    if not value:
        raise InvalidInput(f"请填写{label}。")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace(" ", "T"))
    except ValueError as exc:
        raise InvalidInput(f"{label}格式无效：{value}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(dt.UTC)


def _int(value: str | None, label: str, default: int | None = None) -> int:
    if value in (None, ""):
        if default is None:
            raise InvalidInput(f"请填写{label}。")
        return default
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise InvalidInput(f"{label}应为整数：{value}") from exc


def _float_or_none(value: str | None, label: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise InvalidInput(f"{label}应为数字：{value}") from exc


def _local_input(value: dt.datetime | None) -> str:
    return value.astimezone(CST).strftime("%Y-%m-%dT%H:%M") if value else ""


# ---------------------------------------------------------------- home and org


@bp.get("/")
@roles_required(*READ)
def index():
    scope = current_scope()
    exam_list = exams.list_exams(db(), scope)[:10]
    counts = exams.exam_counts(db(), [e.id for e in exam_list], scope)
    units = _scope_units()
    return render_template(
        "admin/index.html",
        exams=exam_list,
        counts=counts,
        unit_count=len(units),
        people_count=sum(u["direct"] for u in units),
    )


@bp.get("/org")
@roles_required(*READ)
def org_tree():
    return render_template("admin/org.html", units=_scope_units())


@bp.route("/org/import", methods=["GET", "POST"])
@roles_required(*WRITE)
def org_import():
    if request.method == "GET":
        return render_template("admin/org_import.html", report=None)
    from core.org.roster import import_org

    data, filename = _upload()
    report = import_org(
        db(),
        data,
        filename=filename,
        dry_run=bool(request.form.get("dry_run")),
        skip_invalid=bool(request.form.get("skip_invalid")),
        scope=current_scope(),
        actor=actor(),
        now=utcnow(),
    )
    status = 422 if report.errors and not report.written else 200
    if report.written:
        flash("导入完成。", "info")
    return render_template("admin/org_import.html", report=report), status


@bp.get("/org/template.xlsx")
@roles_required(*READ)
def org_template():
    from core.org.roster import ROSTER_HEADERS, TREE_HEADERS, tree_template_rows

    rows = tree_template_rows(db())
    if not current_scope().everything:
        codes = {u["code"] for u in _scope_units()}
        rows = [r for r in rows if r[0] in codes]
    data = workbook_bytes(
        [
            SheetSpec("组织树", TREE_HEADERS, rows),
            SheetSpec(
                "人员名册",
                ROSTER_HEADERS,
                [
                    [
                        "张三",
                        "T01-9999",
                        "城关镇/城关镇机关党支部",
                        "乡科级（正科）",
                        "是",
                        "科长",
                        "",
                    ]
                ],
            ),
        ]
    )
    return _download(data, "组织树与人员名册模板.xlsx")


# ---------------------------------------------------------------- people


def _people_query():
    scope = current_scope()
    stmt = (
        select(Person)
        .join(OrgUnit, Person.unit_id == OrgUnit.id)
        .options(selectinload(Person.unit).selectinload(OrgUnit.parent))
    )
    ids = accounts.unit_ids_in_scope(db(), scope)
    if ids is not None:
        stmt = stmt.where(Person.unit_id.in_(ids))
    unit_code = request.args.get("unit", "").strip()
    if unit_code:
        unit = _unit_in_scope(unit_code)
        stmt = stmt.where(OrgUnit.path.like(f"{unit.path}%"))
    q = request.args.get("q", "").strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Person.name.like(like), Person.person_no.like(like)))
    rank = request.args.get("rank", "").strip()
    if rank:
        stmt = stmt.where(Person.rank == rank)
    return stmt.order_by(OrgUnit.path, Person.person_no)


@bp.get("/people")
@roles_required(*READ)
def people():
    page = max(1, _int(request.args.get("page"), "页码", 1))
    per_page = 100
    stmt = _people_query()
    total = db().scalar(select(func.count()).select_from(stmt.subquery()))
    rows = list(db().scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return render_template(
        "admin/people.html",
        people=rows,
        total=total,
        page=page,
        pages=max(1, (total + per_page - 1) // per_page),
        units=_scope_units(),
        show_contact=_can_see_contact(),
        full_name=full_name,
    )


@bp.get("/people.xlsx")
@roles_required(*READ)
def people_export():
    show_contact = _can_see_contact()
    headers = ["人员编号", "姓名", "单位", "职级", "职级细分", "是否党员", "职务"]
    if show_contact:
        headers.append("联系方式")
    rows = []
    for p in db().scalars(_people_query()):
        row = [
            p.person_no,
            p.name,
            full_name(p.unit),
            p.rank_label,
            p.rank_detail,
            "是" if p.is_party_member else "否",
            p.position,
        ]
        if show_contact:
            row.append(p.contact)
        rows.append(row)
    record(db(), actor(), "export.people", "person", None, after={"rows": len(rows)})
    return _download(workbook_bytes([SheetSpec("人员名册", headers, rows)]), "人员名册.xlsx")


@bp.get("/people/<person_no>")
@roles_required(*READ)
def person_detail(person_no: str):
    person = _person_in_scope(person_no)
    account = db().scalar(
        select(UserAccount)
        .where(UserAccount.person_id == person.id)
        .options(selectinload(UserAccount.grants).selectinload(RoleGrant.unit))
    )
    history = exams.person_history(db(), person, scope=current_scope())
    return render_template(
        "admin/person.html",
        person=person,
        account=account,
        history=history,
        show_contact=_can_see_contact(),
        unit_name=full_name(person.unit),
    )


# ---------------------------------------------------------------- users and roles


@bp.get("/users")
@roles_required("admin")
def users():
    grants = (
        db()
        .execute(
            select(RoleGrant, UserAccount, Person)
            .join(UserAccount, RoleGrant.user_id == UserAccount.id)
            .join(Person, UserAccount.person_id == Person.id)
            .where(RoleGrant.role != Role.candidate.value)
            .options(selectinload(RoleGrant.unit))
            .order_by(RoleGrant.role, Person.person_no)
        )
        .all()
    )
    return render_template("admin/users.html", grants=grants, units=_scope_units())


@bp.post("/users/grant")
@roles_required("admin")
def user_grant():
    person = _person_in_scope(request.form.get("person_no", "").strip())
    role = request.form.get("role", "")
    unit_code = request.form.get("unit", "").strip()
    unit = _unit_in_scope(unit_code) if role == Role.unit_admin.value and unit_code else None
    account = accounts.ensure_account(db(), person)
    accounts.grant_role(db(), account, role, unit)
    record(
        db(),
        actor(),
        "account.grant",
        "user_account",
        account.id,
        after={"person_no": person.person_no, "role": role, "unit": unit.code if unit else None},
    )
    flash(f"已授予 {person.name}（{person.person_no}）角色：{ROLE_LABELS[Role(role)]}。", "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/revoke/<int:grant_id>")
@roles_required("admin")
def user_revoke(grant_id: int):
    grant = db().get(RoleGrant, grant_id)
    if grant is None:
        raise NotFound("授权不存在。")
    account = grant.user
    if account.id == g.user.id and grant.role == Role.admin.value:
        raise InvalidInput("不能撤销自己的系统管理员角色。")
    before = {
        "person_no": account.person.person_no,
        "role": grant.role,
        "unit": grant.unit.code if grant.unit else None,
    }
    account.grants.remove(grant)
    db().flush()
    record(db(), actor(), "account.revoke", "user_account", account.id, before=before)
    flash("已撤销授权。", "info")
    return redirect(url_for("admin.users"))


@bp.post("/people/<person_no>/logout")
@roles_required(*WRITE)
def person_logout(person_no: str):
    person = _person_in_scope(person_no)
    account = accounts.ensure_account(db(), person)
    accounts.force_logout(db(), account, actor=actor())
    flash(f"{person.name} 在所有设备上的登录已失效。", "info")
    return redirect(url_for("admin.person_detail", person_no=person_no))


# ---------------------------------------------------------------- passwords and codes


@bp.route("/credentials", methods=["GET", "POST"])
@roles_required(*WRITE)
def credentials():
    scope = current_scope()
    exam_list = [e for e in exams.list_exams(db(), scope) if e.status != "closed"]
    if request.method == "GET":
        return render_template("admin/credentials.html", units=_scope_units(), exams=exam_list)
    unit = _unit_in_scope(request.form.get("unit", ""))
    kind = request.form.get("kind", "password")
    fmt = request.form.get("format", "slips")
    people = accounts.people_of_unit(db(), unit)
    now = utcnow()
    exam_id = None
    if kind == "code":
        from exam.codes import issue_codes

        exam_ref = request.form.get("exam", "").strip()
        if exam_ref:
            exam = exams.get_exam(db(), _int(exam_ref, "考试"), scope)
            exam_id = exam.id
            enrolled = set(
                db().scalars(select(Participant.person_id).where(Participant.exam_id == exam.id))
            )
            people = [p for p in people if p.id in enrolled]
        days = _int(request.form.get("days"), "有效天数", 30)
        if not 1 <= days <= 365:
            raise InvalidInput("有效天数应在 1 到 365 之间。")
        issued = issue_codes(
            db(), people, now=now, exam_id=exam_id, valid_for=dt.timedelta(days=days), actor=actor()
        )
        expires = now + dt.timedelta(days=days)
    elif kind == "password":
        issued = accounts.issue_initial_passwords(
            db(),
            people,
            actor=actor(),
            now=now,
            reset_existing=bool(request.form.get("reset_existing")),
        )
        expires = None
    else:
        raise InvalidInput("请选择发放初始密码或考试码。")
    if not issued:
        raise InvalidInput(
            "没有需要发放的人员（已自行设置密码的人员和管理人员不会被重置，"
            "如需重置请勾选“同时重置已设置密码的人员”）。"
        )
    slips = [
        {"person_no": p.person_no, "name": p.name, "unit": full_name(p.unit), "secret": s}
        for p, s in issued
    ]
    if fmt == "xlsx":
        label = "考试码" if kind == "code" else "初始密码"
        headers = ["人员编号", "姓名", "单位", label, "说明"]
        note = "一次性使用" if kind == "code" else "首次登录后须修改密码"
        rows = [[s["person_no"], s["name"], s["unit"], s["secret"], note] for s in slips]
        return _download(
            workbook_bytes([SheetSpec(label, headers, rows)]), f"{unit.code}-{label}.xlsx"
        )
    resp = render_template(
        "admin/slips.html", slips=slips, kind=kind, unit=unit, expires=expires, now=now
    )
    return resp, 200, {"Cache-Control": "no-store"}


# ---------------------------------------------------------------- exams


@bp.get("/exams")
@roles_required(*READ)
def exam_list():
    scope = current_scope()
    status = request.args.get("status") or None
    rows = exams.list_exams(db(), scope, status=status)
    counts = exams.exam_counts(db(), [e.id for e in rows], scope)
    return render_template("admin/exams.html", exams=rows, counts=counts, status=status)


def _settings_from_form(form) -> exams.ExamSettings:
    return exams.ExamSettings(
        title=(form.get("title") or "").strip(),
        blueprint_id=_int(form.get("blueprint_id"), "组卷规则"),
        opens_at=_parse_local(form.get("opens_at"), "开放时间"),
        closes_at=_parse_local(form.get("closes_at"), "结束时间"),
        duration_minutes=_int(form.get("duration_minutes"), "考试时长"),
        grace_seconds=_int(form.get("grace_seconds"), "宽限时间", 30),
        pass_mark=_float_or_none(form.get("pass_mark"), "及格分"),
        max_attempts=_int(form.get("max_attempts"), "作答次数", 1),
        navigation=form.get("navigation") or "all",
        result_policy=form.get("result_policy") or "immediate",
        review_policy=form.get("review_policy") or "after_close",
        mode=form.get("mode") or "online",
        instructions=form.get("instructions") or "",
    )


def _blueprints():
    return list(
        db().scalars(select(ExamBlueprint).order_by(ExamBlueprint.code, ExamBlueprint.version))
    )


def _form_context(**extra):
    return {
        "blueprints": _blueprints(),
        "units": _scope_units(),
        "navigation_labels": exams.NAVIGATION_LABELS,
        "result_policy_labels": exams.RESULT_POLICY_LABELS,
        "review_policy_labels": exams.REVIEW_POLICY_LABELS,
        "to_input": _local_input,
        **extra,
    }


def _enrol_from_form(exam: Exam, form) -> exams.EnrolResult:
    units = [_unit_in_scope(c) for c in form.getlist("units") if c.strip()]
    ranks = form.getlist("ranks")
    people = [
        x.strip() for x in (form.get("people") or "").replace("，", ",").split(",") if x.strip()
    ]
    people = [y for x in people for y in x.split()]
    return exams.enrol(
        db(),
        exam,
        units=units,
        ranks=ranks,
        person_nos=people,
        scope=current_scope(),
        actor=actor(),
        now=utcnow(),
    )


@bp.route("/exams/new", methods=["GET", "POST"])
@roles_required(*WRITE)
def exam_new():
    if request.method == "GET":
        now = utcnow().astimezone(CST).replace(minute=0, second=0, microsecond=0)
        return render_template(
            "admin/exam_form.html",
            exam=None,
            defaults={
                "opens_at": (now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                "closes_at": (now + dt.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M"),
            },
            **_form_context(),
        )
    form = request.form
    owner = _unit_in_scope(form.get("owner_unit", ""))
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
    exam = exams.get_exam(db(), exam_id, scope)
    counts = exams.exam_counts(db(), [exam.id], scope)[exam.id]
    ids = accounts.unit_ids_in_scope(db(), scope)
    stmt = (
        select(Participant, Person)
        .join(Person, Participant.person_id == Person.id)
        .where(Participant.exam_id == exam.id)
        .order_by(Participant.unit_id, Person.person_no)
    )
    if ids is not None:
        stmt = stmt.where(Participant.unit_id.in_(ids))
    participants = db().execute(stmt.limit(500)).all()
    return render_template(
        "admin/exam.html",
        exam=exam,
        counts=counts,
        participants=participants,
        can_manage=_can_write() and exams.can_manage(exam, scope),
        units=_scope_units(),
        owner_name=full_name(exam.owner_unit),
        enrol_labels=exams.ENROL_LABELS,
        navigation_labels=exams.NAVIGATION_LABELS,
        result_policy_labels=exams.RESULT_POLICY_LABELS,
        review_policy_labels=exams.REVIEW_POLICY_LABELS,
    )


def _managed(exam_id: int) -> Exam:
    return exams.get_managed_exam(db(), exam_id, current_scope())


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
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.post("/exams/<int:exam_id>/enrol")
@roles_required(*WRITE)
def exam_enrol(exam_id: int):
    exam = _managed(exam_id)
    result = _enrol_from_form(exam, request.form)
    flash(f"新增考生 {result.added} 人，已在名单中 {result.already} 人。", "info")
    for p in result.problems:
        flash(p, "error")
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.post("/exams/<int:exam_id>/unenrol")
@roles_required(*WRITE)
def exam_unenrol(exam_id: int):
    exam = _managed(exam_id)
    person = _person_in_scope(request.form.get("person_no", ""))
    exams.remove_participant(db(), exam, person, scope=current_scope(), actor=actor(), now=utcnow())
    flash(f"已将 {person.name} 移出考生名单。", "info")
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.post("/exams/<int:exam_id>/papers")
@roles_required(*WRITE)
def exam_papers(exam_id: int):
    exam = _managed(exam_id)
    try:
        from exam.papers import generate_papers
    except ImportError:  # pragma: no cover - the papers area not installed
        raise NotFound("试卷生成功能尚未安装。") from None
    report = generate_papers(db(), exam, now=utcnow(), actor=actor())
    flash(
        f"已生成试卷 {report.get('generated', 0)} 份（已有 {report.get('existing', 0)} 份）。",
        "info",
    )
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.post("/exams/<int:exam_id>/open")
@roles_required(*WRITE)
def exam_open(exam_id: int):
    exam = _managed(exam_id)
    exams.open_exam(db(), exam, scope=current_scope(), actor=actor(), now=utcnow())
    flash("考试已开放。", "info")
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.post("/exams/<int:exam_id>/close")
@roles_required(*WRITE)
def exam_close(exam_id: int):
    exam = _managed(exam_id)
    exams.close_exam(db(), exam, scope=current_scope(), actor=actor(), now=utcnow())
    flash("考试已关闭。", "info")
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.post("/exams/<int:exam_id>/extend")
@roles_required(*WRITE)
def exam_extend(exam_id: int):
    exam = _managed(exam_id)
    until = _parse_local(request.form.get("until"), "新的结束时间")
    moved = exams.extend_window(
        db(),
        exam,
        until,
        scope=current_scope(),
        actor=actor(),
        now=utcnow(),
        reason=request.form.get("reason", "").strip(),
    )
    flash(f"结束时间已延长，{moved} 份作答的截止时间随之顺延。", "info")
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.post("/exams/<int:exam_id>/extra-time")
@roles_required(*WRITE)
def exam_extra_time(exam_id: int):
    exam = _managed(exam_id)
    person = _person_in_scope(request.form.get("person_no", "").strip())
    minutes = _int(request.form.get("minutes"), "分钟数")
    reason = request.form.get("reason", "")
    kw = {"scope": current_scope(), "actor": actor(), "now": utcnow()}
    if request.form.get("incident"):
        exams.extend_person_time(db(), exam, person, minutes, reason, **kw)
        flash(f"已为 {person.name} 当前作答延长 {minutes} 分钟。", "info")
    else:
        exams.set_extra_time(db(), exam, person, minutes, reason, **kw)
        flash(f"已为 {person.name} 设置延时 {minutes} 分钟。", "info")
    back = request.form.get("back")
    if back == "monitor":
        return redirect(url_for("admin.exam_monitor", exam_id=exam.id))
    return redirect(url_for("admin.exam_detail", exam_id=exam.id))


@bp.get("/exams/<int:exam_id>/monitor")
@roles_required(*READ)
def exam_monitor(exam_id: int):
    exam = exams.get_exam(db(), exam_id, current_scope())
    data = exams.monitor(db(), exam, scope=current_scope(), now=utcnow())
    return render_template(
        "admin/monitor.html",
        exam=exam,
        data=data,
        can_manage=_can_write() and exams.can_manage(exam, current_scope()),
    )


@api.get("/exams/<int:exam_id>/monitor")
@roles_required(*READ)
def api_monitor(exam_id: int):
    exam = exams.get_exam(db(), exam_id, current_scope())
    return jsonify({"ok": True, **exams.monitor(db(), exam, scope=current_scope(), now=utcnow())})


def _results_unit() -> OrgUnit | None:
    code = request.args.get("unit", "").strip()
    return _unit_in_scope(code) if code else None


@bp.get("/exams/<int:exam_id>/results")
@roles_required(*READ)
def exam_results(exam_id: int):
    exam = exams.get_exam(db(), exam_id, current_scope())
    data = exams.results(db(), exam, scope=current_scope(), unit=_results_unit())
    return render_template("admin/results.html", exam=exam, data=data, units=_scope_units())


@bp.get("/exams/<int:exam_id>/results.xlsx")
@roles_required(*READ)
def exam_results_export(exam_id: int):
    exam = exams.get_exam(db(), exam_id, current_scope())
    data = exams.results(db(), exam, scope=current_scope(), unit=_results_unit())
    record(db(), actor(), "export.results", "exam", exam.id, after={"rows": len(data["rows"])})
    return _download(workbook_bytes(exams.results_sheets(exam, data)), f"考试{exam.id}成绩.xlsx")


@api.get("/exams/<int:exam_id>/results")
@roles_required(*READ)
def api_results(exam_id: int):
    exam = exams.get_exam(db(), exam_id, current_scope())
    data = exams.results(db(), exam, scope=current_scope(), unit=_results_unit())
    for r in data["rows"]:
        r["submitted_at"] = r["submitted_at"].isoformat() if r["submitted_at"] else None
    return jsonify({"ok": True, **data})


@api.get("/people")
@roles_required(*READ)
def api_people():
    show_contact = _can_see_contact()
    rows = []
    for p in db().scalars(_people_query().limit(1000)):
        row = {
            "person_no": p.person_no,
            "name": p.name,
            "unit": p.unit.code,
            "rank": p.rank,
            "rank_detail": p.rank_detail,
        }
        if show_contact:
            row["contact"] = p.contact
        rows.append(row)
    return jsonify({"ok": True, "people": rows})


# ---------------------------------------------------------------- self-reported results


@bp.route("/self-reported", methods=["GET", "POST"])
@roles_required(*READ)
def self_reported():
    report = None
    status = 200
    if request.method == "POST":
        if not _can_write():
            raise PermissionDenied("您没有权限上传成绩。")
        data, filename = _upload()
        report = exams.import_self_reported(
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
    rows = exams.list_self_reported(db(), scope=current_scope())
    return render_template(
        "admin/self_reported.html", report=report, rows=rows, full_name=full_name
    ), status


@bp.get("/self-reported/template.xlsx")
@roles_required(*READ)
def self_reported_template():
    data = workbook_bytes(
        [
            SheetSpec(
                "自报成绩",
                exams.SELF_REPORTED_HEADERS,
                [["T01-0001", "张三", 92, 100, "2026-05-20", "城关镇纪法知识测试（纸笔）"]],
            )
        ]
    )
    return _download(data, "自报成绩模板.xlsx")


# ---------------------------------------------------------------- audit log


@bp.get("/audit")
@roles_required("admin")
def audit_log():
    from core.audit import AuditEntry

    args = request.args
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if args.get("action"):
        stmt = stmt.where(AuditEntry.action.like(f"{args['action'].strip()}%"))
    if args.get("entity_type"):
        stmt = stmt.where(AuditEntry.entity_type == args["entity_type"].strip())
    if args.get("entity_id"):
        stmt = stmt.where(AuditEntry.entity_id == args["entity_id"].strip())
    if args.get("actor"):
        stmt = stmt.where(AuditEntry.actor.like(f"%{args['actor'].strip()}%"))
    if args.get("since"):
        stmt = stmt.where(AuditEntry.at >= _parse_local(args["since"], "开始时间"))
    if args.get("until"):
        stmt = stmt.where(AuditEntry.at <= _parse_local(args["until"], "结束时间"))
    entries = list(db().scalars(stmt.limit(300)))
    return render_template("admin/audit.html", entries=entries)
