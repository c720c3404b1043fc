"""Practice sessions, every practice answer, and the mistakes notebook (错题本)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

#: how a session chose its questions
MODES = ("new", "mistakes", "daily")
_MODES = ", ".join(f"'{m}'" for m in MODES)


class PracticeSession(Base):
    """One untimed practice session of one person: the questions it drew, in order."""

    __tablename__ = "practice_sessions"
    __table_args__ = (CheckConstraint(f"mode IN ({_MODES})", "mode_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    #: one of ``MODES``
    mode: Mapped[str] = mapped_column(String(20))
    #: the filters asked for: {"source", "knowledge_point", "difficulty"} (absent = any)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    #: question ids in the order shown
    question_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: the version of each question shown (same order): answers are checked against it
    version_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: the seed the draw used (reproducible)
    seed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PracticeAnswer(Base):
    """Every practice answer: person, question version, correct, time. Never read by
    the exam statistics."""

    __tablename__ = "practice_answers"
    __table_args__ = (
        UniqueConstraint("session_id", "question_id"),
        Index("ix_practice_answers_person_answered", "person_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("practice_sessions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id"))
    #: the response as sent (displayed keys = authored keys: practice never shuffles)
    response: Mapped[object] = mapped_column(JSON, nullable=True)
    correct: Mapped[bool] = mapped_column()
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MistakeEntry(Base):
    """A question in a person's mistakes notebook (错题本) and when it comes back.

    Opened by a wrong answer; it returns 1, 3 and 7 days after that answer, then every
    7 days, until answered right twice in a row (``cleared_at``). A wrong answer to a
    cleared entry opens it again (``study.spacing``)."""

    __tablename__ = "mistake_entries"
    __table_args__ = (
        UniqueConstraint("person_id", "question_id"),
        Index("ix_mistake_entries_person_due", "person_id", "cleared_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    #: the wrong answer that opened (or reopened) the entry
    wrong_at: Mapped[dt.datetime] = mapped_column()
    #: answers given since ``wrong_at``
    reviews: Mapped[int] = mapped_column(default=0)
    #: right answers in a row since the last wrong one
    streak: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime] = mapped_column()
    #: wrong answers ever given to the question
    wrong_count: Mapped[int] = mapped_column(default=1)
    #: set when answered right twice in a row (out of the notebook)
    cleared_at: Mapped[dt.datetime | None] = mapped_column()
