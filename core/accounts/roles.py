"""Role changes: granting and revoking roles. The administration page and the
``jifa user grant/revoke`` commands both call these, so both sides make the same checks
and leave the same audit record. Services take a session and never commit.

Checks: only administrators change roles; the person (and, for a unit administrator,
the unit) must be in the caller's scope; nobody revokes their own administrator role;
the last administrator is never removed (so the district cannot lock itself out).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.accounts.models import Role, RoleGrant, UserAccount
from core.accounts.scope import Scope, require_unit
from core.accounts.services import account_of, ensure_account, grant_role
from core.audit import Actor, record
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.org.models import OrgUnit, Person

ROLE_CHOICES = "candidate、unit_admin、analyst、admin"


def _check(scope: Scope, role: str, person: Person) -> None:
    if not scope.is_admin:
        raise PermissionDenied("只有系统管理员可以授予或撤销角色。")
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"未知角色：{role}（可选：{ROLE_CHOICES}）")
    if not scope.covers_person(person):
        raise NotFound("人员不存在或不在您的管理范围内。")


def grant(
    session: Session,
    person: Person,
    role: str,
    unit: OrgUnit | None = None,
    *,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime | None = None,
) -> RoleGrant:
    """Give ``person`` ``role`` (a unit administrator needs the ``unit`` they manage).
    Granting a role the person holds already changes nothing but is still recorded."""
    _check(scope, role, person)
    if role != Role.unit_admin.value:
        unit = None
    elif unit is not None:
        require_unit(scope, unit, manage=True)
    account = ensure_account(session, person)
    granted = grant_role(session, account, role, unit)
    record(
        session,
        actor,
        "account.grant",
        "user_account",
        account.id,
        after={"person_no": person.person_no, "role": role, "unit": unit.code if unit else None},
        at=now,
    )
    return granted


def revoke(
    session: Session,
    person: Person,
    role: str,
    unit: OrgUnit | None = None,
    *,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime | None = None,
) -> int:
    """Take ``role`` from ``person`` (for a unit administrator only the grant for
    ``unit`` if given); returns how many grants were removed."""
    _check(scope, role, person)
    account = account_of(session, person)
    if account is None:
        return 0
    grants = [
        g for g in account.grants if g.role == role and (unit is None or g.unit_id == unit.id)
    ]
    return _remove(session, account, grants, actor=actor, now=now)


def revoke_grant(
    session: Session,
    grant_id: int,
    *,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime | None = None,
) -> RoleGrant:
    """Remove one grant (by id), with the checks of ``revoke``."""
    found = session.get(RoleGrant, grant_id)
    if found is None:
        raise NotFound("授权不存在。")
    _check(scope, found.role, found.user.person)
    _remove(session, found.user, [found], actor=actor, now=now)
    return found


def _remove(
    session: Session,
    account: UserAccount,
    grants: list[RoleGrant],
    *,
    actor: Actor | None,
    now: dt.datetime | None,
) -> int:
    for g in grants:
        if g.role != Role.admin.value:
            continue
        if actor is not None and actor.user_id == account.id:
            raise InvalidInput("不能撤销自己的系统管理员角色。")
        if not _other_admins(session, account):
            raise Conflict("这是最后一名系统管理员，不能撤销。")
    for g in grants:
        before = {
            "person_no": account.person.person_no,
            "role": g.role,
            "unit": g.unit.code if g.unit else None,
        }
        account.grants.remove(g)
        record(session, actor, "account.revoke", "user_account", account.id, before=before, at=now)
    session.flush()
    return len(grants)


def _other_admins(session: Session, account: UserAccount) -> int:
    return session.scalar(
        select(func.count(func.distinct(RoleGrant.user_id))).where(
            RoleGrant.role == Role.admin.value, RoleGrant.user_id != account.id
        )
    )


def staff_grants(session: Session) -> list[tuple[RoleGrant, UserAccount, Person]]:
    """Every grant beyond candidate, with its account and person, by role and number."""
    rows = session.execute(
        select(RoleGrant, UserAccount, Person)
        .join(UserAccount, RoleGrant.user_id == UserAccount.id)
        .join(Person, UserAccount.person_id == Person.id)
        .where(RoleGrant.role != Role.candidate.value)
        .options(selectinload(RoleGrant.unit))
        .order_by(RoleGrant.role, Person.person_no)
    )
    return [tuple(r) for r in rows.all()]


def create_admin(
    session: Session,
    person: Person,
    password: str,
    *,
    actor: Actor | None,
    now: dt.datetime | None = None,
) -> UserAccount:
    """Make ``person`` an administrator with ``password`` (the first administrator of a
    production installation, from the console). Audited as a password set and a grant."""
    from core.accounts.scope import CONSOLE
    from core.accounts.services import reset_password

    account = reset_password(session, person, password, actor=actor, now=now)
    grant(session, person, Role.admin.value, scope=CONSOLE, actor=actor, now=now)
    return account
