"""Home page and health endpoints."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template
from sqlalchemy import text

from core.db import utcnow
from jifa.web.database import db

bp = Blueprint("main", __name__, template_folder="templates")
api = Blueprint("main_api", __name__, url_prefix="/api/v1")


@bp.get("/")
def index():
    return render_template("index.html", user=g.get("user"))


@api.get("/ping")
def ping():
    """Trivial endpoint: the yardstick the benchmarks compare real endpoints with."""
    return jsonify({"ok": True, "server_time": utcnow().isoformat()})


@api.get("/health")
def health():
    db().execute(text("SELECT 1"))
    return jsonify({"ok": True, "server_time": utcnow().isoformat()})
