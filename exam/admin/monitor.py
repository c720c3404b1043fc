"""The live monitor of a sitting: counts per unit (enrolled, started, in progress,
submitted, absent) and each candidate's progress, for the people in the viewer's scope.
A handful of grouped queries, whatever the number of candidates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts.scope import Scope
from core.org.models import Person
from core.org.services import unit_full_names
from exam.admin.access import participants_in_scope
from exam.models import (
    INTEGRITY_KINDS,
    Answer,
    Attempt,
    AttemptStatus,
    Exam,
    IntegrityEvent,
    Paper,
    PaperItem,
    Participant,
)

UNIT_COUNTS = ("enrolled", "started", "in_progress", "submitted", "absent")
#: integrity event kinds as the monitor names them
INTEGRITY_LABELS = {"left_page": "离开页面", "takeover": "另一设备", "paste": "填空粘贴"}


def _is_answered(response: object) -> bool:
    if response is None or response == "" or response == []:
        return False
    if isinstance(response, list):
        return any((bool(str(x).strip()) if not isinstance(x, list) else any(x)) for x in response)
    return True


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class _Progress:
    """What the monitor knows about the attempts of the people shown."""

    attempts: dict[int, list[Attempt]] = field(default_factory=dict)  # by person, in order
    answered: dict[int, int] = field(default_factory=dict)  # by attempt
    last_saved: dict[int, dt.datetime] = field(default_factory=dict)  # by attempt
    events: dict[int, dict[str, int]] = field(default_factory=dict)  # by attempt, by kind
    items: dict[int, int] = field(default_factory=dict)  # by paper
    papers: dict[int, int] = field(default_factory=dict)  # person -> paper id


def monitor(session: Session, exam: Exam, *, scope: Scope, now: dt.datetime) -> dict:
    """Live state of an exam for the people in scope: counts per unit and each
    candidate's progress."""
    parts = participants_in_scope(session, exam, scope)
    progress = _load_progress(session, exam, [p.person_id for p, _ in parts])
    names = unit_full_names(session, [p.unit_id for p, _ in parts])
    units: dict[int, dict] = {}
    candidates = []
    for part, person in parts:
        u = units.setdefault(
            part.unit_id,
            {
                "unit_id": part.unit_id,
                "unit": names.get(part.unit_id, ""),
                **dict.fromkeys(UNIT_COUNTS, 0),
            },
        )
        row = _candidate_row(part, person, progress, names, now)
        u["enrolled"] += 1
        if row["status"] == "absent":
            u["absent"] += 1
        else:
            u["started"] += 1
            u["submitted" if row["status"] == "submitted" else "in_progress"] += 1
        candidates.append(row)
    return {
        "exam": {
            "id": exam.id,
            "title": exam.title,
            "status": exam.status,
            "opens_at": _iso(exam.opens_at),
            "closes_at": _iso(exam.closes_at),
        },
        "now": _iso(now),
        "totals": {k: sum(u[k] for u in units.values()) for k in UNIT_COUNTS},
        "units": sorted(units.values(), key=lambda u: u["unit"]),
        "candidates": candidates,
    }


def _candidate_row(
    part: Participant, person: Person, progress: _Progress, names: dict, now: dt.datetime
) -> dict:
    attempts = progress.attempts.get(person.id, [])
    latest = attempts[-1] if attempts else None
    row = {
        "person_no": person.person_no,
        "name": person.name,
        "unit": names.get(part.unit_id, ""),
        "status": "absent",
        "answered": 0,
        "total": progress.items.get(progress.papers.get(person.id), 0),
        "seconds_left": None,
        "deadline_at": None,
        "last_saved_at": None,
        "integrity_events": 0,
        "integrity": {},
        "extra_minutes": part.extra_minutes,
        "attempts": len(attempts),
        "score": None,
    }
    for a in attempts:
        for kind, n in progress.events.get(a.id, {}).items():
            row["integrity"][kind] = row["integrity"].get(kind, 0) + n
            row["integrity_events"] += n
    row["integrity_text"] = "、".join(
        f"{label} {row['integrity'][kind]}"
        for kind, label in INTEGRITY_LABELS.items()
        if row["integrity"].get(kind)
    )
    if latest is None:
        return row
    row["answered"] = progress.answered.get(latest.id, 0)
    row["total"] = progress.items.get(latest.paper_id, row["total"])
    row["last_saved_at"] = _iso(progress.last_saved.get(latest.id) or latest.last_saved_at)
    row["deadline_at"] = _iso(latest.deadline_at)
    if latest.status == AttemptStatus.submitted.value:
        row["status"] = "submitted"
        row["score"] = latest.score
    else:
        row["status"] = "expired" if latest.deadline_at <= now else "in_progress"
        row["seconds_left"] = max(0, int((latest.deadline_at - now).total_seconds()))
    return row


def _load_progress(session: Session, exam: Exam, person_ids: list[int]) -> _Progress:
    progress = _Progress()
    if not person_ids:
        return progress
    for a in session.scalars(
        select(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.person_id.in_(person_ids))
        .order_by(Attempt.attempt_no)
    ):
        progress.attempts.setdefault(a.person_id, []).append(a)
    attempt_ids = [a.id for lst in progress.attempts.values() for a in lst]
    if attempt_ids:
        _load_answers(session, attempt_ids, progress)
        # only integrity events count: rows of other kinds (reloads, short glances
        # away, from earlier versions of the page) are not shown as suspicious
        for attempt_id, kind, n in session.execute(
            select(IntegrityEvent.attempt_id, IntegrityEvent.kind, func.count())
            .where(
                IntegrityEvent.attempt_id.in_(attempt_ids),
                IntegrityEvent.kind.in_(sorted(INTEGRITY_KINDS)),
            )
            .group_by(IntegrityEvent.attempt_id, IntegrityEvent.kind)
        ):
            progress.events.setdefault(attempt_id, {})[kind] = n
    progress.papers = dict(
        session.execute(
            select(Paper.person_id, Paper.id).where(
                Paper.exam_id == exam.id, Paper.person_id.in_(person_ids)
            )
        ).all()
    )
    paper_ids = set(progress.papers.values())
    paper_ids |= {a.paper_id for lst in progress.attempts.values() for a in lst}
    if paper_ids:
        progress.items = dict(
            session.execute(
                select(PaperItem.paper_id, func.count())
                .where(PaperItem.paper_id.in_(paper_ids))
                .group_by(PaperItem.paper_id)
            ).all()
        )
    return progress


def _load_answers(session: Session, attempt_ids: list[int], progress: _Progress) -> None:
    """Answered items and the last save per attempt. Autosave does not touch the attempt
    row (hot path), so the last save is the newest candidate save (seq > 0; blank rows
    added when scoring have seq 0)."""
    for attempt_id, response, seq, saved_at in session.execute(
        select(Answer.attempt_id, Answer.response, Answer.seq, Answer.saved_at).where(
            Answer.attempt_id.in_(attempt_ids)
        )
    ):
        if _is_answered(response):
            progress.answered[attempt_id] = progress.answered.get(attempt_id, 0) + 1
        last = progress.last_saved.get(attempt_id)
        if seq and (last is None or saved_at > last):
            progress.last_saved[attempt_id] = saved_at
