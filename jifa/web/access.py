"""Who is asking: the identity check on every request (``g.user``, ``g.roles``), the
access decorators, the audit actor and the account's scope (``current_scope``: the
``core.accounts.scope.Scope`` every service checks against). Used by every area's views.

A session opened with a one-time exam code is a candidate's, for the code's exam only
(``g.code_exam_id``), whatever roles the account holds. An account that must change
its initial password reaches nothing but the password change, on the pages and the
JSON API alike. ``safe_next`` is the one check of every ``next`` / return address."""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit

from flask import Flask, g, redirect, request, session, url_for
from flask.ctx import _AppCtxGlobals
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from core.accounts import services as accounts
from core.accounts.models import Role, RoleGrant, UserAccount
from core.accounts.scope import Scope, scope_for, scope_of
from core.errors import NotAuthenticated, NotFound, PermissionDenied
from jifa.web.database import db, is_api_request


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
    g.code_exam_id = None
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
    if session.get("via") == "code":
        # an exam-code session: a candidate for the code's exam, nothing more
        g.roles = {Role.candidate.value}
        g.must_change_password = False
        g.code_exam_id = session.get("code_exam") or 0


def policy(app_config) -> accounts.ThrottlePolicy:
    return accounts.ThrottlePolicy(
        max_failures=int(app_config["LOGIN_MAX_FAILURES"]),
        window_seconds=int(app_config["LOGIN_WINDOW_SECONDS"]),
        lockout_seconds=int(app_config["LOGIN_LOCKOUT_SECONDS"]),
    )


def client_ip() -> str | None:
    """The client's address: behind ``JIFA_TRUSTED_PROXIES`` proxies, Werkzeug's
    ``ProxyFix`` (installed by the app factory) has taken it from X-Forwarded-For."""
    return request.remote_addr


_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f]")


def safe_next(value: object, default: str | None = None) -> str:
    """``value`` if it is a path on this site (``/exam/3?x=1``), else ``default`` (the
    home page). Refused: absolute and scheme-relative URLs (``https://x``, ``//x``),
    backslashes (``/\\x``, which browsers read as ``//x``), control characters and
    the same tricks percent-encoded."""
    fallback = default or url_for("main.index")
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 2000:
        return fallback
    text = value
    for _ in range(3):  # encoded, double-encoded ...
        if _UNSAFE.search(text) or text.startswith("//"):
            return fallback
        parts = urlsplit(text)
        if parts.scheme or parts.netloc or not text.startswith("/"):
            return fallback
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    else:
        return fallback
    return value


def actor():
    """The ``Actor`` for audit records of the current request."""
    from core.audit import Actor

    user = g.get("user")
    if user is None:
        return Actor("anonymous", ip=client_ip())
    return Actor(f"{user.person.person_no} {user.person.name}", user.id, client_ip())


def start_session(account: UserAccount, *, code_exam_id: int | None = None, by_code=False) -> None:
    """Sign ``account`` in on this browser; ``by_code``: with a one-time exam code (a
    candidate's session for exam ``code_exam_id`` only)."""
    session.clear()
    session.permanent = True
    session["uid"] = account.id
    session["sv"] = account.session_version
    g.user = account
    g.uid = account.id
    g.person_id = account.person_id
    g.must_change_password = account.must_change_password
    g.roles = accounts.roles_of(account)
    g.code_exam_id = None
    if by_code:
        session["via"] = "code"
        session["code_exam"] = code_exam_id or 0
        g.roles = {Role.candidate.value}
        g.must_change_password = False
        g.code_exam_id = code_exam_id or 0


def end_session() -> None:
    """Log out on the server: the account's session version moves on, so this cookie
    (and any copy of it) and the autosave tokens issued to it stop being accepted."""
    if g.get("uid") is not None and g.user is not None:
        accounts.logout_everywhere(g.user)
    session.clear()


def require_code_exam(exam_id: int) -> None:
    """An exam-code session reaches only the code's exam (others: 404)."""
    if g.get("code_exam_id") is not None and g.code_exam_id != exam_id:
        raise NotFound("未找到该考试。")


MUST_CHANGE_PASSWORD = "请先修改初始密码（POST /api/v1/auth/password 或登录页面）。"


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("uid") is None:
            if is_api_request():
                raise NotAuthenticated("请先登录。")
            return redirect(url_for("auth.login", next=request.full_path))
        if g.must_change_password:
            if is_api_request():
                raise PermissionDenied(MUST_CHANGE_PASSWORD, details={"must_change_password": True})
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


def current_scope() -> Scope:
    """The scope of the signed-in account, computed once per request."""
    if "scope" not in g:
        if g.get("code_exam_id") is not None:
            g.scope = scope_of(db(), g.roles)  # a code session: a candidate's, no units
        else:
            g.scope = scope_for(db(), g.user)
    return g.scope
