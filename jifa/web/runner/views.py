"""The exam runner: candidate pages under ``/exam`` and the JSON API under ``/api/v1``.

API question ids are ``PaperItem.id`` values (as returned in ``questions[].id`` by the
start call), not positions.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for

from core.db import utcnow
from core.errors import InvalidInput
from exam import attempts as svc
from jifa.web.access import client_ip, login_required
from jifa.web.database import db

bp = Blueprint("runner", __name__, template_folder="templates", url_prefix="/exam")
api = Blueprint("runner_api", __name__, url_prefix="/api/v1")


def _person_id() -> int:
    return g.person_id


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象。")
    return data


def _user_agent() -> str | None:
    return request.headers.get("User-Agent")


# ------------------------------------------------------------------ pages


@bp.get("/")
@login_required
def lobby():
    entries = svc.exams_for_person(db(), _person_id(), utcnow())
    return render_template("runner/lobby.html", entries=entries, now=utcnow())


@bp.get("/<int:exam_id>")
@login_required
def instructions(exam_id: int):
    entry = svc.lobby_entry(db(), exam_id, _person_id(), utcnow())
    return render_template("runner/instructions.html", entry=entry)


@bp.post("/<int:exam_id>/start")
@login_required
def start(exam_id: int):
    attempt = svc.start_or_resume(
        db(), exam_id, _person_id(), now=utcnow(), ip=client_ip(), user_agent=_user_agent()
    )
    return redirect(url_for("runner.paper", attempt_id=attempt.id))


@bp.get("/attempt/<int:attempt_id>")
@login_required
def paper(attempt_id: int):
    page = svc.paper_page(db(), attempt_id, _person_id(), utcnow())
    if page is None:
        return redirect(url_for("runner.result", attempt_id=attempt_id))
    return render_template("runner/paper.html", attempt=page, person=g.user.person)


@bp.get("/attempt/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    session = db()
    now = utcnow()
    attempt = svc.get_owned_attempt(session, attempt_id, _person_id())
    svc.finalize_if_expired(session, attempt, now)
    if attempt.status == svc.IN_PROGRESS:
        return redirect(url_for("runner.paper", attempt_id=attempt.id))
    return render_template(
        "runner/result.html", attempt=attempt, result=svc.result_payload(attempt, now)
    )


@bp.get("/attempt/<int:attempt_id>/review")
@login_required
def review(attempt_id: int):
    session = db()
    now = utcnow()
    attempt = svc.get_owned_attempt(session, attempt_id, _person_id())
    svc.finalize_if_expired(session, attempt, now)
    data = svc.review_payload(session, attempt, now)
    return render_template("runner/review.html", attempt=attempt, review=data)


# ------------------------------------------------------------------ JSON API


@api.get("/exams")
@login_required
def api_exams():
    entries = svc.exams_for_person(db(), _person_id(), utcnow())
    return jsonify({"ok": True, "exams": [e.as_dict() for e in entries]})


@api.post("/exams/<int:exam_id>/attempts")
@login_required
def api_start(exam_id: int):
    data = request.get_json(silent=True) or {}
    token = data.get("client_token") if isinstance(data, dict) else None
    now = utcnow()
    session = db()
    attempt = svc.start_or_resume(
        session,
        exam_id,
        _person_id(),
        now=now,
        client_token=str(token) if token else None,
        ip=client_ip(),
        user_agent=_user_agent(),
    )
    return jsonify({"ok": True, **svc.candidate_payload(session, attempt, now)})


@api.put("/attempts/<int:attempt_id>/answers/<int:question_id>")
@login_required
def api_save(attempt_id: int, question_id: int):
    result = svc.save_answer(
        db(), attempt_id, _person_id(), question_id, _json_body(), now=utcnow()
    )
    return jsonify({"ok": True, **result})


@api.post("/attempts/<int:attempt_id>/submit")
@login_required
def api_submit(attempt_id: int):
    now = utcnow()
    result = svc.submit(db(), attempt_id, _person_id(), now=now)
    return jsonify(
        {
            "ok": True,
            **result,
            "server_time": now.isoformat(),
            "result_url": url_for("runner.result", attempt_id=attempt_id),
        }
    )


@api.get("/attempts/<int:attempt_id>")
@login_required
def api_attempt(attempt_id: int):
    session = db()
    now = utcnow()
    attempt = svc.get_owned_attempt(session, attempt_id, _person_id())
    svc.finalize_if_expired(session, attempt, now)
    data = svc.status_payload(attempt, now, svc.saved_answers(session, attempt.id))
    if attempt.status == svc.SUBMITTED:
        data["result"] = svc.result_payload(attempt, now)
    return jsonify({"ok": True, **data})


@api.post("/attempts/<int:attempt_id>/events")
@login_required
def api_event(attempt_id: int):
    result = svc.record_event(
        db(),
        attempt_id,
        _person_id(),
        _json_body(),
        now=utcnow(),
        ip=client_ip(),
        user_agent=_user_agent(),
    )
    return jsonify({"ok": True, **result})
