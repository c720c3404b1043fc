from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.org.models import OrgUnit, Person
from question_bank.models import QuestionVersion


class ExamMode(enum.StrEnum):
    online = "online"
    offline = "offline"  # 线下: printed papers, answer sheets imported
    centralized = "centralized"  # 集中测试 of sampled cadres


class ExamStatus(enum.StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class ResultPolicy(enum.StrEnum):
    immediate = "immediate"  # score shown at once
    after_close = "after_close"  # score shown after the window closes
    hidden = "hidden"  # not shown to the candidate


class ReviewPolicy(enum.StrEnum):
    """When a candidate may see the key, explanation and article text of their paper.
    An admin's 公布答案 (``Exam.review_released_at``) opens it at once under any policy."""

    none = "none"  # never (unless released by hand)
    after_submit = "after_submit"  # once submitted (and no attempt is left to take)
    after_close = "after_close"  # once the window closes or the exam is closed early
    manual = "manual"  # when an admin releases it (公布答案)


class SubmittedBy(enum.StrEnum):
    """Who or what ended an attempt (``Attempt.submitted_by``)."""

    candidate = "candidate"  # 交卷 before the time was up
    timeout = "timeout"  # the time ran out: the page's submission at zero or the server's
    admin = "admin"  # submitted by an administrator
    offline = "offline"  # an answer sheet import


class Navigation(enum.StrEnum):
    all = "all"  # all questions on one page
    single = "single"  # one question at a time


class AttemptStatus(enum.StrEnum):
    in_progress = "in_progress"
    submitted = "submitted"


def _in(enum_cls) -> str:
    return ", ".join(f"'{m.value}'" for m in enum_cls)


class Blueprint(Base):
    """组卷规则 (双向细目表): versioned; an exam keeps the version it used."""

    __tablename__ = "blueprints"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable code shared by all versions, e.g. ``xk-2026``
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(200))
    #: tier it is for: county / township / general (or all)
    tier: Mapped[str] = mapped_column(String(20), default="all")
    #: the full specification (sections, quotas, policies) as validated JSON
    spec: Mapped[dict] = mapped_column(JSON)
    total_points: Mapped[float] = mapped_column(Float)
    pass_mark: Mapped[float] = mapped_column(Float)
    target_difficulty: Mapped[float | None] = mapped_column(Float)
    difficulty_tolerance: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))


class Exam(Base):
    __tablename__ = "exams"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", "window_ordered"),
        CheckConstraint("duration_minutes > 0", "duration_positive"),
        CheckConstraint("grace_seconds >= 0", "grace_non_negative"),
        CheckConstraint("max_attempts >= 1", "attempts_positive"),
        CheckConstraint(f"mode IN ({_in(ExamMode)})", "mode_valid"),
        CheckConstraint(f"status IN ({_in(ExamStatus)})", "status_valid"),
        CheckConstraint(f"result_policy IN ({_in(ResultPolicy)})", "result_policy_valid"),
        CheckConstraint(f"review_policy IN ({_in(ReviewPolicy)})", "review_policy_valid"),
        CheckConstraint(f"navigation IN ({_in(Navigation)})", "navigation_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"))
    #: the unit that runs the exam (unit admins see exams of their subtree)
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: papers are rebuilt from (seed, person id); stored so complaints can be checked
    seed: Mapped[str] = mapped_column(String(128))
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    duration_minutes: Mapped[int]
    grace_seconds: Mapped[int] = mapped_column(default=30)
    pass_mark: Mapped[float] = mapped_column(Float)
    max_attempts: Mapped[int] = mapped_column(default=1)
    navigation: Mapped[str] = mapped_column(String(10), default=Navigation.all.value)
    result_policy: Mapped[str] = mapped_column(String(20), default=ResultPolicy.immediate.value)
    review_policy: Mapped[str] = mapped_column(String(20), default=ReviewPolicy.after_close.value)
    #: when an admin released the review by hand (公布答案); opens it under any policy
    review_released_at: Mapped[dt.datetime | None]
    mode: Mapped[str] = mapped_column(String(20), default=ExamMode.online.value)
    status: Mapped[str] = mapped_column(String(10), default=ExamStatus.draft.value)
    instructions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))

    blueprint: Mapped[Blueprint] = relationship()
    owner_unit: Mapped[OrgUnit] = relationship()
    participants: Mapped[list[Participant]] = relationship(back_populates="exam")


