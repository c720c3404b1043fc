"""Exam administration: create, enrol, open/close, extend, extra time, live monitor,
results and self-reported results. Services take a session, ``now`` and the caller's
``Scope``; they never commit. Every change is written to the audit log.

Scope rules: a unit admin sees an exam owned by a unit in their subtree, or one that
enrols people of their subtree (then only those people); they change only exams owned
in their subtree and enrol only their subtree's people. Analysts and admins (scope
``everything``) see all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.accounts.services import Scope, unit_ids_in_scope
from core.audit import Actor, record
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.excel import RowError, SheetSpec, read_tables
from core.org.models import RANK_BY_LABEL, RANK_LABELS, OrgUnit, Person, Rank
from core.org.services import full_name
from exam.models import (
    Answer,
    Attempt,
    AttemptStatus,
    Blueprint,
    Exam,
    ExamMode,
    ExamStatus,
    IntegrityEvent,
    Navigation,
    Paper,
    PaperItem,
    Participant,
    ResultPolicy,
    ReviewPolicy,
    SelfReportedResult,
)

MODE_LABELS = {"online": "在线考试", "offline": "线下考试", "centralized": "集中测试"}
STATUS_LABELS = {"draft": "草稿", "open": "进行中", "closed": "已结束"}
NAVIGATION_LABELS = {"all": "整卷作答", "single": "逐题作答"}
RESULT_POLICY_LABELS = {
    "immediate": "交卷后立即显示成绩",
    "after_close": "考试结束后显示成绩",
    "hidden": "不向考生显示成绩",
}
REVIEW_POLICY_LABELS = {"none": "不提供答案解析", "after_close": "考试结束后可查看答案与解析"}
ENROL_LABELS = {
    "unit": "按单位",
    "rank": "按职级",
    "named": "指定人员",
    "draw": "抽样",
    "late": "补报",
}
EVERYTHING = Scope(everything=True)


# ---------------------------------------------------------------- settings


@dataclass
class ExamSettings:
    """The editable fields of an exam (validated by ``validate``)."""

    title: str
    blueprint_id: int
    opens_at: dt.datetime
    closes_at: dt.datetime
    duration_minutes: int
    grace_seconds: int = 30
    #: None = the blueprint's pass mark
    pass_mark: float | None = None
    max_attempts: int = 1
    navigation: str = Navigation.all.value
    result_policy: str = ResultPolicy.immediate.value
    review_policy: str = ReviewPolicy.after_close.value
    mode: str = ExamMode.online.value
    instructions: str = ""

    def validate(self) -> None:
        problems = []
        if not (self.title or "").strip():
            problems.append("请填写考试名称")
        elif len(self.title) > 200:
            problems.append("考试名称不能超过 200 个字")
        if self.opens_at is None or self.closes_at is None:
            problems.append("请填写考试开放和结束时间")
        elif self.closes_at <= self.opens_at:
            problems.append("结束时间必须晚于开放时间")
        if not isinstance(self.duration_minutes, int) or self.duration_minutes <= 0:
            problems.append("考试时长必须是正整数（分钟）")
        elif self.duration_minutes > 24 * 60:
            problems.append("考试时长不能超过 24 小时")
        if not isinstance(self.grace_seconds, int) or self.grace_seconds < 0:
            problems.append("宽限时间不能为负数")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            problems.append("作答次数至少为 1")
        if self.pass_mark is not None and self.pass_mark < 0:
            problems.append("及格分不能为负数")
        for value, enum_cls, label in (
            (self.navigation, Navigation, "作答方式"),
            (self.result_policy, ResultPolicy, "成绩显示方式"),
            (self.review_policy, ReviewPolicy, "答案解析查看方式"),
            (self.mode, ExamMode, "考试形式"),
        ):
            if value not in {m.value for m in enum_cls}:
                problems.append(f"{label}无效：{value}")
        if problems:
            raise InvalidInput("考试设置有误：" + "；".join(problems), details=problems)


def resolve_blueprint(session: Session, ref: object) -> Blueprint:
    """A blueprint by id, by ``code`` (latest version) or ``code@version``."""
    text = str(ref or "").strip()
    if not text:
        raise InvalidInput("请选择组卷规则。")
    bp = None
    if text.isdigit():
        bp = session.get(Blueprint, int(text))
    if bp is None:
        m = re.fullmatch(r"(.+?)(?:[@:]v?(\d+))?", text)
        code, version = m.group(1), m.group(2)
        stmt = select(Blueprint).where(Blueprint.code == code)
        if version:
            stmt = stmt.where(Blueprint.version == int(version))
        bp = session.scalar(stmt.order_by(Blueprint.version.desc()).limit(1))
    if bp is None:
        raise NotFound(f"组卷规则不存在：{text}")
    return bp


def _exam_snapshot(exam: Exam) -> dict:
    return {
        "title": exam.title,
        "blueprint_id": exam.blueprint_id,
        "owner_unit_id": exam.owner_unit_id,
        "opens_at": exam.opens_at.isoformat() if exam.opens_at else None,
        "closes_at": exam.closes_at.isoformat() if exam.closes_at else None,
        "duration_minutes": exam.duration_minutes,
        "grace_seconds": exam.grace_seconds,
        "pass_mark": exam.pass_mark,
        "max_attempts": exam.max_attempts,
        "navigation": exam.navigation,
        "result_policy": exam.result_policy,
        "review_policy": exam.review_policy,
        "mode": exam.mode,
        "status": exam.status,
    }


# ---------------------------------------------------------------- scope helpers


def _unit_ids(session: Session, scope: Scope):
    return unit_ids_in_scope(session, scope)


def _check_unit_in_scope(unit: OrgUnit, scope: Scope) -> None:
    if not scope.covers_path(unit.path):
        raise PermissionDenied(f"单位「{unit.name}」不在您的管理范围内。")


def visible_exams_stmt(session: Session, scope: Scope):
    stmt = select(Exam)
    ids = _unit_ids(session, scope)
    if ids is not None:
        stmt = stmt.where(
            or_(
                Exam.owner_unit_id.in_(ids),
                exists().where(Participant.exam_id == Exam.id, Participant.unit_id.in_(ids)),
            )
        )
    return stmt


def list_exams(session: Session, scope: Scope, *, status: str | None = None) -> list[Exam]:
    stmt = visible_exams_stmt(session, scope).options(
        selectinload(Exam.owner_unit), selectinload(Exam.blueprint)
    )
    if status:
        stmt = stmt.where(Exam.status == status)
    return list(session.scalars(stmt.order_by(Exam.opens_at.desc(), Exam.id.desc())))


def get_exam(session: Session, exam_id: int, scope: Scope) -> Exam:
    """An exam the scope may see (NotFound otherwise: nothing leaks about others)."""
    exam = session.scalar(visible_exams_stmt(session, scope).where(Exam.id == exam_id))
    if exam is None:
        raise NotFound("考试不存在或不在您的管理范围内。")
    return exam


def can_manage(exam: Exam, scope: Scope) -> bool:
    return scope.covers_path(exam.owner_unit.path)


def get_managed_exam(session: Session, exam_id: int, scope: Scope) -> Exam:
    exam = get_exam(session, exam_id, scope)
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以修改此考试。")
    return exam


def exam_counts(session: Session, exam_ids: list[int], scope: Scope) -> dict[int, dict]:
    """Participants, papers and submitted attempts per exam (within scope)."""
    out = {i: {"participants": 0, "papers": 0, "submitted": 0} for i in exam_ids}
    if not exam_ids:
        return out
    ids = _unit_ids(session, scope)
    stmt = select(Participant.exam_id, func.count()).where(Participant.exam_id.in_(exam_ids))
    if ids is not None:
        stmt = stmt.where(Participant.unit_id.in_(ids))
    for exam_id, n in session.execute(stmt.group_by(Participant.exam_id)):
        out[exam_id]["participants"] = n
    for exam_id, n in session.execute(
        select(Paper.exam_id, func.count())
        .where(Paper.exam_id.in_(exam_ids))
        .group_by(Paper.exam_id)
    ):
        out[exam_id]["papers"] = n
    stmt = select(Attempt.exam_id, func.count(func.distinct(Attempt.person_id))).where(
        Attempt.exam_id.in_(exam_ids), Attempt.status == AttemptStatus.submitted.value
    )
    if ids is not None:
        stmt = stmt.where(Attempt.unit_id.in_(ids))
    for exam_id, n in session.execute(stmt.group_by(Attempt.exam_id)):
        out[exam_id]["submitted"] = n
    return out


# ---------------------------------------------------------------- create / edit


def create_exam(
    session: Session,
    settings: ExamSettings,
    *,
    owner_unit: OrgUnit,
    seed: str,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime,
) -> Exam:
    """A draft exam owned by ``owner_unit`` (which must be in the caller's scope)."""
    settings.validate()
    _check_unit_in_scope(owner_unit, scope)
    blueprint = resolve_blueprint(session, settings.blueprint_id)
    exam = Exam(
        title=settings.title.strip(),
        blueprint=blueprint,
        owner_unit=owner_unit,
        seed=seed,
        opens_at=settings.opens_at,
        closes_at=settings.closes_at,
        duration_minutes=settings.duration_minutes,
        grace_seconds=settings.grace_seconds,
        pass_mark=blueprint.pass_mark if settings.pass_mark is None else settings.pass_mark,
        max_attempts=settings.max_attempts,
        navigation=settings.navigation,
        result_policy=settings.result_policy,
        review_policy=settings.review_policy,
        mode=settings.mode,
        status=ExamStatus.draft.value,
        instructions=settings.instructions or "",
        created_at=now,
        created_by=actor.label if actor else None,
    )
    if exam.pass_mark > blueprint.total_points:
        raise InvalidInput(f"及格分不能高于总分（{blueprint.total_points:g}）。")
    session.add(exam)
    session.flush()
    record(session, actor, "exam.create", "exam", exam.id, after=_exam_snapshot(exam), at=now)
    return exam


def update_exam(
    session: Session,
    exam: Exam,
    settings: ExamSettings,
    *,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime,
) -> Exam:
    """Edit an exam's settings. Once papers exist the blueprint is fixed; once someone
    has started, only the title, instructions and policies may change (use the audited
    extend actions for time)."""
    settings.validate()
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以修改此考试。")
    before = _exam_snapshot(exam)
    blueprint = resolve_blueprint(session, settings.blueprint_id)
    has_papers = bool(session.scalar(select(func.count()).where(Paper.exam_id == exam.id)))
    started = bool(session.scalar(select(func.count()).where(Attempt.exam_id == exam.id)))
    if blueprint.id != exam.blueprint_id and has_papers:
        raise Conflict("已生成试卷，不能更换组卷规则。")
    if started and (
        settings.duration_minutes != exam.duration_minutes
        or settings.opens_at != exam.opens_at
        or settings.closes_at < exam.closes_at
        or settings.mode != exam.mode
        or settings.max_attempts < exam.max_attempts
    ):
        raise Conflict("已有考生开始作答：不能修改时长、开放时间或考试形式，也不能缩短窗口。")
    exam.title = settings.title.strip()
    exam.blueprint = blueprint
    exam.opens_at, exam.closes_at = settings.opens_at, settings.closes_at
    exam.duration_minutes = settings.duration_minutes
    exam.grace_seconds = settings.grace_seconds
    exam.pass_mark = blueprint.pass_mark if settings.pass_mark is None else settings.pass_mark
    exam.max_attempts = settings.max_attempts
    exam.navigation, exam.mode = settings.navigation, settings.mode
    exam.result_policy, exam.review_policy = settings.result_policy, settings.review_policy
    exam.instructions = settings.instructions or ""
    if exam.pass_mark > blueprint.total_points:
        raise InvalidInput(f"及格分不能高于总分（{blueprint.total_points:g}）。")
    session.flush()
    after = _exam_snapshot(exam)
    if after != before:
        record(session, actor, "exam.edit", "exam", exam.id, before=before, after=after, at=now)
    return exam


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
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以为此考试报名考生。")
    ranks = parse_ranks(ranks)
    result = EnrolResult()
    existing = set(
        session.scalars(select(Participant.person_id).where(Participant.exam_id == exam.id))
    )
    chosen: dict[int, tuple[Person, str]] = {}
    roots = list(units)
    via = "unit"
    if ranks and not roots:
        roots = [exam.owner_unit]
        via = "rank"
    for unit in roots:
        _check_unit_in_scope(unit, scope)
    if roots:
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
        for person in session.scalars(stmt.order_by(OrgUnit.path, Person.person_no)):
            chosen.setdefault(person.id, (person, via))
    for no in person_nos or ():
        no = str(no).strip()
        if not no:
            continue
        person = session.scalar(
            select(Person).where(Person.person_no == no).options(selectinload(Person.unit))
        )
        if person is None:
            result.problems.append(f"人员编号不存在：{no}")
            continue
        if not scope.covers_path(person.unit.path):
            result.problems.append(f"人员 {no} 不在您的管理范围内")
            continue
        if not person.is_active:
            result.problems.append(f"人员 {no} 已停用")
            continue
        chosen.setdefault(person.id, (person, "named"))
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


def remove_participant(
    session: Session, exam: Exam, person: Person, *, scope: Scope, actor, now
) -> None:
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以修改考生名单。")
    part = _participant(session, exam, person, scope)
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


# ---------------------------------------------------------------- open / close / extend


def _set_status(session: Session, exam: Exam, status: str, *, actor, now: dt.datetime) -> Exam:
    before = exam.status
    exam.status = status
    session.flush()
    action = "exam.open" if status == ExamStatus.open.value else "exam.close"
    record(
        session, actor, action, "exam", exam.id,
        before={"status": before}, after={"status": status}, at=now,
    )  # fmt: skip
    return exam


def open_exam(session: Session, exam: Exam, *, scope: Scope, actor, now: dt.datetime) -> Exam:
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以开放此考试。")
    if exam.status == ExamStatus.open.value:
        raise Conflict("考试已经开放。")
    if exam.closes_at <= now:
        raise Conflict("考试结束时间已过，请先延长考试窗口。")
    return _set_status(session, exam, ExamStatus.open.value, actor=actor, now=now)


def close_exam(session: Session, exam: Exam, *, scope: Scope, actor, now: dt.datetime) -> Exam:
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以关闭此考试。")
    if exam.status == ExamStatus.closed.value:
        raise Conflict("考试已经关闭。")
    return _set_status(session, exam, ExamStatus.closed.value, actor=actor, now=now)


def _participant(session: Session, exam: Exam, person: Person, scope: Scope) -> Participant:
    part = session.scalar(
        select(Participant).where(
            Participant.exam_id == exam.id, Participant.person_id == person.id
        )
    )
    if part is None or not scope.covers_path(part.unit.path):
        raise NotFound(f"{person.person_no} 不是本场考试的考生（或不在您的管理范围内）。")
    return part


def _natural_deadline(attempt: Attempt, exam: Exam, extra_minutes: int) -> dt.datetime:
    return min(
        attempt.started_at + dt.timedelta(minutes=exam.duration_minutes + extra_minutes),
        exam.closes_at,
    )


def extend_window(
    session: Session,
    exam: Exam,
    until: dt.datetime,
    *,
    scope: Scope,
    actor,
    now: dt.datetime,
    reason: str = "",
) -> int:
    """Move the window's close later. In-progress attempts that were cut short by the
    old close get the time their duration allows, up to the new close. Returns how
    many attempts got a later deadline."""
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以延长考试窗口。")
    if until <= exam.closes_at:
        raise InvalidInput("新的结束时间必须晚于当前结束时间。")
    before = exam.closes_at
    exam.closes_at = until
    extra = dict(
        session.execute(
            select(Participant.person_id, Participant.extra_minutes).where(
                Participant.exam_id == exam.id
            )
        ).all()
    )
    moved = 0
    for attempt in session.scalars(
        select(Attempt).where(
            Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.in_progress.value
        )
    ):
        target = _natural_deadline(attempt, exam, extra.get(attempt.person_id, 0))
        if target > attempt.deadline_at:
            attempt.deadline_at = target
            moved += 1
    session.flush()
    record(
        session,
        actor,
        "exam.extend_window",
        "exam",
        exam.id,
        before={"closes_at": before.isoformat()},
        after={"closes_at": until.isoformat(), "attempts_extended": moved, "reason": reason},
        at=now,
    )
    return moved


def set_extra_time(
    session: Session,
    exam: Exam,
    person: Person,
    minutes: int,
    reason: str,
    *,
    scope: Scope,
    actor,
    now: dt.datetime,
) -> Participant:
    """Accommodation: ``minutes`` extra on top of the duration (replaces the previous
    value), with a reason. An in-progress attempt gets its deadline recomputed."""
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以设置延时。")
    if not isinstance(minutes, int) or minutes < 0 or minutes > 24 * 60:
        raise InvalidInput("延长时间应为 0 到 1440 之间的整数（分钟）。")
    if not (reason or "").strip():
        raise InvalidInput("请填写延时原因。")
    part = _participant(session, exam, person, scope)
    before = {"extra_minutes": part.extra_minutes, "reason": part.extra_reason}
    part.extra_minutes = minutes
    part.extra_reason = reason.strip()
    attempt = _in_progress_attempt(session, exam, person)
    if attempt is not None:
        target = _natural_deadline(attempt, exam, minutes)
        if target > attempt.deadline_at:
            attempt.deadline_at = target
    session.flush()
    record(
        session,
        actor,
        "exam.extra_time",
        "participant",
        part.id,
        before={"person_no": person.person_no, **before},
        after={"person_no": person.person_no, "extra_minutes": minutes, "reason": reason.strip()},
        at=now,
    )
    return part


def extend_person_time(
    session: Session,
    exam: Exam,
    person: Person,
    minutes: int,
    reason: str,
    *,
    scope: Scope,
    actor,
    now: dt.datetime,
) -> Attempt | None:
    """During an incident: ``minutes`` more for one person. Adds to their extra time
    and pushes an in-progress attempt's deadline by ``minutes`` (even past the window's
    close, since the time was lost through no fault of theirs)."""
    if not can_manage(exam, scope):
        raise PermissionDenied("只有主办单位的管理员可以延长考生时间。")
    if not isinstance(minutes, int) or minutes <= 0 or minutes > 24 * 60:
        raise InvalidInput("延长时间应为 1 到 1440 之间的整数（分钟）。")
    if not (reason or "").strip():
        raise InvalidInput("请填写延时原因。")
    part = _participant(session, exam, person, scope)
    attempt = _in_progress_attempt(session, exam, person)
    before = {
        "person_no": person.person_no,
        "extra_minutes": part.extra_minutes,
        "deadline_at": attempt.deadline_at.isoformat() if attempt else None,
    }
    part.extra_minutes += minutes
    part.extra_reason = "；".join(x for x in (part.extra_reason, reason.strip()) if x)
    if attempt is not None:
        attempt.deadline_at = max(attempt.deadline_at, now) + dt.timedelta(minutes=minutes)
    session.flush()
    record(
        session,
        actor,
        "exam.extend_person",
        "participant",
        part.id,
        before=before,
        after={
            "person_no": person.person_no,
            "extra_minutes": part.extra_minutes,
            "deadline_at": attempt.deadline_at.isoformat() if attempt else None,
            "minutes": minutes,
            "reason": reason.strip(),
        },
        at=now,
    )
    return attempt


def _in_progress_attempt(session: Session, exam: Exam, person: Person) -> Attempt | None:
    return session.scalar(
        select(Attempt)
        .where(
            Attempt.exam_id == exam.id,
            Attempt.person_id == person.id,
            Attempt.status == AttemptStatus.in_progress.value,
        )
        .order_by(Attempt.attempt_no.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- monitor


def _is_answered(response: object) -> bool:
    if response is None or response == "" or response == []:
        return False
    if isinstance(response, list):
        return any((bool(str(x).strip()) if not isinstance(x, list) else any(x)) for x in response)
    return True


def _unit_names(session: Session, unit_ids) -> dict[int, str]:
    units = session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_(set(unit_ids))).options(selectinload(OrgUnit.parent))
    ).all()
    return {u.id: full_name(u) for u in units}


def monitor(session: Session, exam: Exam, *, scope: Scope, now: dt.datetime) -> dict:
    """Live state of an exam for the people in scope: counts per unit (enrolled,
    started, in progress, submitted, absent) and each candidate's progress."""
    ids = _unit_ids(session, scope)
    pstmt = (
        select(Participant, Person)
        .join(Person, Participant.person_id == Person.id)
        .where(Participant.exam_id == exam.id)
    )
    if ids is not None:
        pstmt = pstmt.where(Participant.unit_id.in_(ids))
    parts = session.execute(pstmt.order_by(Participant.unit_id, Person.person_no)).all()
    person_ids = [p.person_id for p, _ in parts]
    attempts: dict[int, list[Attempt]] = {}
    if person_ids:
        for a in session.scalars(
            select(Attempt)
            .where(Attempt.exam_id == exam.id, Attempt.person_id.in_(person_ids))
            .order_by(Attempt.attempt_no)
        ):
            attempts.setdefault(a.person_id, []).append(a)
    attempt_ids = [a.id for lst in attempts.values() for a in lst]
    answered: dict[int, int] = {}
    last_saved: dict[int, dt.datetime] = {}
    events: dict[int, int] = {}
    items: dict[int, int] = {}
    if attempt_ids:
        # Autosave does not touch the attempt row (hot path), so the last save is the
        # newest candidate save (seq > 0; blank rows added when scoring have seq 0).
        for attempt_id, response, seq, saved_at in session.execute(
            select(Answer.attempt_id, Answer.response, Answer.seq, Answer.saved_at).where(
                Answer.attempt_id.in_(attempt_ids)
            )
        ):
            if _is_answered(response):
                answered[attempt_id] = answered.get(attempt_id, 0) + 1
            if seq and (attempt_id not in last_saved or saved_at > last_saved[attempt_id]):
                last_saved[attempt_id] = saved_at
        for attempt_id, n in session.execute(
            select(IntegrityEvent.attempt_id, func.count())
            .where(IntegrityEvent.attempt_id.in_(attempt_ids))
            .group_by(IntegrityEvent.attempt_id)
        ):
            events[attempt_id] = n
    paper_ids = {a.paper_id for lst in attempts.values() for a in lst}
    item_totals = {}
    if paper_ids:
        item_totals = dict(
            session.execute(
                select(PaperItem.paper_id, func.count())
                .where(PaperItem.paper_id.in_(paper_ids))
                .group_by(PaperItem.paper_id)
            ).all()
        )
    papers = {}
    if person_ids:
        papers = dict(
            session.execute(
                select(Paper.person_id, Paper.id).where(
                    Paper.exam_id == exam.id, Paper.person_id.in_(person_ids)
                )
            ).all()
        )
        if papers:
            for pid, n in session.execute(
                select(PaperItem.paper_id, func.count())
                .where(PaperItem.paper_id.in_(set(papers.values())))
                .group_by(PaperItem.paper_id)
            ):
                items[pid] = n
    names = _unit_names(session, [p.unit_id for p, _ in parts])
    units: dict[int, dict] = {}
    candidates = []
    for part, person in parts:
        u = units.setdefault(
            part.unit_id,
            {
                "unit_id": part.unit_id,
                "unit": names.get(part.unit_id, ""),
                "enrolled": 0,
                "started": 0,
                "in_progress": 0,
                "submitted": 0,
                "absent": 0,
            },
        )
        u["enrolled"] += 1
        lst = attempts.get(person.id, [])
        latest = lst[-1] if lst else None
        row = {
            "person_no": person.person_no,
            "name": person.name,
            "unit": names.get(part.unit_id, ""),
            "status": "absent",
            "answered": 0,
            "total": items.get(papers.get(person.id), 0),
            "seconds_left": None,
            "deadline_at": None,
            "last_saved_at": None,
            "integrity_events": sum(events.get(a.id, 0) for a in lst),
            "extra_minutes": part.extra_minutes,
            "attempts": len(lst),
            "score": None,
        }
        if latest is None:
            u["absent"] += 1
        else:
            u["started"] += 1
            row["answered"] = answered.get(latest.id, 0)
            row["total"] = item_totals.get(latest.paper_id, row["total"])
            row["last_saved_at"] = _iso(last_saved.get(latest.id) or latest.last_saved_at)
            row["deadline_at"] = _iso(latest.deadline_at)
            if latest.status == AttemptStatus.submitted.value:
                row["status"] = "submitted"
                row["score"] = latest.score
                u["submitted"] += 1
            else:
                expired = latest.deadline_at <= now
                row["status"] = "expired" if expired else "in_progress"
                row["seconds_left"] = max(0, int((latest.deadline_at - now).total_seconds()))
                u["in_progress"] += 1
        candidates.append(row)
    totals = {
        k: sum(u[k] for u in units.values())
        for k in ("enrolled", "started", "in_progress", "submitted", "absent")
    }
    return {
        "exam": {
            "id": exam.id,
            "title": exam.title,
            "status": exam.status,
            "opens_at": _iso(exam.opens_at),
            "closes_at": _iso(exam.closes_at),
        },
        "now": _iso(now),
        "totals": totals,
        "units": sorted(units.values(), key=lambda u: u["unit"]),
        "candidates": candidates,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


# ---------------------------------------------------------------- results


RESULT_HEADERS = [
    "人员编号",
    "姓名",
    "参考单位",
    "职级",
    "状态",
    "得分",
    "满分",
    "是否及格",
    "交卷时间",
    "作答次数",
]
UNIT_RESULT_HEADERS = [
    "单位",
    "应考人数",
    "实考人数",
    "及格人数",
    "及格率",
    "平均分",
    "最高分",
    "最低分",
]


def results(session: Session, exam: Exam, *, scope: Scope, unit: OrgUnit | None = None) -> dict:
    """Each candidate's best submitted score and a summary per unit they sat for.
    ``unit`` narrows to one subtree (within the scope)."""
    ids = _unit_ids(session, scope)
    stmt = (
        select(Participant, Person)
        .join(Person, Participant.person_id == Person.id)
        .join(OrgUnit, Participant.unit_id == OrgUnit.id)
        .where(Participant.exam_id == exam.id)
    )
    if ids is not None:
        stmt = stmt.where(Participant.unit_id.in_(ids))
    if unit is not None:
        _check_unit_in_scope(unit, scope)
        stmt = stmt.where(OrgUnit.path.like(f"{unit.path}%"))
    parts = session.execute(stmt.order_by(OrgUnit.path, Person.person_no)).all()
    person_ids = [p.person_id for p, _ in parts]
    by_person: dict[int, list[Attempt]] = {}
    if person_ids:
        for a in session.scalars(
            select(Attempt).where(Attempt.exam_id == exam.id, Attempt.person_id.in_(person_ids))
        ):
            by_person.setdefault(a.person_id, []).append(a)
    names = _unit_names(session, [p.unit_id for p, _ in parts])
    rows = []
    units: dict[int, dict] = {}
    for part, person in parts:
        lst = by_person.get(person.id, [])
        submitted = [a for a in lst if a.status == AttemptStatus.submitted.value]
        best = max(submitted, key=lambda a: (a.score or 0, -a.attempt_no), default=None)
        # results stay with the unit the person sat the exam for
        unit_id = best.unit_id if best else part.unit_id
        if unit_id not in names:
            names.update(_unit_names(session, [unit_id]))
        status = "已交卷" if best else ("作答中" if lst else "缺考")
        row = {
            "person_no": person.person_no,
            "name": person.name,
            "unit_id": unit_id,
            "unit": names.get(unit_id, ""),
            "rank": RANK_LABELS.get(Rank(person.rank), person.rank),
            "status": status,
            "score": best.score if best else None,
            "max_score": best.max_score if best else None,
            "passed": best.passed if best else None,
            "submitted_at": best.submitted_at if best else None,
            "attempts": len(lst),
        }
        rows.append(row)
        u = units.setdefault(
            unit_id, {"unit": row["unit"], "enrolled": 0, "sat": 0, "passed": 0, "scores": []}
        )
        u["enrolled"] += 1
        if best is not None:
            u["sat"] += 1
            u["passed"] += 1 if best.passed else 0
            if best.score is not None:
                u["scores"].append(best.score)
    unit_rows = []
    for u in sorted(units.values(), key=lambda x: x["unit"]):
        scores = u.pop("scores")
        unit_rows.append(
            {
                **u,
                "pass_rate": (u["passed"] / u["sat"]) if u["sat"] else None,
                "mean": (sum(scores) / len(scores)) if scores else None,
                "max": max(scores) if scores else None,
                "min": min(scores) if scores else None,
            }
        )
    all_scores = [r["score"] for r in rows if r["score"] is not None]
    sat = sum(1 for r in rows if r["status"] == "已交卷")
    passed = sum(1 for r in rows if r["passed"])
    summary = {
        "enrolled": len(rows),
        "sat": sat,
        "passed": passed,
        "pass_rate": passed / sat if sat else None,
        "mean": sum(all_scores) / len(all_scores) if all_scores else None,
    }
    return {"rows": rows, "units": unit_rows, "summary": summary}


def results_sheets(exam: Exam, data: dict) -> list[SheetSpec]:
    def _fmt_time(v):
        if v is None:
            return None
        return v.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")

    rows = [
        [
            r["person_no"],
            r["name"],
            r["unit"],
            r["rank"],
            r["status"],
            r["score"],
            r["max_score"],
            None if r["passed"] is None else ("是" if r["passed"] else "否"),
            _fmt_time(r["submitted_at"]),
            r["attempts"],
        ]
        for r in data["rows"]
    ]
    unit_rows = [
        [
            u["unit"],
            u["enrolled"],
            u["sat"],
            u["passed"],
            None if u["pass_rate"] is None else round(u["pass_rate"], 4),
            None if u["mean"] is None else round(u["mean"], 2),
            u["max"],
            u["min"],
        ]
        for u in data["units"]
    ]
    return [
        SheetSpec("考生成绩", RESULT_HEADERS, rows),
        SheetSpec("单位汇总", UNIT_RESULT_HEADERS, unit_rows),
        SheetSpec(
            "考试信息",
            ["项目", "内容"],
            [
                ["考试名称", exam.title],
                ["考试编号", exam.id],
                ["主办单位", full_name(exam.owner_unit)],
                ["开放时间", _fmt_time(exam.opens_at)],
                ["结束时间", _fmt_time(exam.closes_at)],
                ["及格分", exam.pass_mark],
            ],
            autofilter=False,
        ),
    ]


# ---------------------------------------------------------------- self-reported results


SELF_REPORTED_ALIASES = {
    "person_no": ["人员编号", "编号", "person_no"],
    "name": ["姓名", "name"],
    "score": ["成绩", "得分", "分数", "score"],
    "full_marks": ["满分", "总分", "full_marks"],
    "taken_on": ["考试日期", "测试日期", "日期", "date"],
    "exam_name": ["考试名称", "测试名称", "考试", "exam_name"],
}
SELF_REPORTED_REQUIRED = ("person_no", "score", "full_marks", "taken_on", "exam_name")
SELF_REPORTED_HEADERS = ["人员编号", "姓名", "成绩", "满分", "考试日期", "考试名称"]


@dataclass
class SelfReportReport:
    dry_run: bool = False
    written: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"}
        d["ok"] = self.ok
        d["errors"] = [e.as_dict() for e in self.errors]
        return d


def parse_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None:
        return None
    s = str(value).strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?", s)
    if m is None:
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
    if m is None:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def import_self_reported(
    session: Session,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    scope: Scope,
    actor: Actor | None,
    now: dt.datetime,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> SelfReportReport:
    """Upload results of exams held elsewhere. Each row names a person in the caller's
    scope; re-uploading the same (person, exam name, date) replaces the score."""
    report = SelfReportReport(dry_run=dry_run)
    sheets = read_tables(
        source, SELF_REPORTED_ALIASES, required=SELF_REPORTED_REQUIRED, filename=filename
    )
    if not sheets:
        raise InvalidInput(
            "文件中没有可识别的表格：需要列「人员编号、成绩、满分、考试日期、考试名称」。"
        )
    people = {
        p.person_no: p for p in session.scalars(select(Person).options(selectinload(Person.unit)))
    }
    seen: dict[tuple, int] = {}
    good = []
    for sheet in sheets:
        for row in sheet.rows:
            report.rows += 1
            v = row.values
            problems = []
            no = str(v.get("person_no") or "").strip()
            person = people.get(no)
            if not no:
                problems.append("缺少人员编号")
            elif person is None:
                problems.append(f"人员编号不存在：{no}")
            elif not scope.covers_path(person.unit.path):
                problems.append(f"人员 {no} 不在您的管理范围内")
            elif v.get("name") and str(v["name"]).strip() != person.name:
                problems.append(f"姓名「{v['name']}」与人员编号 {no} 不符")
            score, full = _number(v.get("score")), _number(v.get("full_marks"))
            if score is None:
                problems.append(f"成绩应为数字：{v.get('score') or '（空）'}")
            if full is None or full <= 0:
                problems.append(f"满分应为正数：{v.get('full_marks') or '（空）'}")
            if score is not None and full is not None and full > 0 and not 0 <= score <= full:
                problems.append(f"成绩 {score:g} 不在 0 到满分 {full:g} 之间")
            taken_on = parse_date(v.get("taken_on"))
            if taken_on is None:
                problems.append(f"考试日期无法识别：{v.get('taken_on') or '（空）'}")
            exam_name = str(v.get("exam_name") or "").strip()
            if not exam_name:
                problems.append("缺少考试名称")
            elif len(exam_name) > 200:
                problems.append("考试名称不能超过 200 个字")
            key = (no, exam_name, taken_on)
            if not problems and key in seen:
                problems.append(f"与第 {seen[key]} 行重复（同一人员、考试名称和日期）")
            if problems:
                report.errors.append(RowError(sheet.name, row.number, "；".join(problems)))
                continue
            seen[key] = row.number
            good.append((person, exam_name, taken_on, score, full))
    if (report.errors and not skip_invalid) or dry_run:
        return report
    for person, exam_name, taken_on, score, full in good:
        existing = session.scalar(
            select(SelfReportedResult).where(
                SelfReportedResult.person_id == person.id,
                SelfReportedResult.exam_name == exam_name,
                SelfReportedResult.taken_on == taken_on,
            )
        )
        if existing is None:
            session.add(
                SelfReportedResult(
                    person_id=person.id,
                    unit_id=person.unit_id,
                    exam_name=exam_name,
                    score=score,
                    full_marks=full,
                    taken_on=taken_on,
                    uploaded_at=now,
                    uploaded_by=actor.label if actor else None,
                )
            )
            report.created += 1
        else:
            existing.score, existing.full_marks = score, full
            existing.uploaded_at = now
            existing.uploaded_by = actor.label if actor else None
            report.updated += 1
    session.flush()
    report.written = True
    record(
        session,
        actor,
        "results.self_reported_upload",
        "self_reported_result",
        filename,
        after={"created": report.created, "updated": report.updated, "skipped": len(report.errors)},
        at=now,
    )
    return report


def list_self_reported(
    session: Session, *, scope: Scope, limit: int = 500
) -> list[SelfReportedResult]:
    stmt = select(SelfReportedResult).options(
        selectinload(SelfReportedResult.person), selectinload(SelfReportedResult.unit)
    )
    ids = _unit_ids(session, scope)
    if ids is not None:
        stmt = stmt.where(SelfReportedResult.unit_id.in_(ids))
    return list(
        session.scalars(
            stmt.order_by(SelfReportedResult.taken_on.desc(), SelfReportedResult.id.desc()).limit(
                limit
            )
        )
    )


def person_history(session: Session, person: Person, *, scope: Scope) -> list[dict]:
    """A person's past attempts, each with the unit they sat for (kept after moves);
    only attempts whose unit is in ``scope``."""
    stmt = (
        select(Attempt, Exam)
        .join(Exam, Attempt.exam_id == Exam.id)
        .where(Attempt.person_id == person.id)
    )
    ids = _unit_ids(session, scope)
    if ids is not None:
        stmt = stmt.where(Attempt.unit_id.in_(ids))
    rows = session.execute(stmt.order_by(Attempt.started_at.desc())).all()
    names = _unit_names(session, [a.unit_id for a, _ in rows])
    return [
        {
            "exam_id": e.id,
            "exam": e.title,
            "unit": names.get(a.unit_id, ""),
            "status": a.status,
            "score": a.score,
            "max_score": a.max_score,
            "passed": a.passed,
            "submitted_at": a.submitted_at,
        }
        for a, e in rows
    ]
