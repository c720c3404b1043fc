"""One-time exam codes, issued by a unit for candidates without a password. The
administration page and ``jifa user issue-codes`` both issue through
``issue_unit_codes``, with the same checks; only the codes' hashes are stored.

A code is for one exam and one candidate who sits it: never for staff (unit admins,
analysts, administrators), and a code login carries the candidate role alone, for that
exam only (``CodeLogin``), whatever roles the account holds."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts.models import Role, RoleGrant, UserAccount
from core.accounts.scope import Scope, require_unit
from core.accounts.services import ensure_account, hash_code, people_of_unit
from core.audit import Actor, record
from core.errors import InvalidInput, NotAuthenticated
from core.excel import SheetSpec
from core.org.models import OrgUnit, Person
from core.org.services import full_name
from exam.admin.access import get_visible_exam
from exam.admin.enrolment import enrolled_person_ids
from exam.models import ExamCode

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_VALID_DAYS = 365
CODE_SLIP_HEADERS = ["人员编号", "姓名", "单位", "考试码", "有效期至", "说明"]
CST = dt.timezone(dt.timedelta(hours=8))


def new_code(length: int = 10) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def issue_code(
    session: Session,
    person: Person,
    *,
    now: dt.datetime,
    exam_id: int | None = None,
    valid_for: dt.timedelta = dt.timedelta(days=30),
) -> str:
    """Create a code for ``person`` and return it; only its hash is stored."""
    code = new_code()
    session.add(
        ExamCode(
            code_hash=hash_code(code),
            person_id=person.id,
            exam_id=exam_id,
            issued_at=now,
            expires_at=now + valid_for,
        )
    )
    return code


@dataclass(frozen=True)
class CodeLogin:
    """A redeemed code: the account, and the one exam the session may sit."""

    account: UserAccount
    exam_id: int | None


CODE_REFUSED = "考试码无效、已使用或已过期。"


def redeem_code(session: Session, code: str, *, now: dt.datetime) -> CodeLogin:
    """Log in with a one-time code: valid, unexpired and unused, then marked used. The
    session it opens is a candidate's for the code's exam only (see the module)."""
    code = (code or "")[:64]
    row = session.scalar(
        select(ExamCode).where(ExamCode.code_hash == hash_code(code)).with_for_update()
    )
    if row is None or row.used_at is not None or (row.expires_at and row.expires_at <= now):
        raise NotAuthenticated(CODE_REFUSED)
    account = ensure_account(session, row.person)
    if not account.is_active or not row.person.is_active:
        raise NotAuthenticated(CODE_REFUSED)
    row.used_at = now
    return CodeLogin(account, row.exam_id)


def _staff_person_ids(session: Session, person_ids: list[int]) -> set[int]:
    """Those of ``person_ids`` whose account holds a role beyond candidate."""
    if not person_ids:
        return set()
    return set(
        session.scalars(
            select(UserAccount.person_id)
            .join(RoleGrant, RoleGrant.user_id == UserAccount.id)
            .where(UserAccount.person_id.in_(person_ids), RoleGrant.role != Role.candidate.value)
        )
    )


def issue_codes(
    session: Session,
    people: list[Person],
    *,
    now: dt.datetime,
    exam_id: int | None = None,
    valid_for: dt.timedelta = dt.timedelta(days=30),
    actor=None,
) -> list[tuple[Person, str]]:
    """One code per person (optionally for one exam); the codes are returned once for
    the printed slips and only their hashes are kept. Audited."""
    issued = [
        (p, issue_code(session, p, now=now, exam_id=exam_id, valid_for=valid_for)) for p in people
    ]
    session.flush()
    record(
        session,
        actor,
        "account.issue_codes",
        "exam" if exam_id else "person",
        exam_id,
        after={"count": len(issued), "person_nos": [p.person_no for p, _ in issued][:1000]},
        at=now,
    )
    return issued


@dataclass
class IssuedCodes:
    unit: OrgUnit
    #: (person, code) for the slips: shown once, never stored
    issued: list[tuple[Person, str]]
    expires_at: dt.datetime


def issue_unit_codes(
    session: Session,
    unit: OrgUnit,
    *,
    exam_id: int | None = None,
    days: int = 30,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime,
) -> IssuedCodes:
    """Codes for the active people of ``unit``'s subtree who sit exam ``exam_id``,
    valid ``days`` days and bound to that exam. The caller must manage the unit and see
    the exam; people holding a staff role (unit admin, analyst, admin) never get one."""
    require_unit(scope, unit, manage=True)
    if not isinstance(days, int) or not 1 <= days <= MAX_VALID_DAYS:
        raise InvalidInput(f"有效天数应在 1 到 {MAX_VALID_DAYS} 之间。")
    if exam_id is None:
        raise InvalidInput("考试码只能针对一场考试发放：请选择考试。")
    exam = get_visible_exam(session, exam_id, scope)
    enrolled = enrolled_person_ids(session, exam)
    people = [p for p in people_of_unit(session, unit) if p.id in enrolled]
    staff = _staff_person_ids(session, [p.id for p in people])
    people = [p for p in people if p.id not in staff]
    valid_for = dt.timedelta(days=days)
    issued = issue_codes(
        session, people, now=now, exam_id=exam_id, valid_for=valid_for, actor=actor
    )
    return IssuedCodes(unit=unit, issued=issued, expires_at=now + valid_for)


def code_slip_sheet(codes: IssuedCodes) -> SheetSpec:
    """The printable list of issued codes."""
    expires = codes.expires_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
    rows = [
        [p.person_no, p.name, full_name(p.unit), code, expires, "一次性使用"]
        for p, code in codes.issued
    ]
    return SheetSpec("考试码", CODE_SLIP_HEADERS, rows)
