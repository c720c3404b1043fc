"""Attempt services: the lobby, start or resume, autosave, submit, scoring,
finalization of expired attempts, regrading, integrity events and the result/review
payloads.

Services take a ``Session`` and ``now``; they flush but never commit. Question ids in
payloads and the API are ``PaperItem.id`` (stable for the paper; positions are given
alongside for display). Responses are stored in *displayed* keys; the key never leaves
the server before submission.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Interval,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.accounts.models import UserAccount
from core.audit import Actor, record
from core.db import UTCDateTime
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from exam import timing
from exam.keys import key_in_force
from exam.models import (
    Answer,
    Attempt,
    AttemptStatus,
    Blueprint,
    Exam,
    ExamMode,
    ExamStatus,
    IntegrityEvent,
    Paper,
    PaperItem,
    Participant,
    ResultPolicy,
    ReviewPolicy,
)
from exam.scoring import LETTERS, ItemKey, check_answer, kind_of, section_spec
from question_bank.models import Article, Citation, LawRevision, LawSource, QuestionVersion

EVENT_KINDS = {"focus_lost", "page_hidden", "paste", "takeover", "copy", "resume"}
MAX_EVENTS_PER_ATTEMPT = 500

SUBMITTED = AttemptStatus.submitted.value
IN_PROGRESS = AttemptStatus.in_progress.value


# ------------------------------------------------------------------ helpers


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _json_text(column):
    """A JSON column read as its text, decoded by ``_json`` (cached per distinct text:
    the same options, keys and option orders recur on every paper of an exam)."""
    return cast(column, Text)


@functools.lru_cache(maxsize=16384)
def _json_cached(raw: str) -> Any:
    return json.loads(raw)


def _json(raw: str | None) -> Any:
    """Decode a JSON text (results are shared between callers: read them, never
    mutate them)."""
    return None if raw is None else _json_cached(raw)


def _item_key(
    item_type: str,
    answer: Any,
    points: float,
    option_order: list | None,
    options: list | None,
    spec: dict | None,
    section: int,
) -> ItemKey:
    return ItemKey(
        type=item_type,
        answer=answer,
        points=float(points),
        option_order=tuple(option_order or ()),
        authored_keys=tuple(o["key"] for o in (options or [])),
        section=section_spec(spec, section),
    )


def _displayed_options(options: list, option_order: list) -> list[dict]:
    by_key = {o["key"]: o["text"] for o in options or []}
    order = list(option_order or []) or [o["key"] for o in options or []]
    return [{"key": chr(65 + i), "text": by_key.get(k, "")} for i, k in enumerate(order)]


_OWNED_ATTEMPT = (
    select(Attempt).options(joinedload(Attempt.exam)).where(Attempt.id == bindparam("attempt_id"))
)


def get_owned_attempt(session: Session, attempt_id: int, person_id: int) -> Attempt:
    # the exam comes in the same read: every caller looks at its deadline or policies
    attempt = session.execute(_OWNED_ATTEMPT, {"attempt_id": attempt_id}).scalar_one_or_none()
    if attempt is None:
        raise NotFound("未找到该作答记录。")
    if attempt.person_id != person_id:
        raise PermissionDenied("这不是您的作答记录。")
    return attempt


def finalize_if_expired(session: Session, attempt: Attempt, now: dt.datetime) -> bool:
    """Lazy finalization: submit and score an in-progress attempt whose time (plus
    grace) is over. Returns True if it was finalized now."""
    if attempt.status != IN_PROGRESS:
        return False
    if not timing.is_expired(attempt.deadline_at, attempt.exam.grace_seconds, now):
        return False
    _mark_submitted(session, attempt, at=attempt.deadline_at, by="auto")
    score_attempt(session, attempt)
    return True


def _mark_submitted(session: Session, attempt: Attempt, *, at: dt.datetime, by: str) -> bool:
    """Flip the attempt to submitted exactly once (a conditional UPDATE, so concurrent
    duplicate submissions do not both score). Returns True for the winner."""
    won = _flip_submitted(session, attempt.id, at=at, by=by)
    if won:  # mirror the UPDATE on the loaded object without another SELECT
        set_committed_value(attempt, "status", SUBMITTED)
        set_committed_value(attempt, "submitted_at", at)
        set_committed_value(attempt, "submitted_by", by)
    else:
        session.refresh(attempt)
    return won


_FLIP_SUBMITTED = (
    update(Attempt.__table__)
    .where(
        Attempt.__table__.c.id == bindparam("attempt_id"),
        Attempt.__table__.c.status == IN_PROGRESS,
    )
    .values(
        status=SUBMITTED,
        submitted_at=bindparam("at", type_=Attempt.__table__.c.submitted_at.type),
        submitted_by=bindparam("by"),
    )
)


def _flip_submitted(session: Session, attempt_id: int, *, at: dt.datetime, by: str) -> bool:
    """``UPDATE attempts SET status='submitted' ... WHERE id=:id AND status='in_progress'``:
    the rowcount decides which of several concurrent submissions scores."""
    result = session.connection().execute(
        _FLIP_SUBMITTED, {"attempt_id": attempt_id, "at": at, "by": by}
    )
    return result.rowcount == 1


# ------------------------------------------------------------------ lobby


@dataclass
class LobbyEntry:
    exam: Exam
    participant: Participant
    attempts_used: int
    current: Attempt | None
    latest: Attempt | None
    now: dt.datetime

    @property
    def attempts_left(self) -> int:
        return max(0, self.exam.max_attempts - self.attempts_used)

    @property
    def is_open(self) -> bool:
        return timing.window_open(self.exam.opens_at, self.exam.closes_at, self.now)

    @property
    def can_start(self) -> bool:
        return self.current is not None or (self.is_open and self.attempts_left > 0)

    def as_dict(self) -> dict:
        return {
            "exam_id": self.exam.id,
            "title": self.exam.title,
            "opens_at": _iso(self.exam.opens_at),
            "closes_at": _iso(self.exam.closes_at),
            "duration_minutes": self.exam.duration_minutes,
            "extra_minutes": self.participant.extra_minutes,
            "max_attempts": self.exam.max_attempts,
            "attempts_used": self.attempts_used,
            "attempts_left": self.attempts_left,
            "is_open": self.is_open,
            "can_start": self.can_start,
            "current_attempt_id": self.current.id if self.current else None,
            "latest_attempt_id": self.latest.id if self.latest else None,
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
            LobbyEntry(exam, participant, len(mine), current, mine[-1] if mine else None, now)
        )
    return entries


def lobby_entry(session: Session, exam_id: int, person_id: int, now: dt.datetime) -> LobbyEntry:
    for entry in exams_for_person(session, person_id, now):
        if entry.exam.id == exam_id:
            return entry
    raise NotFound("未找到该考试，或您不在该考试的考生名单中。")


# ------------------------------------------------------------------ start


def start_or_resume(
    session: Session,
    exam_id: int,
    person_id: int,
    *,
    now: dt.datetime,
    client_token: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Attempt:
    """Resume the person's in-progress attempt or start the next one.

    The attempt limit holds under concurrency: a second simultaneous start collides on
    the unique (exam, person, attempt_no) and gets the attempt the first one created.
    """
    # one read for the exam, the person's enrolment and pre-generated paper
    found = session.execute(_START_READ, {"exam_id": exam_id, "person_id": person_id}).first()
    if found is None:
        raise NotFound("未找到该考试。")
    exam = found.Exam
    if found.participant_id is None:
        raise NotFound("您不在该考试的考生名单中。")
    existing = list(session.scalars(_PERSON_ATTEMPTS, {"exam_id": exam_id, "person_id": person_id}))
    for attempt in existing:
        finalize_if_expired(session, attempt, now)
    current = next((a for a in existing if a.status == IN_PROGRESS), None)
    if current is not None:
        _note_client(session, current, client_token, now=now, ip=ip, user_agent=user_agent)
        return current

    if exam.status != ExamStatus.open.value or exam.mode == ExamMode.offline.value:
        raise Conflict("该考试当前未开放。")
    if now < exam.opens_at:
        raise Conflict("考试尚未开始，请在规定时间内进入。")
    if now >= exam.closes_at:
        raise Conflict("考试已结束。")
    if len(existing) >= exam.max_attempts:
        raise Conflict("您的作答次数已用完。")
    if found.paper_id is None:
        raise Conflict("您的试卷尚未生成，请联系考试组织单位。")

    attempt_no = len(existing) + 1
    values = {
        "exam_id": exam.id,
        "person_id": person_id,
        "paper_id": found.paper_id,
        "unit_id": found.unit_id,
        "attempt_no": attempt_no,
        "status": IN_PROGRESS,
        "started_at": now,
        "deadline_at": timing.deadline(
            now, exam.duration_minutes, found.extra_minutes, exam.closes_at
        ),
        "last_seq": 0,
        "client_token": client_token[:64] if client_token else None,
    }
    attempt = _insert_attempt(session, values)
    if attempt is not None:
        set_committed_value(attempt, "exam", exam)  # already loaded: no lazy SELECT
        return attempt
    # another request (second tab) created this attempt at the same moment
    winner = session.scalar(
        select(Attempt).where(
            Attempt.exam_id == exam_id,
            Attempt.person_id == person_id,
            Attempt.attempt_no == attempt_no,
        )
    )
    if winner is None or winner.status != IN_PROGRESS:  # pragma: no cover - defensive
        raise Conflict("您的作答次数已用完。")
    _note_client(session, winner, client_token, now=now, ip=ip, user_agent=user_agent)
    return winner


_START_READ = (
    select(
        Exam,
        Participant.id.label("participant_id"),
        Participant.unit_id,
        Participant.extra_minutes,
        Paper.id.label("paper_id"),
    )
    .outerjoin(
        Participant,
        and_(Participant.exam_id == Exam.id, Participant.person_id == bindparam("person_id")),
    )
    .outerjoin(Paper, and_(Paper.exam_id == Exam.id, Paper.person_id == bindparam("person_id")))
    .where(Exam.id == bindparam("exam_id"))
)
_PERSON_ATTEMPTS = (
    select(Attempt)
    .where(Attempt.exam_id == bindparam("exam_id"), Attempt.person_id == bindparam("person_id"))
    .order_by(Attempt.attempt_no)
)
_ATTEMPT_INSERTS: dict[str, Any] = {}


def _insert_attempt(session: Session, values: dict) -> Attempt | None:
    """Insert the attempt unless (exam, person, attempt_no) exists; ``None`` if another
    request got there first. One Core ``INSERT .. ON CONFLICT DO NOTHING RETURNING id``
    (no savepoint, no unit-of-work flush) on PostgreSQL and SQLite; the returned
    ``Attempt`` is built from the inserted values and attached without a SELECT."""
    conn = session.connection()
    dialect = conn.dialect.name
    stmt = _ATTEMPT_INSERTS.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:  # pragma: no cover - other databases: savepoint and flush
            attempt = Attempt(**values)
            try:
                with session.begin_nested():
                    session.add(attempt)
                    session.flush()
            except IntegrityError:
                return None
            return attempt
        stmt = _ATTEMPT_INSERTS[dialect] = (
            dialect_insert(_ATTEMPTS)
            .on_conflict_do_nothing(index_elements=["exam_id", "person_id", "attempt_no"])
            .returning(_ATTEMPTS.c.id)
        )
    new_id = conn.execute(stmt, values).scalar()
    if new_id is None:
        return None
    row = dict.fromkeys(_ATTEMPTS.c.keys())  # columns not given are NULL, as inserted
    row.update(values, id=new_id)
    attempt = Attempt(**row)
    make_transient_to_detached(attempt)  # "this row exists": persistent once added
    session.add(attempt)
    return attempt


def _note_client(
    session: Session,
    attempt: Attempt,
    client_token: str | None,
    *,
    now: dt.datetime,
    ip: str | None,
    user_agent: str | None,
) -> None:
    """A different browser resuming the attempt is recorded as a takeover."""
    if not client_token or client_token == attempt.client_token:
        return
    if attempt.client_token:
        session.add(
            IntegrityEvent(
                attempt_id=attempt.id,
                kind="takeover",
                at=now,
                ip=(ip or "")[:64] or None,
                user_agent=(user_agent or "")[:400] or None,
                detail={"previous": attempt.client_token[:8], "new": client_token[:8]},
            )
        )
    attempt.client_token = client_token[:64]


# ------------------------------------------------------------------ payloads


_PAPER_ROWS = (
    select(
        PaperItem.id,
        PaperItem.position,
        PaperItem.points,
        _json_text(PaperItem.option_order),
        QuestionVersion.type,
        QuestionVersion.stem,
        _json_text(QuestionVersion.options),
        _json_text(QuestionVersion.answer),
        Answer.id,
        _json_text(Answer.response),
        Answer.flagged,
        Answer.seq,
    )
    .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
    .outerjoin(
        Answer,
        and_(Answer.paper_item_id == PaperItem.id, Answer.attempt_id == bindparam("attempt_id")),
    )
    .where(PaperItem.paper_id == bindparam("paper_id"))
    .order_by(PaperItem.position)
)


class SavedAnswer(NamedTuple):
    paper_item_id: int
    response: Any
    flagged: bool
    seq: int


_SAVED_ANSWERS = select(
    Answer.paper_item_id, _json_text(Answer.response), Answer.flagged, Answer.seq
).where(Answer.attempt_id == bindparam("attempt_id"))


def saved_answers(session: Session, attempt_id: int) -> list[SavedAnswer]:
    rows = session.execute(_SAVED_ANSWERS, {"attempt_id": attempt_id})
    return [
        SavedAnswer(item, _json(response), flagged, seq) for item, response, flagged, seq in rows
    ]


def status_payload(attempt: Attempt, now: dt.datetime, answers=None) -> dict:
    exam = attempt.exam
    data = {
        "attempt_id": attempt.id,
        "exam_id": attempt.exam_id,
        "status": attempt.status,
        "deadline": _iso(attempt.deadline_at),
        "accept_until": _iso(timing.accept_until(attempt.deadline_at, exam.grace_seconds)),
        "server_time": _iso(now),
        "seconds_left": timing.seconds_left(attempt.deadline_at, now)
        if attempt.status == IN_PROGRESS
        else 0,
        "last_seq": attempt.last_seq,
        "submitted_at": _iso(attempt.submitted_at),
    }
    if answers is not None:
        data["last_seq"] = max([attempt.last_seq or 0, *(r.seq for r in answers)])
        data["answers"] = {
            str(r.paper_item_id): r.response for r in answers if r.response is not None
        }
        data["flagged"] = [r.paper_item_id for r in answers if r.flagged]
        data["answer_seqs"] = {str(r.paper_item_id): r.seq for r in answers}
    return data


def candidate_payload(session: Session, attempt: Attempt, now: dt.datetime) -> dict:
    """Everything the paper page needs, and nothing that reveals the key: one read of
    the paper's items with their question versions and saved answers."""
    exam = attempt.exam
    questions, answers = [], []
    rows = session.connection().execute(
        _PAPER_ROWS, {"attempt_id": attempt.id, "paper_id": attempt.paper_id}
    )
    for (
        item_id,
        position,
        points,
        order,
        typ,
        stem,
        options,
        key,
        answer_id,
        response,
        flagged,
        seq,
    ) in rows:
        q = {
            "id": item_id,
            "number": position,
            "type": typ,
            "stem": stem,
            "points": points,
            "options": _displayed_options(_json(options), _json(order))
            if typ in ("single", "multiple")
            else [],
        }
        if typ == "fill_blank":
            key = _json(key)
            q["blanks"] = len(key) if isinstance(key, list) else 1
        questions.append(q)
        if answer_id is not None:
            answers.append(SavedAnswer(item_id, _json(response), flagged, seq))
    data = status_payload(attempt, now, answers)
    data.update(
        {
            "exam": {
                "id": exam.id,
                "title": exam.title,
                "navigation": exam.navigation,
                "duration_minutes": exam.duration_minutes,
                "instructions": exam.instructions,
            },
            "questions": questions,
        }
    )
    return data


