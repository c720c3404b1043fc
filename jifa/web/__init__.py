"""The Flask application factory. Views are thin: parse input, call one service,
render or return JSON. The transaction is committed in exactly one place
(``jifa.web.database``), after the view and before the response leaves."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from core.config import load_config

csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
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

    from jifa.web import database, errors

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

    for module in (main, auth, bank, papers, runner, admin, analysis):
        app.register_blueprint(module.bp)
        if hasattr(module, "api"):
            app.register_blueprint(module.api)
    # The JSON login answers with the CSRF token; it cannot require one beforehand.
    csrf.exempt(auth.api_login)

    from jifa.web.runner.fastpath import AutosaveFastPath

    app.wsgi_app = AutosaveFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
