"""The lobby: the online exams a person takes part in, with attempts used and left,
and the results of past attempts (as far as the result policy shows them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound
from exam.models import Attempt, Exam, ExamMode, ExamStatus, Participant
from exam.runner import timing
from exam.runner.helpers import IN_PROGRESS, SUBMITTED, iso
from exam.runner.review import result_payload
from exam.runner.submit import finalize_if_expired


@dataclass
class LobbyEntry:
    exam: Exam
    participant: Participant
    attempts_used: int
    current: Attempt | None
    latest: Attempt | None
    now: dt.datetime
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def attempts_left(self) -> int:
        return max(0, self.exam.max_attempts - self.attempts_used)

    @property
    def is_open(self) -> bool:
        return timing.window_open(self.exam.opens_at, self.exam.closes_at, self.now)

    @property
    def can_start(self) -> bool:
        return self.current is not None or (self.is_open and self.attempts_left > 0)

    @property
    def history(self) -> list[dict]:
        """Each submitted attempt, oldest first: its number and result payload (the
        score only where the result policy shows it)."""
        return [
            {"attempt_no": a.attempt_no, **result_payload(a, self.now)}
            for a in self.attempts
            if a.status == SUBMITTED
        ]

    def as_dict(self) -> dict:
        return {
            "exam_id": self.exam.id,
            "title": self.exam.title,
            "opens_at": iso(self.exam.opens_at),
            "closes_at": iso(self.exam.closes_at),
            "duration_minutes": self.exam.duration_minutes,
            "extra_minutes": self.participant.extra_minutes,
            "max_attempts": self.exam.max_attempts,
            "attempts_used": self.attempts_used,
            "attempts_left": self.attempts_left,
            "is_open": self.is_open,
            "can_start": self.can_start,
            "current_attempt_id": self.current.id if self.current else None,
            "latest_attempt_id": self.latest.id if self.latest else None,
            "history": self.history,
        }


def exams_for_person(session: Session, person_id: int, now: dt.datetime) -> list[LobbyEntry]:
    """Online exams the person takes part in that are open, upcoming, or that they have
    attempted (so the result stays reachable)."""
    rows = session.execute(
        select(Exam, Participant)
        .join(Participant, Participant.exam_id == Exam.id)
        .where(
            Participant.person_id == person_id,
            Exam.status.in_([ExamStatus.open.value, ExamStatus.closed.value]),
            Exam.mode.in_([ExamMode.online.value, ExamMode.centralized.value]),
        )
        .order_by(Exam.opens_at.desc())
    ).all()
    if not rows:
        return []
    attempts = list(
        session.scalars(
            select(Attempt)
            .where(Attempt.person_id == person_id, Attempt.exam_id.in_([e.id for e, _ in rows]))
            .order_by(Attempt.attempt_no)
        )
    )
    entries = []
    for exam, participant in rows:
        mine = [a for a in attempts if a.exam_id == exam.id]
        for a in mine:
            finalize_if_expired(session, a, now)
        if exam.status != ExamStatus.open.value and not mine:
            continue
        if not mine and exam.closes_at <= now:
            continue
        current = next((a for a in mine if a.status == IN_PROGRESS), None)
        entries.append(
            LobbyEntry(exam, participant, len(mine), current, mine[-1] if mine else None, now, mine)
        )
    return entries


def lobby_entry(session: Session, exam_id: int, person_id: int, now: dt.datetime) -> LobbyEntry:
    for entry in exams_for_person(session, person_id, now):
        if entry.exam.id == exam_id:
            return entry
    raise NotFound("未找到该考试，或您不在该考试的考生名单中。")
