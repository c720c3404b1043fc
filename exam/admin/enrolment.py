"""Enrolment: who sits an exam. Enrol everyone of some units (with their subtrees),
filtered by rank, plus people named by number; remove a participant who has not
started. Only the exam's managers enrol, and only people in their scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.accounts.scope import Scope, require_unit
from core.audit import Actor, record
from core.errors import Conflict, InvalidInput
from core.org.models import RANK_BY_LABEL, OrgUnit, Person, Rank
from exam.admin.access import participant_in_scope, require_manage
from exam.models import Attempt, Exam, Participant


@dataclass
class EnrolResult:
    added: int = 0
    already: int = 0
    #: named people that could not be enrolled, with the reason
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"added": self.added, "already": self.already, "problems": self.problems}


def parse_ranks(values) -> list[str]:
    """Rank codes from codes or Chinese labels (县处级, 乡科级 ...)."""
    out = []
    for v in values or ():
        v = str(v).strip()
        if not v:
            continue
        if v in {r.value for r in Rank}:
            out.append(v)
        elif v in RANK_BY_LABEL:
            out.append(RANK_BY_LABEL[v].value)
        else:
            raise InvalidInput(f"未知职级：{v}（可选：县处级、乡科级、一般干部、其他公职人员）")
    return out


def enrol(
    session: Session,
    exam: Exam,
    *,
    units: list[OrgUnit] = (),
    ranks: list[str] = (),
    person_nos: list[str] = (),
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime,
) -> EnrolResult:
    """Enrol people: everyone active in ``units`` (with their subtrees), filtered by
    ``ranks`` if given; ``ranks`` alone means those ranks in the owner unit's subtree;
    plus the ``person_nos`` named. Existing participants are left as they are."""
    require_manage(exam, scope, "只有主办单位的管理员可以为此考试报名考生。")
    ranks = parse_ranks(ranks)
    result = EnrolResult()
    roots, via = list(units), "unit"
    if ranks and not roots:
        roots, via = [exam.owner_unit], "rank"
    for unit in roots:
        require_unit(scope, unit, manage=True)
    chosen: dict[int, tuple[Person, str]] = {}
    for person in _people_under(session, roots, ranks):
        chosen.setdefault(person.id, (person, via))
    for person in _named_people(session, person_nos, scope, result.problems):
        chosen.setdefault(person.id, (person, "named"))
    added = _add_participants(session, exam, chosen, result, now)
    if added:
        record(
            session,
            actor,
            "exam.enrol",
            "exam",
            exam.id,
            after={
                "added": len(added),
                "units": [u.code for u in units],
                "ranks": ranks,
                "person_nos": added[:1000],
            },
            at=now,
        )
    return result


def _people_under(session: Session, roots: list[OrgUnit], ranks: list[str]) -> list[Person]:
    """Active people in the subtrees of ``roots`` (of ``ranks`` if given), tree order."""
    if not roots:
        return []
    stmt = (
        select(Person)
        .join(OrgUnit, Person.unit_id == OrgUnit.id)
        .where(
            Person.is_active.is_(True),
            or_(*[OrgUnit.path.like(f"{u.path}%") for u in roots]),
        )
    )
    if ranks:
        stmt = stmt.where(Person.rank.in_(ranks))
    return list(session.scalars(stmt.order_by(OrgUnit.path, Person.person_no)))


def _named_people(session: Session, person_nos, scope: Scope, problems: list[str]) -> list[Person]:
    """The people named by number; each one that cannot be enrolled adds a problem."""
    found = []
    for no in person_nos or ():
        no = str(no).strip()
        if not no:
            continue
        person = session.scalar(
            select(Person).where(Person.person_no == no).options(selectinload(Person.unit))
        )
        if person is None:
            problems.append(f"人员编号不存在：{no}")
        elif not scope.manages_unit(person.unit_id):
            problems.append(f"人员 {no} 不在您的管理范围内")
        elif not person.is_active:
            problems.append(f"人员 {no} 已停用")
        else:
            found.append(person)
    return found


def _add_participants(
    session: Session,
    exam: Exam,
    chosen: dict[int, tuple[Person, str]],
    result: EnrolResult,
    now: dt.datetime,
) -> list[str]:
    """Add the chosen people not enrolled yet; returns the person numbers added."""
    existing = set(
        session.scalars(select(Participant.person_id).where(Participant.exam_id == exam.id))
    )
    added = []
    for person_id, (person, how) in chosen.items():
        if person_id in existing:
            result.already += 1
            continue
        session.add(
            Participant(
                exam_id=exam.id,
                person_id=person_id,
                unit_id=person.unit_id,
                enrolled_via=how,
                enrolled_at=now,
            )
        )
        added.append(person.person_no)
        result.added += 1
    session.flush()
    return added


def remove_participant(
    session: Session, exam: Exam, person: Person, *, scope: Scope, actor, now
) -> None:
    require_manage(exam, scope, "只有主办单位的管理员可以修改考生名单。")
    part = participant_in_scope(session, exam, person, scope)
    if session.scalar(
        select(func.count()).where(Attempt.exam_id == exam.id, Attempt.person_id == person.id)
    ):
        raise Conflict("该考生已开始作答，不能移出考生名单。")
    session.delete(part)
    session.flush()
    record(
        session,
        actor,
        "exam.unenrol",
        "exam",
        exam.id,
        before={"person_no": person.person_no},
        at=now,
    )


def enrolled_person_ids(session: Session, exam: Exam) -> set[int]:
    """The ids of everyone enrolled in ``exam``."""
    return set(session.scalars(select(Participant.person_id).where(Participant.exam_id == exam.id)))
