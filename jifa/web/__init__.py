"""The Flask application factory. Views are thin: parse input, call one service,
render or return JSON. The transaction is committed in exactly one place
(``jifa.web.database``), after the view and before the response leaves.

What the server runs is one WSGI stack: ``jifa.web.edge.Edge`` (security headers and
the access log, for every response) around a dispatcher that sends
``/api/v1/autosave/...`` to the lean autosave app (``jifa.web.runner.autosave``) and
everything else to Flask, with WhiteNoise in front serving ``/static/`` (hashed,
precompressed files: ``jifa.web.assets``). ``JIFA_FAST_AUTOSAVE=0`` leaves the lean app unmounted: the
paper page then saves through the Flask API route.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from core.config import load_config

csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
    from jifa.app.safety import check_environment

    check_environment(settings)  # production: no default or generated secret key
    app = Flask(__name__, instance_path=str(settings["INSTANCE_PATH"]))
    app.config.update(settings)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings["SECURE_COOKIES"]),
        SESSION_COOKIE_NAME="jifa_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        # The cookie is re-signed only when the session changes (not on every autosave).
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session
        WTF_CSRF_SSL_STRICT=bool(settings["SECURE_COOKIES"]),
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    from jifa.web.converters import BoundedIntegerConverter

    app.url_map.converters["int"] = BoundedIntegerConverter

    from jifa.web import assets, database, errors

    assets.init_app(app)
    database.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)

    from jifa.web import access, filters

    access.init_app(app)
    filters.init_app(app)

    from jifa.web.admin import views as admin
    from jifa.web.analysis import views as analysis
    from jifa.web.auth import views as auth
    from jifa.web.bank import views as bank
    from jifa.web.main import views as main
    from jifa.web.papers import views as papers
    from jifa.web.runner import views as runner
    from jifa.web.study import views as study

    for module in (main, auth, bank, papers, runner, study, admin, analysis):
        app.register_blueprint(module.bp)
        if hasattr(module, "api"):
            app.register_blueprint(module.api)
    # The JSON login answers with the CSRF token; it cannot require one beforehand.
    csrf.exempt(auth.api_login)

    _stack(app)
    return app


def _stack(app: Flask) -> None:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from jifa.web import assets
    from jifa.web.edge import Edge
    from jifa.web.runner.autosave import MOUNT, AutosaveApp, AutosaveTokens

    inner = app.wsgi_app
    bind = app.extensions["jifa_sessions"].kw["bind"]
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if app.config["FAST_AUTOSAVE"]:
        tokens = AutosaveTokens(app.secret_key, int(app.permanent_session_lifetime.total_seconds()))
        lean = AutosaveApp(tokens, bind, app.logger)
        app.extensions["jifa_autosave"] = lean
        inner = DispatcherMiddleware(inner, {MOUNT: lean})
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # the client's address and scheme from the trusted proxies' X-Forwarded-*
        # headers, for both apps (throttling, audit, the access log)
        inner = ProxyFix(inner, x_for=proxies, x_proto=proxies)
    # /healthz, /readyz, /metrics outside ProxyFix: the metrics allowlist is checked
    # against the connecting address, never a forwarded one
    inner = _ops(app, inner, bind)
    app.wsgi_app = Edge(assets.wrap(app, inner), secure=bool(app.config["SECURE_COOKIES"]))  # type: ignore[method-assign]


def _ops(app: Flask, inner, bind):
    """``/healthz``, ``/readyz`` and, when configured, ``/metrics`` (``jifa.web.ops``)."""
    from flask import request

    from jifa.app.ops import attempts_in_progress, readiness
    from jifa.web.ops import ROUTE_KEY, Metrics, Ops, parse_allowlist

    metrics = None
    if app.config["METRICS"]:
        metrics = Metrics(lambda: attempts_in_progress(bind))

        @app.before_request
        def _route_label():
            rule = request.url_rule
            request.environ[ROUTE_KEY] = rule.rule if rule is not None else "(unrouted)"

    allow = parse_allowlist(str(app.config["METRICS_ALLOW"]))
    return Ops(inner, lambda: readiness(bind), metrics, allow)
