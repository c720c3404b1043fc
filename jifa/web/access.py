"""Who is asking: the identity check on every request (``g.user``, ``g.roles``), the
access decorators, the audit actor and the account's scope (``current_scope``: the
``core.accounts.scope.Scope`` every service checks against). Used by every area's views."""

from __future__ import annotations

import functools

from flask import Flask, g, redirect, request, session, url_for
from flask.ctx import _AppCtxGlobals
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from core.accounts import services as accounts
from core.accounts.models import RoleGrant, UserAccount
from core.accounts.scope import Scope, scope_for
from core.errors import NotAuthenticated, PermissionDenied
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


def policy(app_config) -> accounts.ThrottlePolicy:
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
    from core.audit import Actor

    user = g.get("user")
    if user is None:
        return Actor("anonymous", ip=client_ip())
    return Actor(f"{user.person.person_no} {user.person.name}", user.id, client_ip())


def start_session(account: UserAccount) -> None:
    session.clear()
    session.permanent = True
    session["uid"] = account.id
    session["sv"] = account.session_version
    g.user = account
    g.uid = account.id
    g.person_id = account.person_id
    g.must_change_password = account.must_change_password
    g.roles = accounts.roles_of(account)


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


def current_scope() -> Scope:
    """The scope of the signed-in account, computed once per request."""
    if "scope" not in g:
        g.scope = scope_for(db(), g.user)
    return g.scope
