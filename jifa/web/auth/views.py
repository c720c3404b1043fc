"""Login (password or one-time exam code), logout and the password change."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf

from core.accounts import services as accounts
from core.accounts.models import UserAccount
from core.db import utcnow
from core.errors import DomainError, NotAuthenticated
from exam.admin.codes import redeem_code
from jifa.web.access import client_ip, policy, start_session
from jifa.web.database import db

bp = Blueprint("auth", __name__, template_folder="templates")
api = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth")


def _do_login(data) -> UserAccount:
    from flask import current_app

    now = utcnow()
    if data.get("exam_code"):
        try:
            account = redeem_code(db(), str(data["exam_code"]), now=now)
        except NotAuthenticated:
            accounts.record_failed_login(db(), "code", client_ip(), now)
            raise
    else:
        account = accounts.authenticate(
            db(),
            str(data.get("person_no") or ""),
            str(data.get("password") or ""),
            now=now,
            ip=client_ip(),
            policy=policy(current_app.config),
        )
    start_session(account)
    return account


def _commit_failure() -> None:
    """Failed logins must be counted even though the response is an error."""
    db().commit()


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        try:
            account = _do_login(request.form)
        except DomainError as exc:
            _commit_failure()
            flash(exc.message, "error")
            return render_template("auth/login.html"), exc.status
        if account.must_change_password:
            return redirect(url_for("auth.change_password"))
        return redirect(request.args.get("next") or url_for("main.index"))
    return render_template("auth/login.html")


@bp.post("/logout")
def logout():
    if request.form.get("everywhere") and g.user is not None:
        accounts.logout_everywhere(g.user)
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    if g.user is None:
        return redirect(url_for("auth.login", next=request.path))
    if request.method == "POST":
        current = request.form.get("current", "")
        new = request.form.get("new", "")
        if g.user.password_hash and not g.user.must_change_password:
            from werkzeug.security import check_password_hash

            if not check_password_hash(g.user.password_hash, current):
                flash("当前密码不正确。", "error")
                return render_template("auth/password.html"), 422
        if new != request.form.get("confirm", ""):
            flash("两次输入的新密码不一致。", "error")
            return render_template("auth/password.html"), 422
        try:
            accounts.set_password(db(), g.user, new)
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("auth/password.html"), exc.status
        accounts.logout_everywhere(g.user)
        session["sv"] = g.user.session_version
        flash("密码已修改。", "info")
        return redirect(url_for("main.index"))
    return render_template("auth/password.html")


@api.post("/login")
def api_login():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    try:
        account = _do_login(data)
    except DomainError:
        _commit_failure()
        raise
    return jsonify(
        {
            "ok": True,
            "csrf_token": generate_csrf(),
            "person_no": account.person.person_no,
            "name": account.person.name,
            "roles": sorted(g.roles),
            "must_change_password": account.must_change_password,
        }
    )


@api.post("/logout")
def api_logout():
    session.clear()
    return jsonify({"ok": True})


@api.get("/csrf")
def api_csrf():
    return jsonify({"ok": True, "csrf_token": generate_csrf()})
