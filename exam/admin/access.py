"""Which exams, and which people in them, an account may see and change: the exam part
of the one scope rule, built only on ``core.accounts.scope.Scope``.

- An account sees an exam held (owned) by a unit in its scope, or one that enrols
  people of its scope; in the latter it sees only those people.
- It manages an exam held by a unit it manages (``Scope.manages_unit``): administrators
  any exam, unit administrators their subtree's exams, analysts none.
- An exam outside the scope answers ``NotFound`` (404), never ``PermissionDenied``, so
  nothing leaks about other units' exams. An exam the account sees but may not change
  answers ``PermissionDenied`` (403).

Every view and command finds its exam through these functions.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, selectinload

from core.accounts.scope import Scope
from core.errors import NotFound, PermissionDenied
from core.org.models import OrgUnit, Person
from exam.models import Exam, Participant

NOT_FOUND = "考试不存在或不在您的管理范围内。"


def visible_exams_stmt(scope: Scope):
    """A SELECT of the exams ``scope`` sees (for further filtering and ordering)."""
    stmt = select(Exam)
    if scope.everything:
        return stmt
    in_scope = scope.unit_filter(Participant.unit_id)
    return stmt.where(
        or_(
            scope.unit_filter(Exam.owner_unit_id),
            exists().where(Participant.exam_id == Exam.id, in_scope),
        )
    )


def list_visible_exams(
    session: Session,
    scope: Scope,
    *,
    status: str | None = None,
    owned_only: bool = False,
    limit: int | None = None,
) -> list[Exam]:
    """The exams ``scope`` sees, newest window first; ``owned_only``: only those held by
    a unit in scope."""
    stmt = visible_exams_stmt(scope).options(
        selectinload(Exam.owner_unit), selectinload(Exam.blueprint)
    )
    if status:
        stmt = stmt.where(Exam.status == status)
    if owned_only:
        stmt = stmt.where(scope.unit_filter(Exam.owner_unit_id))
    stmt = stmt.order_by(Exam.opens_at.desc(), Exam.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def get_visible_exam(session: Session, exam_id: int, scope: Scope) -> Exam:
    """An exam ``scope`` sees; ``NotFound`` otherwise (nothing leaks about others)."""
    exam = session.scalar(visible_exams_stmt(scope).where(Exam.id == exam_id))
    if exam is None:
        raise NotFound(NOT_FOUND)
    return exam


def find_exam(session: Session, ref: object, scope: Scope) -> Exam:
    """An exam by id (``12``) or exact title, as ``get_visible_exam``."""
    text = str(ref or "").strip()
    exam = None
    if text.isdigit():
        exam = session.scalar(visible_exams_stmt(scope).where(Exam.id == int(text)))
    if exam is None and text:
        exam = session.scalar(
            visible_exams_stmt(scope).where(Exam.title == text).order_by(Exam.id).limit(1)
        )
    if exam is None:
        raise NotFound(f"考试不存在或不在您的管理范围内：{text}")
    return exam


def owns(exam: Exam, scope: Scope) -> bool:
    """Whether the exam is held by a unit in scope (its papers and roster are the
    unit's own business, not only the people it enrols)."""
    return scope.covers_unit(exam.owner_unit_id)


def get_owned_exam(session: Session, exam_id: int, scope: Scope) -> Exam:
    """An exam held by a unit in scope: ``NotFound`` if ``scope`` does not see it at
    all, ``PermissionDenied`` if it only enrols some of the scope's people."""
    exam = get_visible_exam(session, exam_id, scope)
    if not owns(exam, scope):
        raise PermissionDenied("这场考试不属于您管理的单位。")
    return exam


def can_manage(exam: Exam, scope: Scope) -> bool:
    """Whether ``scope`` may change the exam (its settings, roster, window, papers)."""
    return scope.manages_unit(exam.owner_unit_id)


def require_manage(exam: Exam, scope: Scope, message: str) -> Exam:
    """``exam`` if ``scope`` may change it; otherwise ``PermissionDenied(message)``."""
    if not can_manage(exam, scope):
        raise PermissionDenied("分析人员只能查看，不能修改。" if scope.read_only else message)
    return exam


def get_managed_exam(session: Session, exam_id: int, scope: Scope) -> Exam:
    """An exam ``scope`` may change: 404 if it does not see it, 403 if it only sees it."""
    exam = get_visible_exam(session, exam_id, scope)
    return require_manage(exam, scope, "只有主办单位的管理员可以修改此考试。")


def participants_in_scope(
    session: Session,
    exam: Exam,
    scope: Scope,
    *,
    under: OrgUnit | None = None,
    limit: int | None = None,
) -> list[tuple[Participant, Person]]:
    """The exam's participants that ``scope`` sees (enrolled for a unit in scope), with
    their person, in tree order; ``under`` narrows to one subtree."""
    stmt = (
        select(Participant, Person)
        .join(Person, Participant.person_id == Person.id)
        .join(OrgUnit, Participant.unit_id == OrgUnit.id)
        .where(Participant.exam_id == exam.id, scope.unit_filter(Participant.unit_id))
        .order_by(OrgUnit.path, Person.person_no)
    )
    if under is not None:
        stmt = stmt.where(OrgUnit.path.like(f"{under.path}%"))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(part, person) for part, person in session.execute(stmt)]


def participant_in_scope(session: Session, exam: Exam, person: Person, scope: Scope) -> Participant:
    """``person``'s participation in ``exam`` if it is in scope; ``NotFound`` otherwise."""
    part = session.scalar(
        select(Participant).where(
            Participant.exam_id == exam.id, Participant.person_id == person.id
        )
    )
    if part is None or not scope.covers_unit(part.unit_id):
        raise NotFound(f"{person.person_no} 不是本场考试的考生（或不在您的管理范围内）。")
    return part


def enrolled_units(session: Session, exam: Exam, scope: Scope | None = None) -> list[OrgUnit]:
    """The units the exam's participants were enrolled for (those in ``scope`` when
    given), in tree order."""
    stmt = select(OrgUnit).where(
        OrgUnit.id.in_(select(Participant.unit_id).where(Participant.exam_id == exam.id))
    )
    if scope is not None:
        stmt = stmt.where(scope.unit_filter(OrgUnit.id))
    return list(session.scalars(stmt.order_by(OrgUnit.path)))
