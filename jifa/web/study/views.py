"""Study mode: pages under ``/study`` (law reader, practice with instant feedback, the
mistakes notebook, 每日一练, progress; the unit study report for unit admins) and the
JSON API under ``/api/v1/practice`` (cookie + CSRF token, as the runner's API).

Every learner works only with their own sessions, answers and notebook: another
person's session answers 404.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from analysis.study_results import unit_report, unit_report_xlsx
from core.db import utcnow
from core.errors import InvalidInput
from jifa.web.access import current_scope, login_required, roles_required
from jifa.web.database import db, reads_without_write_lock
from jifa.web.errors import json_reply
from study import practice, progress, reader

bp = Blueprint("study", __name__, template_folder="templates", url_prefix="/study")
api = Blueprint("practice_api", __name__, url_prefix="/api/v1/practice")

REPORT_ROLES = ("admin", "unit_admin", "analyst")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _person_id() -> int:
    return g.person_id


def _seed() -> int:
    return secrets.randbits(31)


# ------------------------------------------------------------------ pages


@bp.get("/")
@login_required
def index():
    now = utcnow()
    return render_template(
        "study/index.html",
        choices=practice.choices(db()),
        mine=progress.person_progress(db(), _person_id(), now),
        error=None,
    )


@bp.post("/start")
@login_required
def start():
    form = {
        k: request.form.get(k) for k in ("mode", "source", "knowledge_point", "difficulty", "size")
    }
    try:
        req = practice.parse_request(form)
        row = practice.start_session(db(), _person_id(), req, now=utcnow(), seed=_seed())
    except InvalidInput as exc:
        page = render_template(
            "study/index.html",
            choices=practice.choices(db()),
            mine=progress.person_progress(db(), _person_id(), utcnow()),
            error=exc.message,
        )
        return page, 422
    return redirect(url_for("study.question", session_id=row.id, number=1))


@bp.get("/s/<int:session_id>/<int:number>")
@login_required
def question(session_id: int, number: int):
    data = practice.page(db(), _person_id(), session_id, number)
    return render_template("study/question.html", page=data, error=None)


@bp.post("/s/<int:session_id>/<int:number>")
@login_required
def answer(session_id: int, number: int):
    data = practice.page(db(), _person_id(), session_id, number)
    q = data["question"]
    try:
        value = practice.answer_from_form(q["type"], request.form.to_dict(flat=False))
        practice.answer(db(), _person_id(), session_id, q["id"], {"answer": value}, now=utcnow())
    except InvalidInput as exc:
        return render_template("study/question.html", page=data, error=exc.message), 422
    return redirect(url_for("study.question", session_id=session_id, number=number) + "#feedback")


@bp.get("/s/<int:session_id>/done")
@login_required
def done(session_id: int):
    return render_template(
        "study/done.html", result=practice.summary(db(), _person_id(), session_id)
    )


@bp.get("/mistakes")
@login_required
def mistakes():
    return render_template(
        "study/mistakes.html", items=practice.mistakes(db(), _person_id(), utcnow())
    )


@bp.get("/progress")
@login_required
def my_progress():
    return render_template(
        "study/progress.html", mine=progress.person_progress(db(), _person_id(), utcnow())
    )


@bp.get("/laws")
@login_required
def laws():
    query = (request.args.get("q") or "").strip()
    hits = reader.search(db(), query) if query else None
    return render_template("study/laws.html", sources=reader.sources(db()), query=query, hits=hits)


@bp.get("/laws/<code>")
@login_required
def law(code: str):
    return render_template("study/law.html", law=reader.outline(db(), code))


@bp.get("/laws/<code>/<key>")
@login_required
def article(code: str, key: str):
    return render_template("study/article.html", data=reader.article(db(), code, key))


@bp.get("/units")
@roles_required(*REPORT_ROLES)
def units():
    report = unit_report(db(), current_scope(), now=utcnow(), weeks=_weeks())
    return render_template("study/units.html", report=report)


@bp.get("/units.xlsx")
@roles_required(*REPORT_ROLES)
def units_xlsx():
    report = unit_report(db(), current_scope(), now=utcnow(), weeks=_weeks())
    return Response(
        unit_report_xlsx(report),
        mimetype=XLSX,
        headers={"Content-Disposition": "attachment; filename=study-units.xlsx"},
    )


def _weeks() -> int:
    raw = request.args.get("weeks", "8")
    if not raw.isdigit() or not 1 <= int(raw) <= 52:
        raise InvalidInput("周数应为 1–52 的整数。")
    return int(raw)


# ------------------------------------------------------------------ JSON API


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象。")
    return data


@api.post("/sessions")
@login_required
def api_start():
    req = practice.parse_request(_json_body())
    row = practice.start_session(db(), _person_id(), req, now=utcnow(), seed=_seed())
    data = practice.session_payload(db(), row)
    body = {"ok": True, "session_id": data["session_id"], "mode": data["mode"],
            "questions": data["questions"]}  # fmt: skip
    return json_reply(body, 201)


@api.get("/sessions/<int:session_id>")
@login_required
def api_session(session_id: int):
    row = practice.owned_session(db(), session_id, _person_id())
    data = practice.session_payload(db(), row)
    data["answered"] = {str(k): v for k, v in data["answered"].items()}
    return json_reply({"ok": True, **data})


@api.put("/sessions/<int:session_id>/answers/<int:question_id>")
@login_required
def api_answer(session_id: int, question_id: int):
    body = request.get_json(silent=True)
    person_id = _person_id()
    with reads_without_write_lock() as session:
        checked = practice.check(session, person_id, session_id, question_id, body)
    result = practice.record(db(), checked, now=utcnow())
    return json_reply({"ok": True, **result})


@api.get("/mistakes")
@login_required
def api_mistakes():
    return json_reply({"ok": True, "items": practice.mistakes(db(), _person_id(), utcnow())})


@api.get("/progress")
@login_required
def api_progress():
    return json_reply({"ok": True, **progress.person_progress(db(), _person_id(), utcnow())})