class PaperPage(NamedTuple):
    """What the paper page's HTML shell needs (the questions come from the API)."""

    id: int
    exam_id: int
    exam: Any  # .title, .navigation


class _PageExam(NamedTuple):
    title: str
    navigation: str


_PAGE_ROW = (
    select(
        Attempt.person_id,
        Attempt.status,
        Attempt.deadline_at,
        Attempt.exam_id,
        Exam.grace_seconds,
        Exam.title,
        Exam.navigation,
    )
    .join(Exam, Exam.id == Attempt.exam_id)
    .where(Attempt.id == bindparam("attempt_id"))
)


def paper_page(
    session: Session, attempt_id: int, person_id: int, now: dt.datetime
) -> PaperPage | None:
    """The paper page of an attempt still in progress, from one light read; ``None``
    once it is submitted (an expired attempt is finalized here first)."""
    row = session.execute(_PAGE_ROW, {"attempt_id": attempt_id}).one_or_none()
    if row is None:
        raise NotFound("未找到该作答记录。")
    if row.person_id != person_id:
        raise PermissionDenied("这不是您的作答记录。")
    if row.status != IN_PROGRESS:
        return None
    if timing.is_expired(row.deadline_at, row.grace_seconds, now):
        finalize_if_expired(session, get_owned_attempt(session, attempt_id, person_id), now)
        return None
    return PaperPage(attempt_id, row.exam_id, _PageExam(row.title, row.navigation))


