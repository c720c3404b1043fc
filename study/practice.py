"""Practice services: start a session (by source, knowledge point, difficulty, or the
mistakes notebook, or 每日一练), answer with instant feedback, the notebook. Take a
Session, never commit; ``now`` and ``seed`` come from the caller.

Practice never enters exam statistics: answers go to ``practice_answers`` only. A
session, its answers and the notebook belong to one person; anybody else is told they
do not exist (404). Questions reserved for exams (仅限考试) are never drawn, and one
reserved after it was drawn is refused at answer time without its key.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from core.errors import Conflict, InvalidInput, NotFound
from question_bank import kinds
from question_bank.kinds.base import LETTERS, ItemKey
from question_bank.kinds.fill_blank import count_blanks
from question_bank.models import (
    KnowledgePoint,
    LawSource,
    Question,
    QuestionVersion,
    version_knowledge_points,
)
from study import selection, spacing
from study.models import MODES, MistakeEntry, PracticeAnswer, PracticeSession
from study.reader import cited_article, practisable, source_by_code

MODE_LABELS = {"new": "专项练习", "mistakes": "错题重练", "daily": "每日一练"}
DEFAULT_SIZE = 10
MAX_KP = 100


@dataclass(frozen=True)
class PracticeRequest:
    """What a learner asked for (``parse_request`` checks it)."""

    mode: str = "new"
    source: str | None = None
    knowledge_point: str | None = None
    difficulty: int | None = None
    size: int = DEFAULT_SIZE

    def filters(self) -> dict:
        data = {
            "source": self.source,
            "knowledge_point": self.knowledge_point,
            "difficulty": self.difficulty,
        }
        return {k: v for k, v in data.items() if v is not None}


def _int(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(f"{name}应为 {lo}–{hi} 的整数。")
    try:
        n = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{name}应为 {lo}–{hi} 的整数。") from None
    if not lo <= n <= hi:
        raise InvalidInput(f"{name}应为 {lo}–{hi} 的整数。")
    return n


def _text(value, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name}应为文字。")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{name}过长（不超过 {limit} 字）。")
    return value or None


def parse_request(body: object) -> PracticeRequest:
    """The JSON body (or form values) of a new session; ``InvalidInput`` in Chinese."""
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象。")
    mode = body.get("mode") or "new"
    if mode not in MODES:
        raise InvalidInput("mode 应为 new、mistakes 或 daily。")
    default = selection.DAILY_SIZE if mode == "daily" else DEFAULT_SIZE
    size = body.get("size")
    size = default if size in (None, "") else _int(size, "题量", 1, selection.MAX_SIZE)
    difficulty = body.get("difficulty")
    difficulty = None if difficulty in (None, "") else _int(difficulty, "难度", 1, 5)
    return PracticeRequest(
        mode=mode,
        source=_text(body.get("source"), "法规", 64),
        knowledge_point=_text(body.get("knowledge_point"), "知识点", MAX_KP),
        difficulty=difficulty,
        size=size,
    )


# ---------------------------------------------------------------- drawing


def _eligible(session: Session, req: PracticeRequest) -> dict[int, int]:
    """question id -> current version id of every question the request may draw, in
    id order."""
    stmt = (
        select(Question.id, QuestionVersion.id)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .where(practisable())
        .order_by(Question.id)
    )
    if req.source:
        stmt = stmt.where(QuestionVersion.source_id == source_by_code(session, req.source).id)
    if req.knowledge_point:
        kp_id = session.scalar(
            select(KnowledgePoint.id).where(KnowledgePoint.name == req.knowledge_point)
        )
        if kp_id is None:
            raise NotFound(f"没有知识点“{req.knowledge_point}”。")
        stmt = stmt.where(
            QuestionVersion.id.in_(
                select(version_knowledge_points.c.version_id).where(
                    version_knowledge_points.c.knowledge_point_id == kp_id
                )
            )
        )
    if req.difficulty is not None:
        stmt = stmt.where(QuestionVersion.difficulty == req.difficulty)
    return dict(session.execute(stmt).all())


def _answered_counts(session: Session, person_id: int) -> dict[int, int]:
    return dict(
        session.execute(
            select(PracticeAnswer.question_id, func.count())
            .where(PracticeAnswer.person_id == person_id)
            .group_by(PracticeAnswer.question_id)
        ).all()
    )


def _open_entries(session: Session, person_id: int, *, due_by: dt.datetime | None = None):
    stmt = (
        select(MistakeEntry.question_id)
        .where(MistakeEntry.person_id == person_id, MistakeEntry.cleared_at.is_(None))
        .order_by(MistakeEntry.due_at, MistakeEntry.question_id)
    )
    if due_by is not None:
        stmt = stmt.where(MistakeEntry.due_at <= due_by)
    return list(session.scalars(stmt))


def draw(
    session: Session, person_id: int, req: PracticeRequest, *, now: dt.datetime, seed: int
) -> list[int]:
    """The question ids a new session shows (``InvalidInput`` when there are none)."""
    return _draw(session, person_id, req, now=now, seed=seed)[0]


def _draw(
    session: Session, person_id: int, req: PracticeRequest, *, now: dt.datetime, seed: int
) -> tuple[list[int], dict[int, int]]:
    eligible = _eligible(session, req)
    rng = random.Random(seed)
    if req.mode == "mistakes":
        chosen = [q for q in _open_entries(session, person_id) if q in eligible][: req.size]
        if not chosen:
            raise InvalidInput("错题本中暂无可练习的错题。")
        return chosen, eligible
    answered = _answered_counts(session, person_id)
    if req.mode == "daily":
        due = [q for q in _open_entries(session, person_id, due_by=now) if q in eligible]
        fresh = selection.choose_new(
            [q for q in eligible if q not in set(due)], answered, req.size, rng
        )
        chosen = selection.choose_daily(due, fresh, req.size)
    else:
        chosen = selection.choose_new(list(eligible), answered, req.size, rng)
    if not chosen:
        raise InvalidInput("没有符合条件的练习题，请换一个法规、知识点或难度。")
    return chosen, eligible


def start_session(
    session: Session,
    person_id: int,
    req: PracticeRequest,
    *,
    now: dt.datetime,
    seed: int,
) -> PracticeSession:
    """Draw and store a new session."""
    chosen, versions = _draw(session, person_id, req, now=now, seed=seed)
    row = PracticeSession(
        person_id=person_id,
        mode=req.mode,
        filters=req.filters(),
        question_ids=chosen,
        version_ids=[versions[q] for q in chosen],
        seed=seed,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def owned_session(session: Session, session_id: int, person_id: int) -> PracticeSession:
    row = session.get(PracticeSession, session_id)
    if row is None or row.person_id != person_id:
        raise NotFound("未找到该练习。")
    return row


# ---------------------------------------------------------------- payloads


def _item_key(version: QuestionVersion) -> ItemKey:
    # practice shows options in authored order: displayed A is the first authored key
    return ItemKey(
        type=version.type,
        answer=version.answer,
        points=1.0,
        authored_keys=tuple(o["key"] for o in version.options or []),
    )


def question_payload(question_id: int, code: str, version: QuestionVersion) -> dict:
    """What a learner sees before answering: never the key or the explanation."""
    data = {
        "id": question_id,
        "code": code,
        "type": version.type,
        "stem": version.stem,
        "options": [
            {"key": LETTERS[i], "text": o["text"]} for i, o in enumerate(version.options or [])
        ]
        if kinds.get(version.type).has_options
        else [],
    }
    if version.type == "fill_blank":
        data["blanks"] = max(1, count_blanks(version.stem))
    return data


def session_payload(session: Session, row: PracticeSession) -> dict:
    """The session with its questions (in order) and what was answered so far."""
    versions = {
        v.id: v
        for v in session.scalars(
            select(QuestionVersion)
            .where(QuestionVersion.id.in_(row.version_ids))
            .options(selectinload(QuestionVersion.question))
        )
    }
    answers = {
        a.question_id: a
        for a in session.scalars(select(PracticeAnswer).where(PracticeAnswer.session_id == row.id))
    }
    questions = []
    for qid, vid in zip(row.question_ids, row.version_ids, strict=True):
        v = versions[vid]
        questions.append(question_payload(qid, v.question.code, v))
    return {
        "session_id": row.id,
        "mode": row.mode,
        "mode_label": MODE_LABELS[row.mode],
        "filters": row.filters,
        "questions": questions,
        "answered": {qid: a.correct for qid, a in answers.items()},
    }


# ---------------------------------------------------------------- answering


def _feedback(session: Session, version, correct: bool, response) -> dict:
    """``version``: a ``QuestionVersion`` or a row with its id, type, answer, options
    and explanation."""
    key = _item_key(version)
    return {
        "correct": correct,
        "key": kinds.get(version.type).key_displayed(key),
        "response": response,
        "explanation": version.explanation or "",
        "citation": cited_article(session, version.id),
    }


_ENTRY_FIELDS = ("wrong_at", "due_at", "reviews", "streak", "wrong_count", "cleared_at")
_ENTRIES = MistakeEntry.__table__
_ENTRY = select(_ENTRIES.c.id, *(_ENTRIES.c[f] for f in _ENTRY_FIELDS)).where(
    _ENTRIES.c.person_id == bindparam("pid"), _ENTRIES.c.question_id == bindparam("qid")
)
_UPDATE_ENTRY = (
    update(_ENTRIES)
    .where(_ENTRIES.c.id == bindparam("entry_id"))
    .values({f: bindparam(f) for f in _ENTRY_FIELDS})
)


def _notebook(session: Session, person_id: int, question_id: int, correct: bool, now) -> dict:
    """Update the notebook entry of (person, question) after an answer (Core
    statements: this runs on every practice answer)."""
    conn = session.connection()
    row = conn.execute(_ENTRY, {"pid": person_id, "qid": question_id}).first()
    before = None if row is None else spacing.Entry(**{f: getattr(row, f) for f in _ENTRY_FIELDS})
    after = spacing.answer(before, correct, now)
    if after is None:
        return {"in_notebook": False}
    if after != before:
        values = {f: getattr(after, f) for f in _ENTRY_FIELDS}
        if row is None:
            conn.execute(
                insert(MistakeEntry.__table__),
                {"person_id": person_id, "question_id": question_id, **values},
            )
        else:
            conn.execute(_UPDATE_ENTRY, {"entry_id": row.id, **values})
    return {
        "in_notebook": after.open,
        "due_at": after.due_at.isoformat() if after.open else None,
        "streak": after.streak,
        "cleared": before is not None and before.open and not after.open,
    }


@dataclass(frozen=True)
class CheckedAnswer:
    """An answer checked (``check``) and ready to be stored (``record``)."""

    session_id: int
    person_id: int
    question_id: int
    version_id: int
    response: object
    correct: bool
    #: the reply: correct, key, response, explanation, citation
    feedback: dict
    #: the question was answered before in this session: nothing to store
    repeated: bool = False


def answer(
    session: Session,
    person_id: int,
    session_id: int,
    question_id: int,
    body: object,
    *,
    now: dt.datetime,
) -> dict:
    """Check one answer and say at once: right or wrong, the key, the explanation and
    the cited article's text. The answer is stored and the notebook updated. Sending
    the same question again returns the first result (``repeated``) and stores
    nothing."""
    return record(session, check(session, person_id, session_id, question_id, body), now=now)


def record(session: Session, checked: CheckedAnswer, *, now: dt.datetime) -> dict:
    """Store a checked answer and update the notebook (the writes of ``answer``; a
    second answer to the same question of a session fails on its unique key)."""
    if checked.repeated:
        return {**checked.feedback, "repeated": True}
    session.connection().execute(
        insert(PracticeAnswer.__table__),
        {
            "session_id": checked.session_id,
            "person_id": checked.person_id,
            "question_id": checked.question_id,
            "version_id": checked.version_id,
            "response": checked.response,
            "correct": checked.correct,
            "answered_at": now,
        },
    )
    notebook = _notebook(session, checked.person_id, checked.question_id, checked.correct, now)
    return {**checked.feedback, "notebook": notebook}


def check(
    session: Session, person_id: int, session_id: int, question_id: int, body: object
) -> CheckedAnswer:
    """The reads of ``answer``: the session is the person's, the question is in it and
    not reserved since, the answer is valid; right or wrong, and the reply."""
    conn = session.connection()  # Core on the connection: this runs on every answer
    row = conn.execute(_SESSION, {"sid": session_id}).first()
    if row is None or row.person_id != person_id:
        raise NotFound("未找到该练习。")  # before the body: a foreign id tells nothing
    if not isinstance(body, dict) or "answer" not in body:
        raise InvalidInput("请求应包含 answer。")
    try:
        index = row.question_ids.index(question_id)
    except ValueError:
        raise NotFound("本次练习中没有这道题。") from None
    version = conn.execute(_VERSION, {"vid": row.version_ids[index]}).one()
    if version.reserved:
        raise Conflict("该题已设为仅限考试，不再用于练习。")
    previous = conn.execute(_PREVIOUS, {"sid": row.id, "qid": question_id}).first()
    ids = {"session_id": row.id, "person_id": person_id, "question_id": question_id,
           "version_id": version.id}  # fmt: skip
    if previous is not None:
        feedback = _feedback(session, version, previous.correct, previous.response)
        return CheckedAnswer(**ids, response=previous.response, correct=previous.correct,
                             feedback=feedback, repeated=True)  # fmt: skip
    key = _item_key(version)
    kind = kinds.get(version.type)
    response = kind.validate(body["answer"], key)
    if response is None:
        raise InvalidInput("请先作答再提交。")
    correct = kind.check(response, key).is_correct
    feedback = _feedback(session, version, correct, response)
    return CheckedAnswer(**ids, response=response, correct=correct, feedback=feedback)


#: what checking and the reply need of the version shown (one read per answer)
_VERSION = (
    select(
        QuestionVersion.id,
        QuestionVersion.type,
        QuestionVersion.answer,
        QuestionVersion.options,
        QuestionVersion.explanation,
        Question.reserved,
    )
    .join(Question, Question.id == QuestionVersion.question_id)
    .where(QuestionVersion.id == bindparam("vid"))
)
_SESSION = select(
    PracticeSession.id, PracticeSession.person_id, PracticeSession.question_ids,
    PracticeSession.version_ids,
).where(PracticeSession.id == bindparam("sid"))  # fmt: skip
_PREVIOUS = select(PracticeAnswer.correct, PracticeAnswer.response).where(
    PracticeAnswer.session_id == bindparam("sid"), PracticeAnswer.question_id == bindparam("qid")
)


# ---------------------------------------------------------------- the notebook


def mistakes(session: Session, person_id: int, now: dt.datetime) -> list[dict]:
    """The open entries of the person's notebook, soonest due first (questions since
    reserved for exams or retired are left out)."""
    rows = session.execute(
        select(MistakeEntry, Question.code, LawSource.code, LawSource.name, QuestionVersion.stem)
        .join(Question, Question.id == MistakeEntry.question_id)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .outerjoin(LawSource, LawSource.id == QuestionVersion.source_id)
        .where(
            MistakeEntry.person_id == person_id,
            MistakeEntry.cleared_at.is_(None),
            practisable(),
        )
        .order_by(MistakeEntry.due_at, Question.code)
    ).all()
    return [
        {
            "code": code,
            "source": source_code,
            "source_name": source_name,
            "stem": stem,
            "due_at": e.due_at.isoformat(),
            "due": e.due_at <= now,
            "streak": e.streak,
            "wrong_count": e.wrong_count,
        }
        for e, code, source_code, source_name, stem in rows
    ]


def due_count(session: Session, person_id: int, now: dt.datetime) -> int:
    return sum(1 for m in mistakes(session, person_id, now) if m["due"])


# ---------------------------------------------------------------- the web pages


def answer_from_form(qtype: str, values: dict[str, list[str]]) -> object:
    """A form's fields (``answer`` repeated, ``blank`` per blank) as the JSON answer
    ``answer`` takes."""
    chosen = [v for v in values.get("answer", []) if v]
    if qtype == "multiple":
        return chosen or None
    if qtype == "true_false":
        if not chosen:
            return None
        if chosen[0] not in ("true", "false"):
            raise InvalidInput("判断题的答案应为“正确”或“错误”。")
        return chosen[0] == "true"
    if qtype == "fill_blank":
        return values.get("blank", [])
    return chosen[0] if chosen else None


def page(session: Session, person_id: int, session_id: int, number: int) -> dict:
    """Question ``number`` (1-based) of a session, with its feedback once answered,
    and where the learner stands."""
    row = owned_session(session, session_id, person_id)
    total = len(row.question_ids)
    if not 1 <= number <= total:
        raise NotFound("本次练习中没有这道题。")
    qid, vid = row.question_ids[number - 1], row.version_ids[number - 1]
    version = session.get(QuestionVersion, vid)
    question = session.get(Question, qid)
    answers = {
        a.question_id: a
        for a in session.scalars(select(PracticeAnswer).where(PracticeAnswer.session_id == row.id))
    }
    done = answers.get(qid)
    feedback = None
    if done is not None and not question.reserved:
        feedback = _feedback(session, version, done.correct, done.response)
    next_open = next(
        (i + 1 for i, q in enumerate(row.question_ids) if q not in answers and i + 1 != number),
        None,
    )
    return {
        "session_id": row.id,
        "mode": row.mode,
        "mode_label": MODE_LABELS[row.mode],
        "number": number,
        "total": total,
        "answered": len(answers),
        "correct": sum(1 for a in answers.values() if a.correct),
        "question": question_payload(qid, question.code, version),
        "withdrawn": question.reserved,
        "feedback": feedback,
        "next_open": next_open,
    }


def summary(session: Session, person_id: int, session_id: int) -> dict:
    """The end of a session: each question right, wrong or not answered."""
    row = owned_session(session, session_id, person_id)
    answers = {
        a.question_id: a
        for a in session.scalars(select(PracticeAnswer).where(PracticeAnswer.session_id == row.id))
    }
    codes = dict(
        session.execute(
            select(Question.id, Question.code).where(Question.id.in_(row.question_ids))
        ).all()
    )
    items = [
        {
            "number": i + 1,
            "code": codes.get(q, ""),
            "correct": answers[q].correct if q in answers else None,
        }
        for i, q in enumerate(row.question_ids)
    ]
    return {
        "session_id": row.id,
        "mode_label": MODE_LABELS[row.mode],
        "total": len(items),
        "answered": len(answers),
        "correct": sum(1 for a in answers.values() if a.correct),
        "items": items,
    }


def choices(session: Session) -> dict:
    """What the start form offers: sources and knowledge points with practice
    questions."""
    sources = session.execute(
        select(LawSource.code, LawSource.name, func.count())
        .join(QuestionVersion, QuestionVersion.source_id == LawSource.id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(practisable())
        .group_by(LawSource.code, LawSource.name, LawSource.sort_order)
        .order_by(LawSource.sort_order, LawSource.code)
    ).all()
    kps = session.execute(
        select(KnowledgePoint.name, func.count())
        .join(
            version_knowledge_points,
            version_knowledge_points.c.knowledge_point_id == KnowledgePoint.id,
        )
        .join(QuestionVersion, QuestionVersion.id == version_knowledge_points.c.version_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(practisable())
        .group_by(KnowledgePoint.name)
        .order_by(KnowledgePoint.name)
    ).all()
    return {
        "sources": [{"code": c, "name": n, "questions": k} for c, n, k in sources],
        "knowledge_points": [{"name": n, "questions": k} for n, k in kps],
    }
