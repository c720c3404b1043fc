from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow


class DrawStatus(enum.StrEnum):
    frozen = "frozen"  # roster frozen and hashed; settings locked
    published = "published"  # hash, counts and quota rule announced
    drawn = "drawn"  # seed fixed, tickets computed


class SamplingDraw(Base):
    """A verifiable draw (``shared/design/SAMPLING.md``). Settings never change after
    freezing: a change means a new draw."""

    __tablename__ = "sampling_draws"
    __table_args__ = (
        CheckConstraint("status IN ('frozen', 'published', 'drawn')", "status_valid"),
        CheckConstraint("(status = 'drawn') = (seed IS NOT NULL)", "seed_iff_drawn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: eligibility filter, e.g. {"rank": ["township"]}
    criteria: Mapped[dict] = mapped_column(JSON)
    #: how strata are formed, e.g. "top_unit" (镇/街道/区园 and 部门/单位 under the district)
    strata: Mapped[str] = mapped_column(String(40))
    #: e.g. "20%,min=3" or "5"
    quota_rule: Mapped[str] = mapped_column(String(40))
    algorithm_version: Mapped[str] = mapped_column(String(40))
    #: the canonical roster CSV, byte for byte as published
    roster_csv: Mapped[str] = mapped_column(Text)
    roster_sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: {stratum_code: {"name": ..., "n": ..., "quota": ...}}
    stratum_counts: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=DrawStatus.frozen.value)
    entropy: Mapped[str | None] = mapped_column(String(200))
    seed: Mapped[str | None] = mapped_column(String(300))
    #: the centralized exam whose participant list the draw created
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"))
    frozen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None]
    drawn_at: Mapped[dt.datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(200))

    tickets: Mapped[list[DrawTicket]] = relationship(
        back_populates="draw", order_by="(DrawTicket.stratum_code, DrawTicket.rank)"
    )


class DrawTicket(Base):
    """One person's ticket in a draw, with their place in the stratum's ticket order."""

    __tablename__ = "draw_tickets"
    __table_args__ = (
        UniqueConstraint("draw_id", "person_no"),
        UniqueConstraint("draw_id", "stratum_code", "rank"),
        CheckConstraint("role IN ('selected', 'alternate')", "role_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("sampling_draws.id"), index=True)
    stratum_code: Mapped[str] = mapped_column(String(64))
    person_no: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    ticket: Mapped[str] = mapped_column(String(64))
    #: 1-based position in ticket order within the stratum
    rank: Mapped[int]
    #: selected (within quota) or alternate (in order of use)
    role: Mapped[str] = mapped_column(String(20))

    draw: Mapped[SamplingDraw] = relationship(back_populates="tickets")


class DrawReplacement(Base):
    """Append-only record of an excused person replaced by the next alternate."""

    __tablename__ = "draw_replacements"
    __table_args__ = (UniqueConstraint("draw_id", "excused_person_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("sampling_draws.id"), index=True)
    stratum_code: Mapped[str] = mapped_column(String(64))
    excused_person_no: Mapped[str] = mapped_column(String(64))
    replacement_person_no: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    by: Mapped[str | None] = mapped_column(String(200))


#: settings fixed when the roster is frozen (a change means a new draw)
LOCKED_DRAW_FIELDS = (
    "criteria",
    "strata",
    "quota_rule",
    "algorithm_version",
    "roster_csv",
    "roster_sha256",
    "stratum_counts",
)


@event.listens_for(SamplingDraw, "before_update")
def _refuse_settings_change(_mapper, _connection, target: SamplingDraw) -> None:
    from sqlalchemy import inspect

    from core.errors import Conflict

    state = inspect(target)
    changed = [f for f in LOCKED_DRAW_FIELDS if state.attrs[f].history.has_changes()]
    if changed:
        raise Conflict("抽样名册和规则已冻结，不能修改；如需调整请新建一次抽样。", details=changed)