# ------------------------------------------------------------------ autosave


def save_answer(
    session: Session,
    attempt_id: int,
    person_id: int,
    item_id: int,
    body: Any,
    *,
    now: dt.datetime,
) -> dict:
    """Save one answer: ``body = {"answer": ..., "seq": n, "flagged": bool?}``.

    Two statements: one read (attempt, deadline, item, type) and one dialect upsert
    that only replaces an answer carrying an older ``seq``. This is the reference path,
    which explains every refusal; valid saves from the browser usually take the fast
    path (``plan_guarded_save`` and ``run_guarded_save``), with the same checks.
    """
    seq, flagged = _check_save_body(body)
    # Core on the session's connection with prebuilt statements: the ORM adds nothing
    # here and statement construction would cost more than the database work.
    conn = session.connection()
    row = conn.execute(_SAVE_READ, {"attempt_id": attempt_id, "item_id": item_id}).one_or_none()
    values = _checked_values(row, person_id, body, seq, flagged, now)
    # The attempt row is not touched: its high-water mark is max(Answer.seq), read when
    # the paper is loaded (keeps the hot path at two statements and off the attempt lock).
    applied = _upsert_answer(session, attempt_id, item_id, values)
    return {"saved": True, "applied": applied, "seq": seq, "server_time": _iso(now)}


