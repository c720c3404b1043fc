"""Blueprint services: validate against the bank's law sources, store a blueprint or
its next version, import one from a file, find, list and copy them. Never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import InvalidInput, NotFound
from exam.models import Blueprint
from exam.papers.files import load_blueprint_data
from exam.papers.parse import parse_blueprint
from exam.papers.spec import BlueprintSpec, editable_dict, spec_of
from question_bank.models import LawSource


def source_aliases(session: Session) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in session.scalars(select(LawSource)):
        out[s.code] = s.code
        out[s.name] = s.code
        for short in s.short_names or []:
            out[short] = s.code
    return out


def source_names(session: Session) -> dict[str, str]:
    """code -> short display name (e.g. 刑法)."""
    return {
        s.code: (s.short_names[0] if s.short_names else s.name)
        for s in session.scalars(select(LawSource).order_by(LawSource.sort_order))
    }


def validate(session: Session, data: Mapping) -> BlueprintSpec:
    return parse_blueprint(data, source_aliases=source_aliases(session))


def save_blueprint(
    session: Session,
    spec: BlueprintSpec,
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
):
    """Store ``spec`` as a new blueprint, or as the next version of its code."""
    latest = session.scalar(select(func.max(Blueprint.version)).where(Blueprint.code == spec.code))
    row = Blueprint(
        code=spec.code,
        version=(latest or 0) + 1,
        name=spec.name,
        tier=spec.tier,
        spec=spec.to_json(),
        total_points=spec.total_points,
        pass_mark=spec.pass_mark,
        target_difficulty=spec.target_difficulty,
        difficulty_tolerance=spec.difficulty_tolerance,
        created_by=actor.label if actor else None,
    )
    if now is not None:
        row.created_at = now
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "blueprint.save",
        "blueprint",
        row.id,
        after={"code": row.code, "version": row.version, "name": row.name},
        at=now,
    )
    return row


def import_blueprint(
    session: Session,
    content: bytes,
    filename: str,
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
):
    return save_blueprint(
        session, validate(session, load_blueprint_data(content, filename)), actor=actor, now=now
    )


def get_blueprint(session: Session, code: str, version: int | None = None):
    query = select(Blueprint).where(Blueprint.code == code)
    if version is not None:
        query = query.where(Blueprint.version == version)
    row = session.scalar(query.order_by(Blueprint.version.desc()).limit(1))
    if row is None:
        raise NotFound(f"组卷规则不存在：{code}" + (f" 第{version}版" if version else ""))
    return row


def list_blueprints(session: Session, *, all_versions: bool = False) -> list:
    """Latest version of every code (or every version), newest code first."""
    rows = session.scalars(select(Blueprint).order_by(Blueprint.code, Blueprint.version)).all()
    if all_versions:
        return list(rows)
    latest: dict[str, object] = {}
    for row in rows:
        latest[row.code] = row
    return list(latest.values())


def versions_of(session: Session, code: str) -> list:
    return list(
        session.scalars(
            select(Blueprint).where(Blueprint.code == code).order_by(Blueprint.version.desc())
        )
    )


def copy_blueprint(
    session: Session,
    row,
    new_code: str,
    *,
    name: str | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
):
    """Copy a blueprint version under a new code (version 1)."""
    if session.scalar(select(Blueprint.id).where(Blueprint.code == new_code).limit(1)):
        raise InvalidInput(f"规则代码“{new_code}”已存在，请换一个代码。")
    data = editable_dict(spec_of(row))
    data["code"] = new_code
    data["name"] = name or f"{row.name}（副本）"
    return save_blueprint(session, validate(session, data), actor=actor, now=now)
