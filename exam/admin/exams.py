"""Exams: their settings (validated), create and edit, the list with its counts, and
the labels the pages show. Services take a session, ``now`` and the caller's ``Scope``;
they never commit. Every change is audited."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts.scope import Scope, require_unit
from core.audit import Actor, record
from core.errors import Conflict, InvalidInput, NotFound
from core.org.models import OrgUnit
from exam.admin.access import require_manage
from exam.models import (
    Attempt,
    AttemptStatus,
    Blueprint,
    Exam,
    ExamMode,
    ExamStatus,
    Navigation,
    Paper,
    Participant,
    ResultPolicy,
    ReviewPolicy,
)

MODE_LABELS = {"online": "在线考试", "offline": "线下考试", "centralized": "集中测试"}
STATUS_LABELS = {"draft": "草稿", "open": "进行中", "closed": "已结束"}
NAVIGATION_LABELS = {"all": "整卷作答", "single": "逐题作答"}
RESULT_POLICY_LABELS = {
    "immediate": "交卷后立即显示成绩",
    "after_close": "考试结束后显示成绩",
    "hidden": "不向考生显示成绩",
}
REVIEW_POLICY_LABELS = {
    "none": "不提供答案解析",
    "after_submit": "交卷后即可查看答案与解析",
    "after_close": "考试结束后可查看答案与解析",
    "manual": "管理员公布答案后可查看",
}
ENROL_LABELS = {
    "unit": "按单位",
    "rank": "按职级",
    "named": "指定人员",
    "draw": "抽样",
    "late": "补报",
}


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
        "review_released_at": exam.review_released_at.isoformat()
        if exam.review_released_at
        else None,
        "mode": exam.mode,
        "status": exam.status,
    }


def blueprint_choices(session: Session) -> list[Blueprint]:
    """Every blueprint version, by code and version, for the exam form."""
    return list(session.scalars(select(Blueprint).order_by(Blueprint.code, Blueprint.version)))


def get_blueprint_row(session: Session, blueprint_id: int) -> Blueprint:
    """One blueprint version by id."""
    row = session.get(Blueprint, blueprint_id)
    if row is None:
        raise NotFound("组卷规则不存在。")
    return row


# ---------------------------------------------------------------- the list


def exam_counts(session: Session, exam_ids: list[int], scope: Scope) -> dict[int, dict]:
    """Participants, papers and submitted attempts per exam (people within scope)."""
    out = {i: {"participants": 0, "papers": 0, "submitted": 0} for i in exam_ids}
    if not exam_ids:
        return out
    stmt = (
        select(Participant.exam_id, func.count())
        .where(Participant.exam_id.in_(exam_ids), scope.unit_filter(Participant.unit_id))
        .group_by(Participant.exam_id)
    )
    for exam_id, n in session.execute(stmt):
        out[exam_id]["participants"] = n
    for exam_id, n in session.execute(
        select(Paper.exam_id, func.count())
        .where(Paper.exam_id.in_(exam_ids))
        .group_by(Paper.exam_id)
    ):
        out[exam_id]["papers"] = n
    stmt = (
        select(Attempt.exam_id, func.count(func.distinct(Attempt.person_id)))
        .where(
            Attempt.exam_id.in_(exam_ids),
            Attempt.status == AttemptStatus.submitted.value,
            scope.unit_filter(Attempt.unit_id),
        )
        .group_by(Attempt.exam_id)
    )
    for exam_id, n in session.execute(stmt):
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
    require_unit(scope, owner_unit, manage=True)
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
    require_manage(exam, scope, "只有主办单位的管理员可以修改此考试。")
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


# ---------------------------------------------------------------- 公布答案


def release_review(
    session: Session, exam: Exam, *, scope: Scope, actor: Actor | None, now: dt.datetime
) -> Exam:
    """公布答案: open the review (key, explanation, article text) of every submitted
    attempt at once, whatever the review policy. Audited; refused twice, and while a
    candidate is still within their time (the key would reach them through others)."""
    require_manage(exam, scope, "只有主办单位的管理员可以公布答案。")
    if exam.review_released_at is not None:
        raise Conflict("答案已经公布。")
    sitting = session.scalar(
        select(func.count()).where(
            Attempt.exam_id == exam.id,
            Attempt.status == AttemptStatus.in_progress.value,
            Attempt.deadline_at > now,
        )
    )
    if sitting:
        raise Conflict(f"仍有 {sitting} 名考生正在作答，请待其交卷后再公布答案。")
    exam.review_released_at = now
    session.flush()
    record(
        session,
        actor,
        "exam.release_review",
        "exam",
        exam.id,
        before={"review_policy": exam.review_policy, "review_released_at": None},
        after={"review_policy": exam.review_policy, "review_released_at": now.isoformat()},
        at=now,
    )
    return exam
