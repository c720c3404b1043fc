"""The exam runner: candidate pages under ``/exam`` and the JSON API under ``/api/v1``.

API question ids are ``PaperItem.id`` values (as returned in ``questions[].id`` by the
start call), not positions. The paper's replies (start, status) carry an ``autosave``
block, ``{"url", "token", "header"}``, for the lean autosave route
(``jifa.web.runner.autosave``) when it is mounted; the Flask save route below serves
API clients with the session cookie and a CSRF token, by the same rule.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from flask import session as cookie_session

from core.db import utcnow
from core.errors import InvalidInput
from exam.runner import autosave
from exam.runner.events import record_event
from exam.runner.helpers import IN_PROGRESS, SUBMITTED, get_owned_attempt
from exam.runner.lobby import exams_for_person, lobby_entry
from exam.runner.payloads import candidate_payload, paper_page, saved_answers, status_payload
from exam.runner.review import result_details, result_payload, review_payload, score_sheet
from exam.runner.start import start_or_resume
from exam.runner.submit import finalize_if_expired, submit
from jifa.web.access import client_ip, login_required, require_code_exam
from jifa.web.database import db
from jifa.web.errors import json_reply
from jifa.web.runner.autosave import TOKEN_HEADER, autosave_url

bp = Blueprint("runner", __name__, template_folder="templates", url_prefix="/exam")
api = Blueprint("runner_api", __name__, url_prefix="/api/v1")


@bp.before_request
@api.before_request
def _code_session_reaches_its_exam_only():
    """A session opened with an exam code reaches that exam and its attempts only."""
    if g.get("code_exam_id") is None or not request.view_args:
        return
    exam_id = request.view_args.get("exam_id")
    attempt_id = request.view_args.get("attempt_id")
    if exam_id is None and attempt_id is not None:
        exam_id = get_owned_attempt(db(), attempt_id, _person_id()).exam_id
    if exam_id is not None:
        require_code_exam(exam_id)


def _person_id() -> int:
    return g.person_id


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象。")
    return data


def _user_agent() -> str | None:
    return request.headers.get("User-Agent")


def _code_filter(entries: list) -> list:
    """An exam-code session lists only the code's exam."""
    code_exam = g.get("code_exam_id")
    if code_exam is None:
        return entries
    return [e for e in entries if e.exam.id == code_exam]


def _claim() -> autosave.AccountClaim:
    return autosave.AccountClaim(g.uid, cookie_session.get("sv", -1))


def _autosave_route(attempt_id: int) -> dict:
    """Where and how the paper page sends its saves: the lean route with a token for
    this attempt, when it is mounted (``JIFA_FAST_AUTOSAVE``)."""
    lean = current_app.extensions.get("jifa_autosave")
    if lean is None:
        return {}
    claim = _claim()
    token = lean.tokens.issue(attempt_id, claim.user_id, claim.session_version)
    return {"autosave": {"url": autosave_url(attempt_id), "token": token, "header": TOKEN_HEADER}}


# ------------------------------------------------------------------ pages


@bp.get("/")
@login_required
def lobby():
    entries = _code_filter(exams_for_person(db(), _person_id(), utcnow()))
    return render_template("runner/lobby.html", entries=entries, now=utcnow())


@bp.get("/<int:exam_id>")
@login_required
def instructions(exam_id: int):
    entry = lobby_entry(db(), exam_id, _person_id(), utcnow())
    return render_template("runner/instructions.html", entry=entry)


@bp.post("/<int:exam_id>/start")
@login_required
def start(exam_id: int):
    attempt = start_or_resume(
        db(), exam_id, _person_id(), now=utcnow(), ip=client_ip(), user_agent=_user_agent()
    )
    return redirect(url_for("runner.paper", attempt_id=attempt.id))


@bp.get("/attempt/<int:attempt_id>")
@login_required
def paper(attempt_id: int):
    page = paper_page(db(), attempt_id, _person_id(), utcnow())
    if page is None:
        return redirect(url_for("runner.result", attempt_id=attempt_id))
    return render_template("runner/paper.html", attempt=page, person=g.user.person)


