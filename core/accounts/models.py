from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.org.models import OrgUnit, Person


class Role(enum.StrEnum):
    candidate = "candidate"
    unit_admin = "unit_admin"
    analyst = "analyst"
    admin = "admin"


ROLE_LABELS = {
    Role.candidate: "考生",
    Role.unit_admin: "单位管理员",
    Role.analyst: "分析人员",
    Role.admin: "系统管理员",
}

_ROLES = ", ".join(f"'{r.value}'" for r in Role)


class UserAccount(Base):
    __tablename__ = "user_accounts"
    __table_args__ = (UniqueConstraint("person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    #: hash from werkzeug.security (scrypt); NULL means no password login yet
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: set for issued initial passwords: the first login must change it
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: bumped by "log out everywhere"; sessions carrying an older value are rejected
    session_version: Mapped[int] = mapped_column(default=1)
    #: consecutive failures in the current window, and when the window began
    failed_logins: Mapped[int] = mapped_column(default=0)
    failed_window_start: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "unit_id"),
        CheckConstraint(f"role IN ({_ROLES})", "role_valid"),
        CheckConstraint("role <> 'unit_admin' OR unit_id IS NOT NULL", "unit_admin_has_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_accounts.id", ondelete="CASCADE"))
    #: one of ``Role``
    role: Mapped[str] = mapped_column(String(20))
    #: for unit admins: the root of the subtree they manage
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[UserAccount] = relationship(back_populates="grants")
    unit: Mapped[OrgUnit | None] = relationship()


class LoginAttempt(Base):
    """Every login attempt, for per-IP rate limiting shared by all app servers."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_login_at", "login", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: the person number or exam code prefix that was tried
    login: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(default=False)
