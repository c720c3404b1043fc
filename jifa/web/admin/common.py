"""The administration blueprints and what their view modules share: the role sets,
form parsing, uploads and downloads, and the current scope's units and people.

Scope: unit admins see and change only their subtree; analysts read everything;
admins do everything. Services enforce the scope (``core.accounts.scope``,
``exam.admin.access``); views only pass it on.
"""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, g, request, send_file

from core.accounts import scope as scopes
from core.accounts.models import ROLE_LABELS
from core.errors import InvalidInput, PayloadTooLarge
from core.org.models import RANK_LABELS, OrgUnit, Person
from exam.admin import exams
from jifa.web.access import current_scope
from jifa.web.database import db, end_reads

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")
api = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin")

READ = ("admin", "unit_admin", "analyst")
WRITE = ("admin", "unit_admin")
CST = dt.timezone(dt.timedelta(hours=8))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024


@bp.app_context_processor
def _admin_helpers():
    return {
        "rank_labels": {r.value: label for r, label in RANK_LABELS.items()},
        "role_labels": {r.value: label for r, label in ROLE_LABELS.items()},
        "status_labels": exams.STATUS_LABELS,
        "mode_labels": exams.MODE_LABELS,
    }


def can_see_contact() -> bool:
    """Contact details are for those who run the unit (admins, unit admins in scope)."""
    return bool(g.roles & {"admin", "unit_admin"})


def scope_units() -> list[dict]:
    """Units the current user may act on, in tree order (with depth for indenting)."""
    return scopes.units_in_scope(db(), current_scope())


def unit_in_scope(code: str) -> OrgUnit:
    return scopes.unit_in_scope(db(), current_scope(), code)


def person_in_scope(person_no: str) -> Person:
    return scopes.person_in_scope(db(), current_scope(), person_no)


def upload() -> tuple[bytes, str]:
    f = request.files.get("file")
    if f is None or not f.filename:
        raise InvalidInput("请选择要上传的文件（.xlsx 或 .csv）。")
    data = f.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge("文件过大（上限 20 MB）。")
    end_reads()  # the import parses before it writes: no write lock held meanwhile
    return data, f.filename


def download(data: bytes, filename: str, mimetype: str = XLSX):
    resp = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def parse_local(value: str | None, label: str) -> dt.datetime:
    """A ``datetime-local`` value in China time → aware UTC."""
    if not value:
        raise InvalidInput(f"请填写{label}。")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace(" ", "T"))
    except ValueError as exc:
        raise InvalidInput(f"{label}格式无效：{value}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(dt.UTC)


#: the largest integer a form field may carry (a database BIGINT)
MAX_INT = 2**63 - 1


def int_field(value: str | None, label: str, default: int | None = None) -> int:
    if value in (None, ""):
        if default is None:
            raise InvalidInput(f"请填写{label}。")
        return default
    text = str(value).strip()
    try:
        number = int(text) if len(text) <= 19 else None
    except ValueError as exc:
        raise InvalidInput(f"{label}应为整数：{value}") from exc
    if number is None or abs(number) > MAX_INT:
        raise InvalidInput(f"{label}超出范围：{value[:40]}")
    return number


def float_or_none(value: str | None, label: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise InvalidInput(f"{label}应为数字：{value}") from exc


def local_input(value: dt.datetime | None) -> str:
    return value.astimezone(CST).strftime("%Y-%m-%dT%H:%M") if value else ""