@dataclass(frozen=True)
class AccountClaim:
    """Who a request says it is: the account id and session version from its signed
    session cookie, checked against the account row by the guarded upsert."""

    user_id: int
    session_version: int


class ItemRule(NamedTuple):
    """What validating a save of one paper item needs (not the key itself)."""

    type: str
    options: int  # options shown
    blanks: int  # fill-in blanks


def save_rules(conn: Connection, attempt_id: int) -> dict[int, ItemRule]:
    """Validation rules for every item of an attempt's paper, keyed by paper item id, in
    one read. Papers are fixed once generated, so the autosave fast path keeps these per
    attempt and does not read them again on every save. Empty if no such attempt."""
    rules = {}
    for item_id, typ, order, options, answer in conn.execute(
        _SAVE_RULES, {"attempt_id": attempt_id}
    ):
        key = _item_key(typ, answer, 0.0, order, options, None, 0)
        rules[item_id] = ItemRule(typ, len(key.displayed_keys), key.blanks)
    return rules


class GuardedSave(NamedTuple):
    """A validated save, ready for ``run_guarded_save``."""

    columns: tuple[str, ...]  # the columns written (selects the prebuilt statement)
    params: dict
    reply: dict


def plan_guarded_save(
    attempt_id: int,
    claim: AccountClaim,
    item_id: int,
    body: Any,
    rules: dict[int, ItemRule],
    *,
    now: dt.datetime,
) -> GuardedSave | None:
    """First half of the autosave fast path (``jifa.web.runner.fastpath``), without the
    database: check the body and validate the answer against the item's ``rules``
    (``InvalidInput`` as in ``save_answer``). ``None`` if the item is not on the paper."""
    seq, flagged = _check_save_body(body)
    rule = rules.get(item_id)
    if rule is None:
        return None
    values: dict[str, Any] = {"seq": seq, "saved_at": now}
    if "answer" in body:
        # validation looks at the shown option letters and the number of blanks only
        key = ItemKey(
            type=rule.type,
            answer=[""] * rule.blanks,
            points=0.0,
            authored_keys=tuple(LETTERS[: rule.options]),
        )
        values["response"] = kind_of(rule.type).validate(body["answer"], key)
    if flagged is not None:
        values["flagged"] = flagged
    params = {
        "attempt_id": attempt_id,
        "paper_item_id": item_id,
        "uid": claim.user_id,
        "session_version": claim.session_version,
        "in_progress": IN_PROGRESS,
        "now": now,
        "flagged": False,  # insert default; only in the update set when sent
        **values,
    }
    reply = {"saved": True, "applied": True, "seq": seq, "server_time": _iso(now)}
    return GuardedSave(tuple(sorted(values)), params, reply)


def run_guarded_save(conn: Connection, plan: GuardedSave) -> dict | None:
    """Second half: one conditional upsert whose own WHERE clause checks the account
    (active, same session version, owner of the attempt), the attempt (in progress,
    deadline plus grace not passed, both read fresh) and the ``seq`` (only over an older
    save). Atomic on its own, so it may run in autocommit mode.

    Returns the reply, or ``None`` when nothing was written; the caller then answers
    through ``save_answer``, which says why (or that an older save arrived late)."""
    stmt = _guarded_upsert_statement(conn.dialect.name, plan.columns)
    if conn.execute(stmt, plan.params).first() is None:
        return None
    return plan.reply


_SAVE_RULES = (
    select(
        PaperItem.id,
        QuestionVersion.type,
        PaperItem.option_order,
        QuestionVersion.options,
        QuestionVersion.answer,
    )
    .select_from(Attempt)
    .join(PaperItem, PaperItem.paper_id == Attempt.paper_id)
    .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
    .where(Attempt.id == bindparam("attempt_id"))
)


