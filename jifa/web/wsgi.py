"""WSGI entry point for gunicorn: ``gunicorn jifa.web.wsgi:app``."""

from jifa.web import create_app

app = create_app()
