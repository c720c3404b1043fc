"""Home page and health endpoints."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template

from core.db import check_database, utcnow
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
    check_database(db())
    return jsonify({"ok": True, "server_time": utcnow().isoformat()})