def _check_save_body(body: Any) -> tuple[int, bool | None]:
    if not isinstance(body, dict) or "answer" not in body and "flagged" not in body:
        raise InvalidInput("请求应包含 answer 和 seq。")
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or seq > 2**31 - 1:
        raise InvalidInput("seq 应为正整数。")
    flagged = body.get("flagged")
    if flagged is not None and not isinstance(flagged, bool):
        raise InvalidInput("flagged 应为 true 或 false。")
    return seq, flagged


def _checked_values(
    row: Any,
    person_id: int | None,
    body: dict,
    seq: int,
    flagged: bool | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The column values of a save, after every check on the read row."""
    if row is None:
        raise NotFound("未找到该作答记录。")
    if row.person_id != person_id:
        raise PermissionDenied("这不是您的作答记录。")
    if row.status != IN_PROGRESS:
        raise Conflict("试卷已交卷，不能再修改答案。")
    if not timing.accepts_saves(row.deadline_at, row.grace_seconds, now):
        raise Conflict("作答时间已到，本次修改未被接受；此前保存的答案均已保留。")
    if row.item_id is None:
        raise NotFound("本试卷中没有这道题。")

    values: dict[str, Any] = {"seq": seq, "saved_at": now}
    if "answer" in body:
        key = _item_key(
            row.type, row.answer, row.points, row.option_order, row.options, None, row.section
        )
        values["response"] = kind_of(row.type).validate(body["answer"], key)
    if flagged is not None:
        values["flagged"] = flagged
    return values


_SAVE_READ = (
    select(
        Attempt.person_id,
        Attempt.status,
        Attempt.deadline_at,
        Exam.grace_seconds,
        Exam.blueprint_id,
        PaperItem.id.label("item_id"),
        PaperItem.section,
        PaperItem.points,
        PaperItem.option_order,
        QuestionVersion.type,
        QuestionVersion.options,
        QuestionVersion.answer,
    )
    .select_from(Attempt)
    .join(Exam, Exam.id == Attempt.exam_id)
    .outerjoin(
        PaperItem,
        and_(PaperItem.paper_id == Attempt.paper_id, PaperItem.id == bindparam("item_id")),
    )
    .outerjoin(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
    .where(Attempt.id == bindparam("attempt_id"))
)

_UPSERTS: dict[tuple[str, tuple[str, ...]], object] = {}


def _upsert_statement(dialect: str, keys: tuple[str, ...]):
    """The upsert for one dialect and set of columns, built once and reused."""
    stmt = _UPSERTS.get((dialect, keys))
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        ins = dialect_insert(Answer)
        stmt = ins.on_conflict_do_update(
            index_elements=[Answer.attempt_id, Answer.paper_item_id],
            set_={k: ins.excluded[k] for k in keys},
            where=Answer.seq < ins.excluded.seq,
        ).returning(Answer.id)
        _UPSERTS[(dialect, keys)] = stmt
    return stmt


_GUARDED: dict[tuple[str, tuple[str, ...]], object] = {}


def _guarded_upsert_statement(dialect: str, keys: tuple[str, ...]):
    """``INSERT INTO answers ... SELECT <values> FROM attempts JOIN exams JOIN
    user_accounts WHERE <account, owner, status, deadline + grace> ON CONFLICT ... DO
    UPDATE ... WHERE answers.seq < excluded.seq RETURNING id``, built once per column set.
    """
    stmt = _GUARDED.get((dialect, keys))
    if stmt is not None:
        return stmt
    table = Answer.__table__
    now = bindparam("now", type_=UTCDateTime())
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert

        second = literal_column("INTERVAL '1 second'", type_=Interval())
        open_until = Attempt.deadline_at + Exam.grace_seconds * second
        in_time = open_until >= now
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert

        # julianday() is exact to ~20 µs; the margin (~86 µs) keeps the guard on the safe
        # side: a save that close to the limit is left to save_answer's exact check.
        open_until = func.julianday(Attempt.deadline_at) + Exam.grace_seconds / 86400.0
        in_time = open_until >= func.julianday(now) + 1e-9
    else:  # pragma: no cover - the fast path serves the two supported databases only
        raise NotImplementedError(dialect)
    names = ["attempt_id", "paper_item_id", "flagged", *[k for k in keys if k != "flagged"]]

    def value(name: str):
        param = bindparam(name, type_=table.c[name].type)
        # PostgreSQL does not infer parameter types in a SELECT list from the INSERT
        # target; SQLite must not cast (CAST(... AS JSON) would mean NUMERIC there).
        return cast(param, table.c[name].type) if dialect == "postgresql" else param

    source = (
        select(*[value(n) for n in names])
        .select_from(Attempt)
        .join(Exam, Exam.id == Attempt.exam_id)
        .join(UserAccount, UserAccount.id == bindparam("uid"))
        .where(
            Attempt.id == bindparam("attempt_id"),
            Attempt.status == bindparam("in_progress"),
            UserAccount.person_id == Attempt.person_id,
            UserAccount.is_active.is_(True),
            UserAccount.session_version == bindparam("session_version"),
            in_time,
        )
    )
    ins = dialect_insert(Answer).from_select(names, source)
    stmt = ins.on_conflict_do_update(
        index_elements=[Answer.attempt_id, Answer.paper_item_id],
        set_={k: ins.excluded[k] for k in keys},
        where=Answer.seq < ins.excluded.seq,
    ).returning(Answer.id)
    _GUARDED[(dialect, keys)] = stmt
    return stmt


def _upsert_answer(session: Session, attempt_id: int, item_id: int, values: dict) -> bool:
    """Insert or replace the answer unless the stored one has a newer ``seq``."""
    conn = session.connection()
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - read then write
        return _upsert_generic(session, attempt_id, item_id, values)
    stmt = _upsert_statement(dialect, tuple(sorted(values)))
    params = {"attempt_id": attempt_id, "paper_item_id": item_id, **values}
    if "flagged" not in params:
        params["flagged"] = False  # insert default; not in the update set
    return conn.execute(stmt, params).first() is not None


def _upsert_generic(session: Session, attempt_id: int, item_id: int, values: dict) -> bool:
    answer = session.scalar(
        select(Answer).where(Answer.attempt_id == attempt_id, Answer.paper_item_id == item_id)
    )
    if answer is None:
        session.add(Answer(attempt_id=attempt_id, paper_item_id=item_id, **values))
        session.flush()
        return True
    if answer.seq >= values["seq"]:
        return False
    for k, v in values.items():
        setattr(answer, k, v)
    session.flush()
    return True


# ------------------------------------------------------------------ submit and score


def submit(
    session: Session, attempt_id: int, person_id: int, *, now: dt.datetime, by: str = "candidate"
) -> dict:
    """Submit (idempotent: a second call returns the same result).

    Hot path of the submission storm, without ORM objects: one read (attempt, exam,
    blueprint spec); an already submitted attempt returns at once (a duplicate never
    waits on the attempt's row lock); otherwise a conditional UPDATE whose rowcount
    decides who scores, then ``_score_paper`` (one read, two bulk writes, one UPDATE).
    """
    session.flush()
    conn = session.connection()
    row = conn.execute(_SUBMIT_ROW, {"attempt_id": attempt_id}).one_or_none()
    if row is None:
        raise NotFound("未找到该作答记录。")
    if row.person_id != person_id:
        raise PermissionDenied("这不是您的作答记录。")
    if row.status != IN_PROGRESS:
        return _result_dict(attempt_id, row, now)
    if timing.is_expired(row.deadline_at, row.grace_seconds, now):
        at, by = row.deadline_at, "auto"
    else:
        at = now
    if not _flip_submitted(session, attempt_id, at=at, by=by):
        # a concurrent submission won: report what it stored
        row = conn.execute(_SUBMIT_ROW, {"attempt_id": attempt_id}).one()
        _mirror_attempt(session, attempt_id, row)
        return _result_dict(attempt_id, row, now)
    score, max_score, passed = _score_paper(
        conn, attempt_id, row.paper_id, row.spec, row.pass_mark, blank_saved_at=at
    )
    values = {
        "status": SUBMITTED,
        "submitted_at": at,
        "submitted_by": by,
        "score": score,
        "max_score": max_score,
        "passed": passed,
    }
    _mirror_attempt(session, attempt_id, values)
    return _result_dict(attempt_id, {**row._asdict(), **values}, now)


_SUBMIT_ROW = (
    select(
        Attempt.person_id,
        Attempt.status,
        Attempt.paper_id,
        Attempt.deadline_at,
        Attempt.submitted_at,
        Attempt.submitted_by,
        Attempt.score,
        Attempt.max_score,
        Attempt.passed,
        Exam.grace_seconds,
        Exam.pass_mark,
        Exam.closes_at,
        Exam.result_policy,
        Exam.review_policy,
        Blueprint.spec,
    )
    .join(Exam, Exam.id == Attempt.exam_id)
    .join(Blueprint, Blueprint.id == Exam.blueprint_id)
    .where(Attempt.id == bindparam("attempt_id"))
)

_MIRRORED = ("status", "submitted_at", "submitted_by", "score", "max_score", "passed")


def _mirror_attempt(session: Session, attempt_id: int, values) -> None:
    """Core writes bypass the identity map: copy them onto a loaded ``Attempt``."""
    attempt = session.identity_map.get(identity_key(Attempt, attempt_id))
    if attempt is None:
        return
    get = values.get if isinstance(values, dict) else values._mapping.get
    for name in _MIRRORED:
        set_committed_value(attempt, name, get(name))
    session.expire(attempt, ["answers"])


_SCORE_ROWS = (
    select(
        PaperItem.id,
        PaperItem.section,
        PaperItem.points,
        _json_text(PaperItem.option_order),
        QuestionVersion.type,
        _json_text(QuestionVersion.options),
        _json_text(key_in_force()),
        Answer.id,
        _json_text(Answer.response),
    )
    .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
    .outerjoin(
        Answer,
        and_(Answer.paper_item_id == PaperItem.id, Answer.attempt_id == bindparam("attempt_id")),
    )
    .where(PaperItem.paper_id == bindparam("paper_id"))
)
_ANSWERS = Answer.__table__
_INSERT_ANSWERS = insert(_ANSWERS)
_SET_MARKS = (
    update(_ANSWERS)
    .where(_ANSWERS.c.id == bindparam("b_id"))
    .values(marks=bindparam("b_marks"), is_correct=bindparam("b_ok"))
)
_ATTEMPTS = Attempt.__table__
_SET_SCORE = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("b_id"))
    .values(score=bindparam("b_score"), max_score=bindparam("b_max"), passed=bindparam("b_passed"))
)


@functools.lru_cache(maxsize=4096)
def _check_texts(
    typ: str,
    answer_t: str,
    points: float,
    order_t: str | None,
    options_t: str | None,
    section_t: str,
    response_t: str | None,
) -> tuple[float, float, bool]:
    """``check_answer`` on the stored JSON texts of one item and response: pure, so
    memoized (the same item, option order and response recur across an exam's
    attempts). Returns ``(marks, max_marks, is_correct)``."""
    key = ItemKey(
        type=typ,
        answer=_json(answer_t),
        points=float(points),
        option_order=tuple(_json(order_t) or ()),
        authored_keys=tuple(o["key"] for o in (_json(options_t) or [])),
        section=_json(section_t),
    )
    result = check_answer(_json(response_t), key)
    return result.marks, result.max_marks, result.is_correct


_PG_WRITE_SCORE = text(
    """
    WITH marks AS (
        INSERT INTO answers
            (attempt_id, paper_item_id, response, flagged, seq, saved_at, marks, is_correct)
        SELECT :attempt_id, u.item_id, CAST('null' AS JSON), false, 0, :saved_at, u.marks, u.ok
        FROM unnest(
            CAST(:item_ids AS INTEGER[]),
            CAST(:marks AS DOUBLE PRECISION[]),
            CAST(:oks AS BOOLEAN[])
        ) AS u(item_id, marks, ok)
        ON CONFLICT (attempt_id, paper_item_id)
        DO UPDATE SET marks = excluded.marks, is_correct = excluded.is_correct
    )
    UPDATE attempts SET score = :score, max_score = :max_score, passed = :passed
    WHERE id = :attempt_id
    """
).bindparams(bindparam("saved_at", type_=UTCDateTime()))


def _score_paper(
    conn,
    attempt_id: int,
    paper_id: int,
    spec: dict | None,
    pass_mark: float,
    *,
    blank_saved_at: dt.datetime,
) -> tuple[float, float, bool]:
    """Score an attempt in one pass over one read (paper items joined with their
    question versions and saved answers). PostgreSQL: the marks (an upsert over arrays:
    blank rows for unanswered items) and the score in one statement; elsewhere one
    executemany UPDATE, one INSERT of blank rows and one UPDATE of the score.
    Returns ``(score, max_score, passed)``."""
    marked: list[tuple[int, int | None, float, bool]] = []
    total = max_total = 0.0
    sections: dict[int, str] = {}
    rows = conn.execute(_SCORE_ROWS, {"attempt_id": attempt_id, "paper_id": paper_id})
    for item_id, section, points, order, typ, options, answer, answer_id, response in rows:
        section_t = sections.get(section)
        if section_t is None:
            section_t = sections[section] = json.dumps(section_spec(spec, section), sort_keys=True)
        marks, max_marks, is_correct = _check_texts(
            typ, answer, points, order, options, section_t, response
        )
        total += marks
        max_total += max_marks
        marked.append((item_id, answer_id, marks, is_correct))
    score, max_score = round(total, 4), round(max_total, 4)
    passed = score >= pass_mark
    if conn.dialect.name == "postgresql":
        # one round trip: the marks as one upsert over arrays, and the score
        conn.execute(
            _PG_WRITE_SCORE,
            {
                "attempt_id": attempt_id,
                "saved_at": blank_saved_at,
                "item_ids": [m[0] for m in marked],
                "marks": [m[2] for m in marked],
                "oks": [m[3] for m in marked],
                "score": score,
                "max_score": max_score,
                "passed": passed,
            },
        )
        return score, max_score, passed
    updates = [{"b_id": a, "b_marks": m, "b_ok": ok} for _, a, m, ok in marked if a is not None]
    if updates:
        conn.execute(_SET_MARKS, updates)
    inserts = [
        {
            "attempt_id": attempt_id,
            "paper_item_id": item_id,
            "response": None,
            "flagged": False,
            "seq": 0,
            "saved_at": blank_saved_at,
            "marks": m,
            "is_correct": ok,
        }
        for item_id, a, m, ok in marked
        if a is None
    ]
    if inserts:
        conn.execute(_INSERT_ANSWERS, inserts)
    conn.execute(
        _SET_SCORE, {"b_id": attempt_id, "b_score": score, "b_max": max_score, "b_passed": passed}
    )
    return score, max_score, passed


def score_attempt(session: Session, attempt: Attempt) -> float:
    """Score every item of the attempt's paper (a missing answer scores 0 and gets a
    blank answer row), set ``Answer.marks/is_correct`` and ``attempt.score``,
    ``max_score`` and ``passed``. Used by submit, finalization, regrading and the
    offline answer-sheet import."""
    exam = attempt.exam
    spec = session.scalar(select(Blueprint.spec).where(Blueprint.id == exam.blueprint_id))
    session.flush()
    score, max_score, passed = _score_paper(
        session.connection(),
        attempt.id,
        attempt.paper_id,
        spec,
        exam.pass_mark,
        blank_saved_at=attempt.submitted_at or attempt.deadline_at,
    )
    set_committed_value(attempt, "score", score)
    set_committed_value(attempt, "max_score", max_score)
    set_committed_value(attempt, "passed", passed)
    session.expire(attempt, ["answers"])
    return score


def finalize_expired(session: Session, now: dt.datetime) -> int:
    """Submit and score every in-progress attempt whose deadline plus grace has passed
    (for cron: ``jifa exam finalize-expired``). Returns how many were finalized."""
    candidates = session.scalars(
        select(Attempt)
        .where(Attempt.status == IN_PROGRESS, Attempt.deadline_at < now)
        .order_by(Attempt.id)
    ).all()
    return sum(1 for a in candidates if finalize_if_expired(session, a, now))


def regrade_exam(session: Session, exam: Exam, actor: Actor | None) -> list[tuple]:
    """Rescore every submitted attempt (after a key correction). Returns
    ``[(attempt, before, after)]`` for the attempts whose score changed; each change is
    recorded in the audit log."""
    changed = []
    attempts = session.scalars(
        select(Attempt)
        .where(Attempt.exam_id == exam.id, Attempt.status == SUBMITTED)
        .order_by(Attempt.id)
    ).all()
    for attempt in attempts:
        before = attempt.score
        after = score_attempt(session, attempt)
        if before != after:
            changed.append((attempt, before, after))
            record(
                session,
                actor,
                "attempt.regrade",
                "attempt",
                attempt.id,
                before={"score": before},
                after={"score": after, "passed": attempt.passed},
            )
    record(
        session,
        actor,
        "exam.regrade",
        "exam",
        exam.id,
        after={"attempts": len(attempts), "changed": len(changed)},
    )
    return changed


# ------------------------------------------------------------------ integrity


def record_event(
    session: Session,
    attempt_id: int,
    person_id: int,
    body: Any,
    *,
    now: dt.datetime,
    ip: str | None,
    user_agent: str | None,
) -> dict:
    """Store an integrity signal as evidence; it never changes a score."""
    if not isinstance(body, dict) or body.get("kind") not in EVENT_KINDS:
        raise InvalidInput("未知的事件类型。", details={"allowed": sorted(EVENT_KINDS)})
    attempt = get_owned_attempt(session, attempt_id, person_id)
    if attempt.status != IN_PROGRESS:
        raise Conflict("该作答已结束。")
    count = session.scalar(
        select(func.count())
        .select_from(IntegrityEvent)
        .where(IntegrityEvent.attempt_id == attempt.id)
    )
    if count >= MAX_EVENTS_PER_ATTEMPT:
        return {"recorded": False}
    detail = body.get("detail")
    if detail is not None and not isinstance(detail, dict):
        detail = {"value": str(detail)[:200]}
    if detail and len(str(detail)) > 1000:
        detail = {"truncated": True}
    session.add(
        IntegrityEvent(
            attempt_id=attempt.id,
            kind=body["kind"],
            at=now,
            ip=(ip or "")[:64] or None,
            user_agent=(user_agent or "")[:400] or None,
            detail=detail,
        )
    )
    return {"recorded": True}


# ------------------------------------------------------------------ result and review


def _shows_score(status: str, result_policy: str, closes_at: dt.datetime, now) -> bool:
    if status != SUBMITTED:
        return False
    if result_policy == ResultPolicy.immediate.value:
        return True
    if result_policy == ResultPolicy.after_close.value:
        return now >= closes_at
    return False


def _shows_review(status: str, review_policy: str, closes_at: dt.datetime, now) -> bool:
    return (
        status == SUBMITTED and review_policy == ReviewPolicy.after_close.value and now >= closes_at
    )


def shows_score(attempt: Attempt, now: dt.datetime) -> bool:
    exam = attempt.exam
    return _shows_score(attempt.status, exam.result_policy, exam.closes_at, now)


def shows_review(attempt: Attempt, now: dt.datetime) -> bool:
    exam = attempt.exam
    return _shows_review(attempt.status, exam.review_policy, exam.closes_at, now)


def _result_dict(attempt_id: int, r, now: dt.datetime) -> dict:
    """The result payload from plain values: ``r`` is a row or mapping with the
    attempt's status, submission and score columns and the exam's policies."""
    if not isinstance(r, dict):
        r = r._mapping
    data = {
        "attempt_id": attempt_id,
        "status": r["status"],
        "submitted_at": _iso(r["submitted_at"]),
        "submitted_by": r["submitted_by"],
        "score_visible": _shows_score(r["status"], r["result_policy"], r["closes_at"], now),
        "review_available": _shows_review(r["status"], r["review_policy"], r["closes_at"], now),
    }
    if data["score_visible"]:
        data.update({"score": r["score"], "max_score": r["max_score"], "passed": r["passed"]})
    return data


def result_payload(attempt: Attempt, now: dt.datetime) -> dict:
    exam = attempt.exam
    return _result_dict(
        attempt.id,
        {
            "status": attempt.status,
            "submitted_at": attempt.submitted_at,
            "submitted_by": attempt.submitted_by,
            "score": attempt.score,
            "max_score": attempt.max_score,
            "passed": attempt.passed,
            "result_policy": exam.result_policy,
            "review_policy": exam.review_policy,
            "closes_at": exam.closes_at,
        },
        now,
    )


def review_payload(session: Session, attempt: Attempt, now: dt.datetime) -> dict:
    """Key, explanation and cited article text, once the exam's policy allows it."""
    if not shows_review(attempt, now):
        raise PermissionDenied("考试结束后才能查看答案与解析。")
    spec = session.scalar(select(Blueprint.spec).where(Blueprint.id == attempt.exam.blueprint_id))
    answers = {
        a.paper_item_id: a
        for a in session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))
    }
    rows = session.execute(
        select(PaperItem, key_in_force())
        .join(QuestionVersion, QuestionVersion.id == PaperItem.question_version_id)
        .where(PaperItem.paper_id == attempt.paper_id)
        .order_by(PaperItem.position)
    ).all()
    questions = []
    for item, answer_key in rows:
        v = item.question_version
        key = _item_key(
            v.type, answer_key, item.points, item.option_order, v.options, spec, item.section
        )
        ans = answers.get(item.id)
        questions.append(
            {
                "id": item.id,
                "number": item.position,
                "type": v.type,
                "stem": v.stem,
                "options": _displayed_options(v.options, item.option_order)
                if v.type in ("single", "multiple")
                else [],
                "response": ans.response if ans else None,
                "key": kind_of(v.type).key_displayed(key),
                "marks": ans.marks if ans else 0.0,
                "points": item.points,
                "is_correct": bool(ans and ans.is_correct),
                "explanation": v.explanation,
                "citations": [_citation(session, c) for c in v.citations],
            }
        )
    return {**result_payload(attempt, now), "questions": questions}


def _citation(session: Session, citation: Citation) -> dict:
    source: LawSource = citation.source
    data = {"source": source.name, "article_key": citation.article_key, "label": None, "text": None}
    if citation.article_key and source.current_revision:
        article = session.scalar(
            select(Article)
            .join(LawRevision, LawRevision.id == Article.revision_id)
            .where(
                LawRevision.source_id == source.id,
                LawRevision.revision_date == source.current_revision,
                Article.key == citation.article_key,
            )
        )
        if article is not None:
            data.update({"label": article.label, "text": article.text})
    return data
