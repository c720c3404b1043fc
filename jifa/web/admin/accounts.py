"""Users and roles (admins only), and credentials for a unit: initial passwords or
one-time exam codes, printed as slips or downloaded as Excel. Role changes and code
issuance are the services ``jifa user`` uses too."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from core.accounts import roles
from core.accounts import services as accounts
from core.accounts.models import ROLE_LABELS, Role
from core.db import utcnow
from core.errors import InvalidInput
from core.excel import workbook_bytes
from core.org.services import full_name
from exam.admin import access, codes
from jifa.web.access import actor, current_scope, roles_required
from jifa.web.admin.common import (
    WRITE,
    bp,
    download,
    int_field,
    person_in_scope,
    scope_units,
    unit_in_scope,
)
from jifa.web.database import db


@bp.get("/users")
@roles_required("admin")
def users():
    return render_template("admin/users.html", grants=roles.staff_grants(db()), units=scope_units())


@bp.post("/users/grant")
@roles_required("admin")
def user_grant():
    person = person_in_scope(request.form.get("person_no", ""))
    role = request.form.get("role", "")
    unit_code = request.form.get("unit", "").strip()
    unit = unit_in_scope(unit_code) if role == Role.unit_admin.value and unit_code else None
    roles.grant(db(), person, role, unit, scope=current_scope(), actor=actor(), now=utcnow())
    flash(f"已授予 {person.name}（{person.person_no}）角色：{ROLE_LABELS[Role(role)]}。", "info")
    return redirect(url_for("admin.users"))


@bp.post("/users/revoke/<int:grant_id>")
@roles_required("admin")
def user_revoke(grant_id: int):
    roles.revoke_grant(db(), grant_id, scope=current_scope(), actor=actor(), now=utcnow())
    flash("已撤销授权。", "info")
    return redirect(url_for("admin.users"))


# ---------------------------------------------------------------- passwords and codes


@bp.route("/credentials", methods=["GET", "POST"])
@roles_required(*WRITE)
def credentials():
    scope = current_scope()
    if request.method == "GET":
        exam_list = [e for e in access.list_visible_exams(db(), scope) if e.status != "closed"]
        return render_template("admin/credentials.html", units=scope_units(), exams=exam_list)
    unit = unit_in_scope(request.form.get("unit", ""))
    kind = request.form.get("kind", "password")
    now = utcnow()
    if kind == "code":
        exam_ref = request.form.get("exam", "").strip()
        issued = codes.issue_unit_codes(
            db(),
            unit,
            exam_id=int_field(exam_ref, "考试") if exam_ref else None,
            days=int_field(request.form.get("days"), "有效天数", 30),
            scope=scope,
            actor=actor(),
            now=now,
        )
        slips, sheet, expires = issued.issued, codes.code_slip_sheet(issued), issued.expires_at
    elif kind == "password":
        slips = accounts.issue_unit_passwords(
            db(),
            unit,
            scope=scope,
            actor=actor(),
            now=now,
            reset_existing=bool(request.form.get("reset_existing")),
        )
        sheet, expires = accounts.password_slip_sheet(slips), None
    else:
        raise InvalidInput("请选择发放初始密码或考试码。")
    if not slips:
        raise InvalidInput(
            "没有需要发放的人员（已自行设置密码的人员和管理人员不会被重置，"
            "如需重置请勾选“同时重置已设置密码的人员”）。"
        )
    if request.form.get("format") == "xlsx":
        return download(workbook_bytes([sheet]), f"{unit.code}-{sheet.title}.xlsx")
    rows = [
        {"person_no": p.person_no, "name": p.name, "unit": full_name(p.unit), "secret": s}
        for p, s in slips
    ]
    page = render_template(
        "admin/slips.html", slips=rows, kind=kind, unit=unit, expires=expires, now=now
    )
    return page, 200, {"Cache-Control": "no-store"}
