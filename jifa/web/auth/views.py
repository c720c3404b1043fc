"""Login (password or one-time exam code), logout and the password change.

Logging out ends the session on the server (``end_session``: the account's session
version moves on, so the cookie and its autosave tokens stop working everywhere). After
login only a same-site path given as ``next`` is followed (``safe_next``). In
production (``JIFA_ENV=production``) the demo accounts cannot log in."""

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
from core.errors import DomainError, InvalidInput, NotAuthenticated, PermissionDenied
from exam.admin.codes import redeem_code
from jifa.app.safety import demo_password_refused
from jifa.web.access import (
    MUST_CHANGE_PASSWORD,
    client_ip,
    end_session,
    policy,
    safe_next,
    start_session,
)
from jifa.web.database import db
from jifa.web.envelope import retry_headers

bp = Blueprint("auth", __name__, template_folder="templates")
api = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth")


def _do_login(data) -> UserAccount:
    from flask import current_app

    now = utcnow()
    rules = policy(current_app.config)
    if data.get("exam_code"):
        accounts.check_code_throttle(db(), client_ip(), now, rules)
        try:
            login = redeem_code(db(), str(data["exam_code"]), now=now)
        except NotAuthenticated:
            accounts.record_failed_login(db(), accounts.CODE_LOGIN, client_ip(), now)
            raise
        start_session(login.account, code_exam_id=login.exam_id, by_code=True)
        return login.account
    password = str(data.get("password") or "")
    if demo_password_refused(current_app.config, password):
        # production: the published demo password opens nothing; it fails (and is
        # counted and timed) exactly like any wrong password
        password = "\x00" + password
    account = accounts.authenticate(
        db(),
        str(data.get("person_no") or ""),
        password,
        now=now,
        ip=client_ip(),
        policy=rules,
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
            _do_login(request.form)
        except DomainError as exc:
            _commit_failure()
            flash(exc.message, "error")
            retry = retry_headers(exc.status, getattr(exc, "retry_after", None))
            return render_template("auth/login.html"), exc.status, retry
        if g.must_change_password:
            return redirect(url_for("auth.change_password"))
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html")


@bp.post("/logout")
def logout():
    end_session()  # this and every other session of the account end on the server
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


def _set_own_password(current: str, new: str, confirm: str) -> None:
    """The signed-in person changes their password: every other session ends, this
    one goes on."""
    if g.get("code_exam_id") is not None:
        raise PermissionDenied("使用考试码登录时不能修改密码。")
    if g.user.password_hash and not g.user.must_change_password:
        from werkzeug.security import check_password_hash

        if not check_password_hash(g.user.password_hash, current):
            raise InvalidInput("当前密码不正确。")
    if new != confirm:
        raise InvalidInput("两次输入的新密码不一致。")
    accounts.set_password(db(), g.user, new)  # ends every session
    session["sv"] = g.user.session_version


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    if g.user is None:
        return redirect(url_for("auth.login", next=request.path))
    if request.method == "POST":
        try:
            _set_own_password(
                request.form.get("current", ""),
                request.form.get("new", ""),
                request.form.get("confirm", ""),
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("auth/password.html"), exc.status
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
            "must_change_password": g.must_change_password,
            **({"message": MUST_CHANGE_PASSWORD} if g.must_change_password else {}),
        }
    )


@api.post("/logout")
def api_logout():
    end_session()
    return jsonify({"ok": True})


@api.post("/password")
def api_password():
    """``{"current", "new"}``: change one's own password (the way out of
    ``must_change_password`` for API clients)."""
    if g.get("uid") is None:
        raise NotAuthenticated("请先登录。")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象。")
    new = str(data.get("new") or "")
    _set_own_password(str(data.get("current") or ""), new, str(data.get("confirm", new)))
    return jsonify({"ok": True, "must_change_password": False})


@api.get("/csrf")
def api_csrf():
    return jsonify({"ok": True, "csrf_token": generate_csrf()})
