from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow


class UnitKind(enum.StrEnum):
    district = "district"  # 区
    town = "town"  # 镇
    street = "street"  # 街道
    park = "park"  # 区园
    department = "department"  # 部门
    unit = "unit"  # 单位
    branch = "branch"  # 党支部


UNIT_KIND_LABELS = {
    UnitKind.district: "区",
    UnitKind.town: "镇",
    UnitKind.street: "街道",
    UnitKind.park: "区园",
    UnitKind.department: "部门",
    UnitKind.unit: "单位",
    UnitKind.branch: "党支部",
}


class Rank(enum.StrEnum):
    county = "county"  # 县处级
    township = "township"  # 乡科级
    general = "general"  # 一般干部
    other = "other"  # 其他公职人员


RANK_LABELS = {
    Rank.county: "县处级",
    Rank.township: "乡科级",
    Rank.general: "一般干部",
    Rank.other: "其他公职人员",
}
RANK_BY_LABEL = {label: rank for rank, label in RANK_LABELS.items()}

_KINDS = ", ".join(f"'{k.value}'" for k in UnitKind)
_RANKS = ", ".join(f"'{r.value}'" for r in Rank)


class OrgUnit(Base):
    __tablename__ = "org_units"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint(f"kind IN ({_KINDS})", "kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable code used in imports and reports (e.g. ``T01``)
    code: Mapped[str] = mapped_column(String(64))
    #: display name, e.g. 城关镇
    name: Mapped[str] = mapped_column(String(200))
    #: one of ``UnitKind``
    kind: Mapped[str] = mapped_column(String(20))
    #: parent unit; NULL only for the root (the district)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: materialised path of ids, ``/1/4/9/``, for subtree queries with LIKE
    path: Mapped[str] = mapped_column(String(500), default="/", index=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[OrgUnit | None] = relationship(
        remote_side="OrgUnit.id", back_populates="children"
    )
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")

    @property
    def kind_label(self) -> str:
        return UNIT_KIND_LABELS.get(UnitKind(self.kind), self.kind)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("person_no"),
        CheckConstraint(f"rank IN ({_RANKS})", "rank_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable identifier (人员编号) used by papers, sampling and reports
    person_no: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    #: the unit the person belongs to now; attempts keep the unit at the time of sitting
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: one of ``Rank``
    rank: Mapped[str] = mapped_column(String(20))
    #: 正科 / 副科 etc. where given
    rank_detail: Mapped[str | None] = mapped_column(String(20))
    is_party_member: Mapped[bool] = mapped_column(default=True)
    #: 职务
    position: Mapped[str | None] = mapped_column(String(200))
    #: phone or e-mail; shown only to administrators of the person's unit
    contact: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[OrgUnit] = relationship()

    @property
    def rank_label(self) -> str:
        return RANK_LABELS.get(Rank(self.rank), self.rank)
