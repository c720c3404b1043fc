"""WSGI entry point for gunicorn: ``gunicorn jifa.web.wsgi:app``.

Access lines (``jifa.web.edge``) go to stdout unless ``JIFA_ACCESS_LOG=0``."""

import os

from jifa.web import create_app
from jifa.web.edge import log_requests

app = create_app()
if os.environ.get("JIFA_ACCESS_LOG", "1").lower() not in {"0", "false", "no", "off"}:
    log_requests()