class Participant(Base):
    """Who sits an exam, with the unit they sat it for and any extra time."""

    __tablename__ = "exam_participants"
    __table_args__ = (
        UniqueConstraint("exam_id", "person_id"),
        CheckConstraint("extra_minutes >= 0", "extra_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: the person's unit when enrolled; results stay with it if the person moves
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: accommodation: extra minutes on top of the duration, with the reason
    extra_minutes: Mapped[int] = mapped_column(default=0)
    extra_reason: Mapped[str | None] = mapped_column(Text)
    #: how they were enrolled: unit / rank / named / draw / late
    enrolled_via: Mapped[str] = mapped_column(String(20), default="named")
    enrolled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    exam: Mapped[Exam] = relationship(back_populates="participants")
    person: Mapped[Person] = relationship()
    unit: Mapped[OrgUnit] = relationship()


class Paper(Base):
    """One candidate's paper: deterministic from (exam seed, person id)."""

    __tablename__ = "papers"
    __table_args__ = (UniqueConstraint("exam_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    #: the blueprint version the paper was generated from
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"))
    total_points: Mapped[float] = mapped_column(Float)
    mean_difficulty: Mapped[float] = mapped_column(Float)
    generated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    items: Mapped[list[PaperItem]] = relationship(
        back_populates="paper", order_by="PaperItem.position", cascade="all, delete-orphan"
    )
    person: Mapped[Person] = relationship()


class PaperItem(Base):
    __tablename__ = "paper_items"
    __table_args__ = (
        UniqueConstraint("paper_id", "position"),
        UniqueConstraint("paper_id", "question_version_id"),
        CheckConstraint("points > 0", "points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    #: 1-based number of the question on the paper
    position: Mapped[int]
    #: index of the blueprint section (question type block)
    section: Mapped[int] = mapped_column(default=0)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"), index=True)
    points: Mapped[float] = mapped_column(Float)
    #: authored option keys in display order, e.g. ["C", "A", "D", "B"]: displayed
    #: key "A" is authored "C". Empty for true/false and fill-in.
    option_order: Mapped[list] = mapped_column(JSON, default=list)

    paper: Mapped[Paper] = relationship(back_populates="items")
    question_version: Mapped[QuestionVersion] = relationship()


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("exam_id", "person_id", "attempt_no"),
        CheckConstraint(f"status IN ({_in(AttemptStatus)})", "status_valid"),
        CheckConstraint(
            "(status = 'submitted') = (submitted_at IS NOT NULL)", "submitted_at_iff_submitted"
        ),
        CheckConstraint("deadline_at > started_at", "deadline_after_start"),
        Index("ix_attempts_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id"))
    #: the unit the person sat the exam for (kept if they move later)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.in_progress.value)
    started_at: Mapped[dt.datetime]
    #: min(start + duration + extra time, window close); extended only by an audited action
    deadline_at: Mapped[dt.datetime]
    submitted_at: Mapped[dt.datetime | None]
    #: a ``SubmittedBy``: candidate / timeout (the time ran out) / admin / offline
    submitted_by: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None]
    #: highest save sequence number accepted, stored on submission; while in progress it
    #: is max(Answer.seq) (autosave leaves the attempt row alone: cheaper saves)
    last_seq: Mapped[int] = mapped_column(default=0)
    last_saved_at: Mapped[dt.datetime | None]
    #: random token of the browser that holds the attempt (a change = takeover event)
    client_token: Mapped[str | None] = mapped_column(String(64))

    exam: Mapped[Exam] = relationship()
    person: Mapped[Person] = relationship()
    paper: Mapped[Paper] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="attempt")


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("attempt_id", "paper_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    paper_item_id: Mapped[int] = mapped_column(ForeignKey("paper_items.id"))
    #: the response in displayed keys: "B", ["A","C"], true, ["text", "text"]; null = cleared
    response: Mapped[object | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(default=False)
    #: the save's sequence number (per attempt)
    seq: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: set when the attempt is scored
    marks: Mapped[float | None] = mapped_column(Float)
    is_correct: Mapped[bool | None]

    attempt: Mapped[Attempt] = relationship(back_populates="answers")
    paper_item: Mapped[PaperItem] = relationship()


class IntegrityKind(enum.StrEnum):
    """What counts as an integrity event. Reloading, moving within the exam and the
    browser restoring a tab are not: they are never stored as events."""

    left_page = "left_page"  # the page was hidden or lost focus for more than a few seconds
    second_device = "takeover"  # another browser resumed the attempt (a second device)
    paste = "paste"  # text pasted into a fill-in


#: the kinds the monitor counts (rows of other kinds, from older versions, are not)
INTEGRITY_KINDS = frozenset(k.value for k in IntegrityKind)


class IntegrityEvent(Base):
    """Evidence for review (leaving the page, a second device, paste into a fill-in);
    never changes a score."""

    __tablename__ = "integrity_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    #: an ``IntegrityKind`` (older rows may hold focus_lost / page_hidden / resume)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    detail: Mapped[dict | None] = mapped_column(JSON)


class ExamCode(Base):
    """A one-time login code issued by a unit for one person (optionally one exam)."""

    __tablename__ = "exam_codes"
    __table_args__ = (UniqueConstraint("code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the code; the code itself is shown once, on the printed slip
    code_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    exam_id: Mapped[int | None] = mapped_column(ForeignKey("exams.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    used_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship()


class SelfReportedResult(Base):
    """Results of exams a unit ran elsewhere (on paper, another system), uploaded by the
    unit; kept apart from results the engine scored itself."""

    __tablename__ = "self_reported_results"
    __table_args__ = (
        UniqueConstraint("person_id", "exam_name", "taken_on"),
        CheckConstraint("full_marks > 0", "full_marks_positive"),
        CheckConstraint("score >= 0 AND score <= full_marks", "score_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: the reporting unit (the person's unit at upload time)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    exam_name: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    full_marks: Mapped[float] = mapped_column(Float)
    taken_on: Mapped[dt.date] = mapped_column(Date)
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    uploaded_by: Mapped[str | None] = mapped_column(String(200))

    person: Mapped[Person] = relationship()
    unit: Mapped[OrgUnit] = relationship()


class PaperGeneration(Base):
    """One run of paper generation for an exam: the pool it drew from, so any paper
    can be rebuilt and checked later even after the bank has changed."""

    __tablename__ = "paper_generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    #: the blueprint version used
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("blueprints.id"))
    #: the exam seed at generation time
    seed: Mapped[str] = mapped_column(String(128))
    #: when the run happened; equals ``Paper.generated_at`` of its papers
    generated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: question version ids of the eligible pool, ascending
    pool_version_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: SHA-256 of the comma-joined pool version ids
    pool_sha256: Mapped[str] = mapped_column(String(64))
    #: papers written by this run
    paper_count: Mapped[int] = mapped_column(default=0)
    #: exposure and difficulty figures of the run
    stats: Mapped[dict | None] = mapped_column(JSON)
    generated_by: Mapped[str | None] = mapped_column(String(200))
    #: related pairs kept apart, as sorted [version id, version id] of the pool
    #: (NULL for runs before relations were stored: none were kept apart)
    related_pairs: Mapped[list | None] = mapped_column(JSON)