def _ended_attempt(session, attempt_id: int, now):
    """The person's own attempt, finalised first if its time ran out."""
    attempt = get_owned_attempt(session, attempt_id, _person_id())
    finalize_if_expired(session, attempt, now)
    return attempt


@bp.get("/attempt/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    session, now = db(), utcnow()
    attempt = _ended_attempt(session, attempt_id, now)
    if attempt.status == IN_PROGRESS:
        return redirect(url_for("runner.paper", attempt_id=attempt.id))
    return render_template(
        "runner/result.html", attempt=attempt, result=result_details(session, attempt, now)
    )


@bp.get("/attempt/<int:attempt_id>/review")
@login_required
def review(attempt_id: int):
    session, now = db(), utcnow()
    attempt = _ended_attempt(session, attempt_id, now)
    only_wrong = request.args.get("only") == "wrong"
    data = review_payload(session, attempt, now, only_wrong=only_wrong)
    return render_template("runner/review.html", attempt=attempt, review=data)


@bp.get("/attempt/<int:attempt_id>/score-sheet")
@login_required
def score_sheet_page(attempt_id: int):
    session, now = db(), utcnow()
    attempt = _ended_attempt(session, attempt_id, now)
    if attempt.status == IN_PROGRESS:
        return redirect(url_for("runner.paper", attempt_id=attempt.id))
    return render_template(
        "runner/score_sheet.html",
        attempt=attempt,
        sheet=score_sheet(session, attempt, now),
        printed_at=now,
    )


# ------------------------------------------------------------------ JSON API


@api.get("/exams")
@login_required
def api_exams():
    entries = _code_filter(exams_for_person(db(), _person_id(), utcnow()))
    return jsonify({"ok": True, "exams": [e.as_dict() for e in entries]})


@api.post("/exams/<int:exam_id>/attempts")
@login_required
def api_start(exam_id: int):
    data = request.get_json(silent=True) or {}
    token = data.get("client_token") if isinstance(data, dict) else None
    now = utcnow()
    session = db()
    attempt = start_or_resume(
        session,
        exam_id,
        _person_id(),
        now=now,
        client_token=str(token) if token else None,
        ip=client_ip(),
        user_agent=_user_agent(),
    )
    data = candidate_payload(session, attempt, now)
    return jsonify({"ok": True, **data, **_autosave_route(attempt.id)})


@api.put("/attempts/<int:attempt_id>/answers/<int:question_id>")
@login_required
def api_save(attempt_id: int, question_id: int):
    """The same save as the lean route, for API clients with cookie and CSRF token."""
    if (request.content_length or 0) > autosave.MAX_SAVE_BODY:
        raise autosave.BodyTooLarge
    if len(request.get_data(cache=True)) > autosave.MAX_SAVE_BODY:  # chunked
        raise autosave.BodyTooLarge
    body = request.get_json(silent=True)
    result = autosave.save_in_session(db(), _claim(), attempt_id, question_id, body, now=utcnow())
    return json_reply({"ok": True, **result})


@api.post("/attempts/<int:attempt_id>/submit")
@login_required
def api_submit(attempt_id: int):
    now = utcnow()
    body = request.get_json(silent=True)
    reason = body.get("reason") if isinstance(body, dict) else None
    result = submit(db(), attempt_id, _person_id(), now=now, reason=reason)
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
    attempt = get_owned_attempt(session, attempt_id, _person_id())
    finalize_if_expired(session, attempt, now)
    data = status_payload(attempt, now, saved_answers(session, attempt.id))
    if attempt.status == SUBMITTED:
        data["result"] = result_payload(attempt, now)
    else:
        data.update(_autosave_route(attempt.id))
    return jsonify({"ok": True, **data})


@api.post("/attempts/<int:attempt_id>/events")
@login_required
def api_event(attempt_id: int):
    result = record_event(
        db(),
        attempt_id,
        _person_id(),
        _json_body(),
        now=utcnow(),
        ip=client_ip(),
        user_agent=_user_agent(),
    )
    return jsonify({"ok": True, **result})
