"""Login, logout and the access decorators used by every view."""

from __future__ import annotations

import functools

from flask import (
    Blueprint,
    Flask,
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
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exam.codes import redeem_code
from jifa.accounts import services as accounts
from jifa.accounts.models import UserAccount
from jifa.db import utcnow
from jifa.errors import DomainError, NotAuthenticated, PermissionDenied
from jifa.web.database import db, is_api_request

bp = Blueprint("auth", __name__)
api = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth")


def init_app(app: Flask) -> None:
    app.before_request(_load_user)

    @app.context_processor
    def _inject():
        return {"current_user": g.get("user"), "user_roles": g.get("roles", set())}


def _load_user() -> None:
    g.user = None
    g.roles = set()
    uid = session.get("uid")
    if uid is None:
        return
    account = db().scalar(
        select(UserAccount)
        .where(UserAccount.id == uid)
        .options(selectinload(UserAccount.grants), selectinload(UserAccount.person))
    )
    if account is None or not account.is_active or session.get("sv") != account.session_version:
        session.clear()
        return
    g.user = account
    g.roles = accounts.roles_of(account)


def _policy(app_config) -> accounts.ThrottlePolicy:
    return accounts.ThrottlePolicy(
        max_failures=int(app_config["LOGIN_MAX_FAILURES"]),
        window_seconds=int(app_config["LOGIN_WINDOW_SECONDS"]),
        lockout_seconds=int(app_config["LOGIN_LOCKOUT_SECONDS"]),
    )


def client_ip() -> str | None:
    # Behind a reverse proxy, configure ProxyFix so remote_addr is the client's.
    return request.remote_addr


def actor():
    """The ``Actor`` for audit records of the current request."""
    from jifa.audit import Actor

    user = g.get("user")
    if user is None:
        return Actor("anonymous", ip=client_ip())
    return Actor(f"{user.person.person_no} {user.person.name}", user.id, client_ip())


def _start_session(account: UserAccount) -> None:
    session.clear()
    session.permanent = True
    session["uid"] = account.id
    session["sv"] = account.session_version
    g.user = account
    g.roles = accounts.roles_of(account)


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
            policy=_policy(current_app.config),
        )
    _start_session(account)
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


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            if is_api_request():
                raise NotAuthenticated("请先登录。")
            return redirect(url_for("auth.login", next=request.full_path))
        if g.user.must_change_password and not is_api_request():
            return redirect(url_for("auth.change_password"))
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str):
    """Allow the view to users holding any of ``roles``."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not (g.roles & set(roles)):
                raise PermissionDenied("您没有权限访问此功能。")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def current_scope() -> accounts.Scope:
    if "scope" not in g:
        g.scope = accounts.scope_for(db(), g.user)
    return g.scope
