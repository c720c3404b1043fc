"""Org tree operations. Services take a session and never commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.errors import InvalidInput, NotFound
from core.org.models import OrgUnit, Person, UnitKind


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent: OrgUnit | None = None,
    sort_order: int = 0,
) -> OrgUnit:
    if kind not in {k.value for k in UnitKind}:
        raise InvalidInput(f"未知的单位类型：{kind}")
    unit = OrgUnit(code=code, name=name, kind=kind, parent=parent, sort_order=sort_order)
    session.add(unit)
    session.flush()  # id needed for the path
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


def unit_by_code(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"单位代码不存在：{code}")
    return unit


def subtree(session: Session, unit: OrgUnit) -> list[OrgUnit]:
    return list(
        session.scalars(
            select(OrgUnit).where(OrgUnit.path.like(f"{unit.path}%")).order_by(OrgUnit.path)
        )
    )


def full_name(unit: OrgUnit) -> str:
    """Names from below the root down to the unit, e.g. 城关镇/机关党支部."""
    names = []
    node: OrgUnit | None = unit
    while node is not None and node.parent is not None:
        names.append(node.name)
        node = node.parent
    return "/".join(reversed(names)) or unit.name


def top_level_unit(unit: OrgUnit) -> OrgUnit:
    """The ancestor directly under the root (镇/街道/区园 or 部门/单位): the stratum."""
    node = unit
    while node.parent is not None and node.parent.parent is not None:
        node = node.parent
    return node


def tree_rows(session: Session, root: OrgUnit | None = None) -> list[dict]:
    """The tree (or ``root``'s subtree) in display order, each unit with its depth,
    kind label and the number of active people directly in it and in its subtree."""
    stmt = select(OrgUnit)
    if root is not None:
        stmt = stmt.where(OrgUnit.path.like(f"{root.path}%"))
    units = list(session.scalars(stmt))
    direct = dict(
        session.execute(
            select(Person.unit_id, func.count())
            .where(Person.is_active.is_(True))
            .group_by(Person.unit_id)
        ).all()
    )
    by_parent: dict[int | None, list[OrgUnit]] = {}
    ids = {u.id for u in units}
    for u in units:
        key = u.parent_id if u.parent_id in ids else None
        by_parent.setdefault(key, []).append(u)
    rows: list[dict] = []

    def walk(parent_id: int | None, depth: int) -> int:
        total = 0
        for u in sorted(by_parent.get(parent_id, []), key=lambda x: (x.sort_order, x.code)):
            row = {
                "id": u.id,
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "kind_label": u.kind_label,
                "depth": depth,
                "direct": direct.get(u.id, 0),
            }
            rows.append(row)
            row["people"] = row["direct"] + walk(u.id, depth + 1)
            total += row["people"]
        return total

    walk(None, 0)
    return rows


def unit_full_names(session: Session, unit_ids) -> dict[int, str]:
    """{unit id: full name (城关镇/机关党支部)} for the given ids."""
    units = session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_(set(unit_ids))).options(selectinload(OrgUnit.parent))
    ).all()
    return {u.id: full_name(u) for u in units}


@dataclass(frozen=True)
class PeopleFilter:
    """Which people a roster listing shows."""

    #: ids of the units to list from (``None``: every unit)
    within: frozenset[int] | None = None
    #: only this unit's subtree
    under: OrgUnit | None = None
    #: part of a name or person number
    text: str = ""
    #: a ``Rank`` value
    rank: str = ""


def _people_stmt(f: PeopleFilter):
    stmt = (
        select(Person)
        .join(OrgUnit, Person.unit_id == OrgUnit.id)
        .options(selectinload(Person.unit).selectinload(OrgUnit.parent))
    )
    if f.within is not None:
        stmt = stmt.where(Person.unit_id.in_(sorted(f.within)) if f.within else false())
    if f.under is not None:
        stmt = stmt.where(OrgUnit.path.like(f"{f.under.path}%"))
    if f.text:
        like = f"%{f.text}%"
        stmt = stmt.where(or_(Person.name.like(like), Person.person_no.like(like)))
    if f.rank:
        stmt = stmt.where(Person.rank == f.rank)
    return stmt


def find_people(
    session: Session, f: PeopleFilter, *, limit: int | None = None, offset: int = 0
) -> list[Person]:
    """The people matching ``f`` in tree order, then by person number."""
    stmt = _people_stmt(f).order_by(OrgUnit.path, Person.person_no).offset(offset or None)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def count_people(session: Session, f: PeopleFilter) -> int:
    return session.scalar(select(func.count()).select_from(_people_stmt(f).subquery()))
