"""The append-only audit log: who changed what, when, with the before and after.

Rows are only ever inserted. The ORM refuses updates and deletes of ``AuditEntry``
(see the listeners below) and on PostgreSQL a trigger (migration) refuses them too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: the acting account (NULL for the console or the system)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_accounts.id"))
    #: readable actor, e.g. ``P0001 张三`` or ``console`` or ``system``
    actor: Mapped[str] = mapped_column(String(200), default="system")
    #: dotted verb, e.g. ``question.edit``, ``exam.extend_window``, ``sample.draw``
    action: Mapped[str] = mapped_column(String(100), index=True)
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    ip: Mapped[str | None] = mapped_column(String(64))


class Actor:
    """Who is acting: passed from the web layer or CLI into services."""

    def __init__(self, label: str = "system", user_id: int | None = None, ip: str | None = None):
        self.label = label
        self.user_id = user_id
        self.ip = ip

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Actor({self.label!r}, user_id={self.user_id})"


SYSTEM = Actor("system")
CONSOLE = Actor("console")


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: object = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    actor = actor or SYSTEM
    entry = AuditEntry(
        at=at or utcnow(),
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        ip=actor.ip,
    )
    session.add(entry)
    return entry


def search(
    session: Session,
    *,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action.like(f"{action}%"))
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == str(entity_id))
    if actor:
        stmt = stmt.where(AuditEntry.actor.like(f"%{actor}%"))
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at <= until)
    return list(session.scalars(stmt))


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper, _connection, _target):
    raise AuditLogIsAppendOnly("the audit log is append-only")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper, _connection, _target):
    raise AuditLogIsAppendOnly("the audit log is append-only")
