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
from flask.ctx import _AppCtxGlobals
from flask_wtf.csrf import generate_csrf
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from exam.codes import redeem_code
from jifa.accounts import services as accounts
from jifa.accounts.models import RoleGrant, UserAccount
from jifa.db import utcnow
from jifa.errors import DomainError, NotAuthenticated, PermissionDenied
from jifa.web.database import db, is_api_request

bp = Blueprint("auth", __name__)
api = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth")


class JifaGlobals(_AppCtxGlobals):
    """``g`` with a lazily loaded ``g.user``.

    Every request checks its session against one light query (account state, person
    and roles); the full ``UserAccount`` object is only loaded when a view or template
    asks for ``g.user``. Hot API paths (autosave) use ``g.person_id`` and ``g.roles``.
    """

    @property
    def user(self) -> UserAccount | None:
        if "_user" not in self.__dict__:
            uid = self.__dict__.get("uid")
            self._user = (
                None
                if uid is None
                else db().get(
                    UserAccount,
                    uid,
                    options=[selectinload(UserAccount.grants), joinedload(UserAccount.person)],
                )
            )
        return self._user

    @user.setter
    def user(self, value: UserAccount | None) -> None:
        self._user = value

    def get(self, name: str, default=None):
        if name == "user":
            return self.user
        return super().get(name, default)


def init_app(app: Flask) -> None:
    app.app_ctx_globals_class = JifaGlobals
    app.before_request(_load_user)

    @app.context_processor
    def _inject():
        return {"current_user": g.get("user"), "user_roles": g.get("roles", set())}


_IDENTITY = (
    select(
        UserAccount.session_version,
        UserAccount.is_active,
        UserAccount.person_id,
        UserAccount.must_change_password,
        RoleGrant.role,
    )
    .outerjoin(RoleGrant, RoleGrant.user_id == UserAccount.id)
    .where(UserAccount.id == bindparam("uid"))
)


def _load_user() -> None:
    g.uid = None
    g.person_id = None
    g.roles = set()
    g.must_change_password = False
    uid = session.get("uid")
    if uid is None:
        g.user = None
        return
    # Core on the connection: this runs on every request, the ORM adds nothing here.
    rows = db().connection().execute(_IDENTITY, {"uid": uid}).all()
    if not rows or not rows[0].is_active or session.get("sv") != rows[0].session_version:
        session.clear()
        g.user = None
        return
    g.uid = uid
    g.person_id = rows[0].person_id
    g.must_change_password = rows[0].must_change_password
    g.roles = {r.role for r in rows if r.role}


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
    g.uid = account.id
    g.person_id = account.person_id
    g.must_change_password = account.must_change_password
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
        if g.get("uid") is None:
            if is_api_request():
                raise NotAuthenticated("请先登录。")
            return redirect(url_for("auth.login", next=request.full_path))
        if g.must_change_password and not is_api_request():
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
