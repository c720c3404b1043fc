"""The one rule for which units and people an account may see and change.

- An administrator and an analyst see the whole district.
- A unit administrator sees the subtrees of the units they were granted (the unit and
  everything below it), and nothing else.
- Changes need an administering role: administrators anywhere, unit administrators
  inside their subtrees. Analysts only read. Candidates hold no scope: they reach their
  own attempts through the runner, not through administration.

Something outside the scope is reported as missing (``NotFound``) where its mere
existence would leak (people, exams); a unit named in a form answers ``PermissionDenied``
(the org tree is no secret). The exam part of the rule builds on this ``Scope`` in
``exam.admin.access`` (core cannot import the exam models). Every view and command asks
these functions; none repeats the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from core.accounts.models import Role, UserAccount
from core.errors import NotFound, PermissionDenied
from core.org.models import OrgUnit, Person
from core.org.services import tree_rows

#: roles that see the whole district
DISTRICT_ROLES = frozenset({Role.admin.value, Role.analyst.value})
#: roles that may change things (inside their scope)
ADMINISTERING_ROLES = frozenset({Role.admin.value, Role.unit_admin.value})


@dataclass(frozen=True)
class Scope:
    """What one account may see and change. Built by ``scope_for``; immutable."""

    #: the account's roles (``Role`` values)
    roles: frozenset[str] = frozenset()
    #: every unit in scope; ``None`` means the whole district
    unit_ids: frozenset[int] | None = frozenset()
    #: materialised paths of the subtree roots a unit administrator was granted
    unit_paths: tuple[str, ...] = ()

    # ------------------------------------------------------------ role flags

    @property
    def everything(self) -> bool:
        """Sees every unit of the district."""
        return self.unit_ids is None

    @property
    def is_admin(self) -> bool:
        return Role.admin.value in self.roles

    @property
    def is_staff(self) -> bool:
        """Holds a role beyond candidate (unit admin, analyst or admin)."""
        return bool(self.roles - {Role.candidate.value})

    @property
    def can_administer(self) -> bool:
        """May change things inside the scope (admins and unit admins)."""
        return bool(self.roles & ADMINISTERING_ROLES)

    @property
    def read_only(self) -> bool:
        """Staff who only read (analysts without an administering role)."""
        return self.is_staff and not self.can_administer

    # ------------------------------------------------------------ units and people

    def covers_unit(self, unit: OrgUnit | int | None) -> bool:
        """Whether the account sees ``unit`` (an ``OrgUnit`` or its id)."""
        if self.unit_ids is None:
            return True
        if unit is None:
            return False
        return (unit if isinstance(unit, int) else unit.id) in self.unit_ids

    def covers_person(self, person: Person) -> bool:
        """Whether the account sees ``person`` (by the unit they belong to now)."""
        return self.covers_unit(person.unit_id)

    def manages_unit(self, unit: OrgUnit | int | None) -> bool:
        """Whether the account may change things of ``unit``."""
        return self.can_administer and self.covers_unit(unit)

    def unit_filter(self, column):
        """A SQL condition keeping rows whose ``column`` (a unit id) is in scope."""
        if self.unit_ids is None:
            return true()
        if not self.unit_ids:
            return false()
        return column.in_(sorted(self.unit_ids))

    @property
    def root_unit_ids(self) -> tuple[int, ...]:
        """The units a unit administrator was granted (the roots of their subtrees)."""
        return tuple(int(p.strip("/").split("/")[-1]) for p in self.unit_paths)


#: the operator at the console (``jifa`` commands): an administrator of everything
CONSOLE = Scope(roles=frozenset({Role.admin.value}), unit_ids=None)
#: no account: sees nothing
NOBODY = Scope()


def scope_of(session: Session, roles: Iterable[str], granted_units: Iterable[int] = ()) -> Scope:
    """The scope of an account holding ``roles``, unit admin of ``granted_units`` (ids)."""
    roles = frozenset(str(r) for r in roles)
    if roles & DISTRICT_ROLES:
        return Scope(roles=roles, unit_ids=None)
    root_ids = sorted(set(granted_units)) if Role.unit_admin.value in roles else []
    if not root_ids:
        return Scope(roles=roles, unit_ids=frozenset())
    paths = sorted(session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(root_ids))))
    # a grant inside another granted subtree adds nothing
    paths = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    if not paths:
        return Scope(roles=roles, unit_ids=frozenset())
    ids = session.scalars(
        select(OrgUnit.id).where(or_(*[OrgUnit.path.like(f"{p}%") for p in paths]))
    )
    return Scope(roles=roles, unit_ids=frozenset(ids), unit_paths=tuple(paths))


def scope_for(session: Session, account: UserAccount | None) -> Scope:
    """The scope of ``account`` from its role grants (``NOBODY`` without an account)."""
    if account is None:
        return NOBODY
    roles = {g.role for g in account.grants}
    granted = [g.unit_id for g in account.grants if g.role == Role.unit_admin and g.unit_id]
    return scope_of(session, roles, granted)


# ---------------------------------------------------------------- lookups in scope


def require_unit(scope: Scope, unit: OrgUnit, *, manage: bool = False) -> OrgUnit:
    """``unit`` if the scope covers it (and, with ``manage``, may change it)."""
    allowed = scope.manages_unit(unit) if manage else scope.covers_unit(unit)
    if not allowed:
        raise PermissionDenied(f"单位「{unit.name}」不在您的管理范围内。")
    return unit


def unit_in_scope(session: Session, scope: Scope, code: str, *, manage: bool = False) -> OrgUnit:
    """The unit with ``code``: ``NotFound`` if there is none, ``PermissionDenied`` if it
    lies outside the scope."""
    code = (code or "").strip()
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"单位代码不存在：{code}")
    return require_unit(scope, unit, manage=manage)


def person_in_scope(session: Session, scope: Scope, person_no: str) -> Person:
    """The person with ``person_no`` if the scope covers them; ``NotFound`` otherwise
    (a person outside the scope is not admitted to exist)."""
    person = session.scalar(
        select(Person)
        .where(Person.person_no == (person_no or "").strip())
        .options(selectinload(Person.unit))
    )
    if person is None or not scope.covers_person(person):
        raise NotFound("人员不存在或不在您的管理范围内。")
    return person


def units_in_scope(session: Session, scope: Scope) -> list[dict]:
    """The units in scope as tree rows (``core.org.services.tree_rows``), in tree order."""
    if scope.everything:
        return tree_rows(session)
    rows: list[dict] = []
    for root_id in scope.root_unit_ids:
        root = session.get(OrgUnit, root_id)
        if root is not None:
            rows.extend(tree_rows(session, root))
    return rows
