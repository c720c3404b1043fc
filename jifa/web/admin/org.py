"""Administration home, the org tree and roster import, and the people of the scope
(list, export, detail, log out everywhere)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for

from core.accounts import services as accounts
from core.audit import record
from core.db import utcnow
from core.excel import SheetSpec, workbook_bytes
from core.org.roster import ROSTER_HEADERS, TREE_HEADERS, import_org, tree_template_rows
from core.org.services import PeopleFilter, count_people, find_people, full_name
from exam.admin import access, exams, results
from jifa.web.access import actor, current_scope, roles_required
from jifa.web.admin.common import (
    READ,
    WRITE,
    api,
    bp,
    can_see_contact,
    download,
    int_field,
    person_in_scope,
    scope_units,
    unit_in_scope,
    upload,
)
from jifa.web.database import db

PER_PAGE = 100


@bp.get("/")
@roles_required(*READ)
def index():
    scope = current_scope()
    exam_list = access.list_visible_exams(db(), scope, limit=10)
    counts = exams.exam_counts(db(), [e.id for e in exam_list], scope)
    units = scope_units()
    return render_template(
        "admin/index.html",
        exams=exam_list,
        counts=counts,
        unit_count=len(units),
        people_count=sum(u["direct"] for u in units),
    )


# ---------------------------------------------------------------- org tree


@bp.get("/org")
@roles_required(*READ)
def org_tree():
    return render_template("admin/org.html", units=scope_units())


@bp.route("/org/import", methods=["GET", "POST"])
@roles_required(*WRITE)
def org_import():
    if request.method == "GET":
        return render_template("admin/org_import.html", report=None)
    data, filename = upload()
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
    rows = tree_template_rows(db())
    if not current_scope().everything:
        codes = {u["code"] for u in scope_units()}
        rows = [r for r in rows if r[0] in codes]
    example = ["张三", "T01-9999", "城关镇/城关镇机关党支部", "乡科级（正科）", "是", "科长", ""]
    data = workbook_bytes(
        [SheetSpec("组织树", TREE_HEADERS, rows), SheetSpec("人员名册", ROSTER_HEADERS, [example])]
    )
    return download(data, "组织树与人员名册模板.xlsx")


# ---------------------------------------------------------------- people


def _people_filter() -> PeopleFilter:
    """The listing's filter from the query string, inside the current scope."""
    unit_code = request.args.get("unit", "").strip()
    return PeopleFilter(
        within=current_scope().unit_ids,
        under=unit_in_scope(unit_code) if unit_code else None,
        text=request.args.get("q", "").strip(),
        rank=request.args.get("rank", "").strip(),
    )


@bp.get("/people")
@roles_required(*READ)
def people():
    page = max(1, int_field(request.args.get("page"), "页码", 1))
    f = _people_filter()
    total = count_people(db(), f)
    rows = find_people(db(), f, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template(
        "admin/people.html",
        people=rows,
        total=total,
        page=page,
        pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
        units=scope_units(),
        show_contact=can_see_contact(),
        full_name=full_name,
    )


@bp.get("/people.xlsx")
@roles_required(*READ)
def people_export():
    show_contact = can_see_contact()
    headers = ["人员编号", "姓名", "单位", "职级", "职级细分", "是否党员", "职务"]
    if show_contact:
        headers.append("联系方式")
    rows = []
    for p in find_people(db(), _people_filter()):
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
    return download(workbook_bytes([SheetSpec("人员名册", headers, rows)]), "人员名册.xlsx")


@api.get("/people")
@roles_required(*READ)
def api_people():
    show_contact = can_see_contact()
    rows = []
    for p in find_people(db(), _people_filter(), limit=1000):
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


@bp.get("/people/<person_no>")
@roles_required(*READ)
def person_detail(person_no: str):
    person = person_in_scope(person_no)
    return render_template(
        "admin/person.html",
        person=person,
        account=accounts.account_of(db(), person),
        history=results.person_history(db(), person, scope=current_scope()),
        show_contact=can_see_contact(),
        unit_name=full_name(person.unit),
    )


@bp.post("/people/<person_no>/logout")
@roles_required(*WRITE)
def person_logout(person_no: str):
    person = person_in_scope(person_no)
    account = accounts.ensure_account(db(), person)
    accounts.force_logout(db(), account, actor=actor())
    flash(f"{person.name} 在所有设备上的登录已失效。", "info")
    return redirect(url_for("admin.person_detail", person_no=person_no))
