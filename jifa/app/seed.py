"""One seeder for an exam sitting: an exam with its blueprint, enrolled candidates
(with accounts when a password is given), one paper per candidate, and optionally
started or submitted attempts with saved answers.

Shared by the tests (``tests/runner/conftest.py``, ``tests/analysis/conftest.py``), the
browser tests (``tests/browser/conftest.py``) and the benchmarks
(``scripts/bench/_common.py``), so a sitting is set up one way everywhere. The rows are
what the services write, put in with one bulk statement per table (2,000 candidates
with 50-question papers and 40 saved answers each: 9 s on SQLite, 13-21 s on PostgreSQL,
on the busy 2-core machine), not through the services: enrolment, the paper generator
and the start of an attempt have their own tests, and a fixture should not depend on
them. The demo (``jifa.app.demo``) goes through the services instead, as an
administrator would.

Works on any ``Session`` (a test's savepoint session or a benchmark's transaction) and
never commits. The rows go in through Core, past the session's identity map: load
objects (``session.get``) after seeding rather than before. ``now`` is passed in; the
default window is ``now - 1 h`` to ``now + 8 h``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from core.accounts.models import RoleGrant, UserAccount
from core.accounts.services import hash_password
from core.org.models import Person
from core.org.services import create_unit
from exam.models import Answer, Attempt, Blueprint, Exam, Paper, PaperItem, Participant
from exam.scoring import ItemKey, check_answer
from question_bank.models import (
    Citation,
    KnowledgePoint,
    Question,
    QuestionVersion,
    version_knowledge_points,
)
from question_bank.sources import ensure_default_sources

CHOICE = ("single", "multiple")
LETTERS4 = [{"key": k, "text": f"选项{k}"} for k in "ABCD"]

#: a response in displayed keys for each kind (what a benchmark's candidates save)
SAMPLE_RESPONSES: dict[str, Any] = {
    "single": "B",
    "multiple": ["A", "B"],
    "true_false": True,
    "fill_blank": ["留 置"],
}


@dataclass(frozen=True)
class Item:
    """One question of the sitting, at the same position on every paper."""

    type: str
    answer: Any  # in authored keys
    options: Sequence[dict] = ()
    stem: str | None = None
    explanation: str = "解析"
    difficulty: int = 3
    points: float = 10.0
    #: authored option keys in displayed order (``None``: ``option_orders`` or as authored)
    order: Sequence[str] | None = None
    #: a law source code (``question_bank.sources``) cited at ``article``
    source: str | None = None
    article: str | None = None
    knowledge_points: Sequence[str] = ()


def four_kinds(points: float = 10.0, tag: str = "") -> list[Item]:
    """One question of each kind: single (key A), multiple (A, C), true/false (true),
    fill-in (留置)."""
    opts = [{"key": k, "text": f"{tag}选项{k}"} for k in "ABCD"]
    return [
        Item("single", "A", opts, points=points),
        Item("multiple", ["A", "C"], opts, points=points),
        Item("true_false", True, points=points),
        Item("fill_blank", [["留置"]], stem="依法可以采取____措施。", points=points),
    ]


@dataclass
class Sitting:
    exam_id: int
    blueprint_id: int
    unit_id: int
    person_ids: list[int]
    person_nos: list[str]
    version_ids: list[int]  # one per item, in paper order
    types: list[str]  # the kind at each position
    papers: dict[int, int] = field(default_factory=dict)  # person id -> paper id
    items: dict[int, list[int]] = field(default_factory=dict)  # person id -> item ids
    attempts: dict[int, int] = field(default_factory=dict)  # person id -> attempt id


_tags = itertools.count(1)


def sections_for(items: Sequence[Item]) -> list[dict]:
    """Blueprint sections covering ``items``: one per kind, in order of appearance
    (multiple choice scores half marks for a partial answer)."""
    sections: list[dict] = []
    seen: dict[str, dict] = {}
    for item in items:
        if item.type not in seen:
            seen[item.type] = {"type": item.type, "count": 0, "points": item.points}
            if item.type == "multiple":
                seen[item.type] |= {"policy": "partial", "partial_fraction": 0.5}
            sections.append(seen[item.type])
        seen[item.type]["count"] += 1
    return sections


def seed_sitting(
    session: Session,
    *,
    now: dt.datetime,
    items: Sequence[Item] | None = None,
    candidates: int | Sequence[int] = 1,
    unit_id: int | None = None,
    person_nos: Sequence[str] | None = None,
    password: str | None = None,
    cheap_hash: bool = False,
    option_orders: Sequence[Sequence[str]] | None = None,
    sections: list[dict] | None = None,
    pass_mark: float | None = None,
    attempts: str | None = None,
    answers: int = 0,
    respond: Callable[[int, int, Item], Any] | None = None,
    tag: str | None = None,
    **exam_fields: Any,
) -> Sitting:
    """Seed one sitting and return its ids.

    - ``items``: the paper (default ``four_kinds()``); every candidate gets the same
      questions in the same order. ``option_orders``: candidate ``n``'s choice item at
      position ``p`` shows ``option_orders[(n + p) % len]`` (items with ``order`` keep it).
    - ``candidates``: how many new candidates (in ``unit_id``, or a new unit), or the
      ids of existing people (nothing about their accounts changes).
    - ``password``: new candidates get accounts with it (``cheap_hash``: a fast hash,
      for benchmarks whose logins are set-up).
    - ``sections`` / ``pass_mark``: the blueprint (default: ``sections_for(items)``,
      60 % of the paper's points).
    - ``attempts``: ``None``, ``"in_progress"`` or ``"submitted"`` (scored through the
      kinds); ``answers``: how many items of each attempt are answered, with
      ``respond(candidate index, position, item)`` or ``SAMPLE_RESPONSES``.
    - ``exam_fields``: any ``Exam`` column (``title``, ``duration_minutes``,
      ``opens_at``, ``closes_at``, ``status``, ``result_policy`` ...).
    """
    if attempts not in (None, "in_progress", "submitted"):
        raise ValueError(f"attempts must be None, 'in_progress' or 'submitted', not {attempts!r}")
    items = list(items if items is not None else four_kinds())
    tag = tag or f"S{next(_tags)}"
    session.flush()  # pending ORM changes first: the rows below go in through Core
    people = _candidates(session, candidates, unit_id, person_nos, password, cheap_hash, tag, now)
    sections = sections if sections is not None else sections_for(items)
    total = float(sum(i.points for i in items))
    pass_mark = pass_mark if pass_mark is not None else round(0.6 * total, 2)
    exam = _exam(session, tag, sections, total, pass_mark, people.unit_id, now, exam_fields)
    sitting = Sitting(
        exam_id=exam["id"],
        blueprint_id=exam["blueprint_id"],
        unit_id=people.unit_id,
        person_ids=people.ids,
        person_nos=people.nos,
        version_ids=_questions(session, items, tag, now),
        types=[i.type for i in items],
    )
    orders = [
        [_order(item, n, pos, option_orders) for pos, item in enumerate(items, start=1)]
        for n in range(len(people.ids))
    ]
    _papers(session, sitting, people.units, items, sections, orders, now)
    if attempts:
        _attempts(session, sitting, people.units, items, sections, orders, exam, attempts,
                  answers, respond, now)  # fmt: skip
    return sitting


# ------------------------------------------------------------------ parts


@dataclass
class _People:
    ids: list[int]
    nos: list[str]
    units: dict[int, int]  # person id -> unit id
    unit_id: int  # the exam's owner unit


def _candidates(
    session: Session,
    candidates: int | Sequence[int],
    unit_id: int | None,
    person_nos: Sequence[str] | None,
    password: str | None,
    cheap_hash: bool,
    tag: str,
    now: dt.datetime,
) -> _People:
    """New candidates (with accounts when ``password`` is given) or existing people."""
    if not isinstance(candidates, int):
        rows = session.execute(
            select(Person.id, Person.person_no, Person.unit_id).where(Person.id.in_(candidates))
        ).all()
        by_id = {r.id: r for r in rows}
        ids = list(candidates)
        units = {p: by_id[p].unit_id for p in ids}
        return _People(ids, [by_id[p].person_no for p in ids], units, unit_id or units[ids[0]])
    if unit_id is None:
        unit_id = create_unit(session, code=f"U{tag}", name=f"测试单位{tag}", kind="town").id
    nos = list(person_nos or [f"{tag}-{n:04d}" for n in range(1, candidates + 1)])
    ids = _insert_ids(
        session,
        Person,
        [
            {
                "person_no": no,
                "name": f"考生{no}",
                "unit_id": unit_id,
                "rank": "township",
                "is_party_member": True,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for no in nos
        ],
    )
    if password:
        _accounts(session, ids, password, cheap_hash, now)
    return _People(ids, nos, dict.fromkeys(ids, unit_id), unit_id)


def _exam(session, tag, sections, total, pass_mark, unit_id, now, fields) -> dict:
    """The blueprint and the exam (open, window around ``now``, unless ``fields`` say
    otherwise); the exam's values with its ``id``."""
    bp_id = _insert_ids(
        session,
        Blueprint,
        [
            {
                "code": f"BP{tag}",
                "version": 1,
                "name": f"测试规则{tag}",
                "tier": "all",
                "spec": {"sections": sections},
                "total_points": total,
                "pass_mark": pass_mark,
                "created_at": now,
            }
        ],
    )[0]
    exam = {
        "title": f"测试考试{tag}",
        "seed": "test-seed",
        "opens_at": now - dt.timedelta(hours=1),
        "closes_at": now + dt.timedelta(hours=8),
        "duration_minutes": 30,
        "status": "open",
        "pass_mark": pass_mark,
        "created_at": now,
        "owner_unit_id": unit_id,
        **fields,
        "blueprint_id": bp_id,
    }
    return exam | {"id": _insert_ids(session, Exam, [exam])[0]}


def _papers(session, sitting: Sitting, units, items, sections, orders, now) -> None:
    """Enrol every candidate and give each the same questions, with their option orders."""
    section_of = {s["type"]: i for i, s in enumerate(sections)}
    session.connection().execute(
        insert(Participant),
        [
            {"exam_id": sitting.exam_id, "person_id": p, "unit_id": units[p], "enrolled_at": now}
            for p in sitting.person_ids
        ],
    )
    paper_ids = _insert_ids(
        session,
        Paper,
        [
            {
                "exam_id": sitting.exam_id,
                "person_id": p,
                "blueprint_id": sitting.blueprint_id,
                "total_points": float(sum(i.points for i in items)),
                "mean_difficulty": sum(i.difficulty for i in items) / max(1, len(items)),
                "generated_at": now,
            }
            for p in sitting.person_ids
        ],
    )
    item_ids = _insert_ids(
        session,
        PaperItem,
        [
            {
                "paper_id": paper_id,
                "position": pos,
                "section": section_of.get(item.type, 0),
                "question_version_id": vid,
                "points": item.points,
                "option_order": orders[n][pos - 1],
            }
            for n, paper_id in enumerate(paper_ids)
            for pos, (item, vid) in enumerate(zip(items, sitting.version_ids, strict=True), 1)
        ],
    )
    k = len(items)
    sitting.papers = dict(zip(sitting.person_ids, paper_ids, strict=True))
    sitting.items = {p: item_ids[n * k : (n + 1) * k] for n, p in enumerate(sitting.person_ids)}


def _insert_ids(session: Session, model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` in one statement (batched by the driver); their ids in order."""
    if not rows:
        return []
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.connection().execute(stmt, rows).scalars())


def _accounts(
    session: Session, person_ids: list[int], password: str, cheap: bool, now: dt.datetime
) -> None:
    # one hash for every seeded account (cheap: logins are set-up in benchmarks)
    pw_hash = (
        generate_password_hash(password, method="pbkdf2:sha256:1000")
        if cheap
        else hash_password(password)
    )
    account_ids = _insert_ids(
        session,
        UserAccount,
        [
            {
                "person_id": p,
                "password_hash": pw_hash,
                "must_change_password": False,
                "session_version": 1,
                "failed_logins": 0,
                "is_active": True,
                "created_at": now,
            }
            for p in person_ids
        ],
    )
    session.connection().execute(
        insert(RoleGrant),
        [{"user_id": a, "role": "candidate", "granted_at": now} for a in account_ids],
    )


def _questions(session: Session, items: list[Item], tag: str, now: dt.datetime) -> list[int]:
    sources = ensure_default_sources(session) if any(i.source for i in items) else {}
    question_ids = _insert_ids(
        session,
        Question,
        [
            {"code": f"Q{tag}-{pos}", "status": "active", "created_at": now, "updated_at": now}
            for pos in range(1, len(items) + 1)
        ],
    )
    rows = []
    for pos, (item, qid) in enumerate(zip(items, question_ids, strict=True), start=1):
        stem = item.stem or f"第{pos}题（{tag}）：依据有关规定，下列说法正确的是" + (
            "____。" if item.type == "fill_blank" else "。"
        )
        rows.append(
            {
                "question_id": qid,
                "version": 1,
                "is_current": True,
                "type": item.type,
                "stem": stem,
                "options": [dict(o) for o in item.options],
                "answer": item.answer,
                "explanation": item.explanation,
                "difficulty": item.difficulty,
                "tiers": ["all"],
                "source_id": sources[item.source].id if item.source else None,
                "fingerprint": hashlib.sha256(f"{tag}|{pos}|{stem}".encode()).hexdigest(),
                "created_at": now,
            }
        )
    version_ids = _insert_ids(session, QuestionVersion, rows)
    citations = [
        {"version_id": vid, "source_id": sources[item.source].id, "article_key": item.article}
        for item, vid in zip(items, version_ids, strict=True)
        if item.source
    ]
    if citations:
        session.connection().execute(insert(Citation), citations)
    names = sorted({kp for item in items for kp in item.knowledge_points})
    if names:
        kp_ids = dict(
            session.execute(
                select(KnowledgePoint.name, KnowledgePoint.id).where(KnowledgePoint.name.in_(names))
            ).all()
        )
        new = [n for n in names if n not in kp_ids]
        kp_ids |= dict(
            zip(new, _insert_ids(session, KnowledgePoint, [{"name": n} for n in new]), strict=True)
        )
        session.connection().execute(
            insert(version_knowledge_points),
            [
                {"version_id": vid, "knowledge_point_id": kp_ids[kp]}
                for item, vid in zip(items, version_ids, strict=True)
                for kp in dict.fromkeys(item.knowledge_points)
            ],
        )
    return version_ids


def _order(item: Item, n: int, pos: int, option_orders) -> list[str]:
    if item.type not in CHOICE:
        return []
    if item.order is not None:
        return list(item.order)
    if option_orders:
        return list(option_orders[(n + pos) % len(option_orders)])
    return [o["key"] for o in item.options]


def _attempts(session, sitting, units, items, sections, orders, exam, status, answers, respond,
              now) -> None:  # fmt: skip
    """One attempt per candidate, its first ``answers`` items saved; submitted attempts
    are scored through the kinds."""
    deadline = min(now + dt.timedelta(minutes=exam["duration_minutes"]), exam["closes_at"])
    answered = items[: min(answers, len(items))]
    attempt_rows, answer_rows = [], []
    for n, pid in enumerate(sitting.person_ids):
        saved = [
            _saved(
                item,
                item_id,
                pos,
                respond(n, pos, item) if respond else SAMPLE_RESPONSES[item.type],
                orders[n][pos - 1],
                sections,
                scored=status == "submitted",
                now=now,
            )
            for pos, (item, item_id) in enumerate(
                zip(answered, sitting.items[pid], strict=False), 1
            )
        ]
        answer_rows.append(saved)
        attempt = {
            "exam_id": sitting.exam_id,
            "person_id": pid,
            "paper_id": sitting.papers[pid],
            "unit_id": units[pid],
            "attempt_no": 1,
            "status": status,
            "started_at": now,
            "deadline_at": deadline,
            "last_seq": 0,  # stored on submission; in progress, max(Answer.seq) holds it
            "last_saved_at": now if saved else None,
        }
        if status == "submitted":
            score = sum(r["marks"] for r in saved)
            attempt |= {
                "submitted_at": now,
                "submitted_by": "candidate",
                "score": score,
                "max_score": float(sum(i.points for i in items)),
                "passed": score >= exam["pass_mark"],
                "last_seq": len(saved),
            }
        attempt_rows.append(attempt)
    attempt_ids = _insert_ids(session, Attempt, attempt_rows)
    sitting.attempts = dict(zip(sitting.person_ids, attempt_ids, strict=True))
    rows = [
        {"attempt_id": aid, **r}
        for aid, saved in zip(attempt_ids, answer_rows, strict=True)
        for r in saved
    ]
    for chunk in range(0, len(rows), 20000):
        session.connection().execute(insert(Answer), rows[chunk : chunk + 20000])


def _saved(item, item_id, pos, response, order, sections, *, scored, now) -> dict:
    """One saved answer (sequence number = position), marked when ``scored``."""
    row = {"paper_item_id": item_id, "response": response, "flagged": False, "seq": pos,
           "saved_at": now}  # fmt: skip
    if scored:
        key = ItemKey(
            type=item.type,
            answer=item.answer,
            points=item.points,
            option_order=order,
            authored_keys=[o["key"] for o in item.options],
            section=next((s for s in sections if s["type"] == item.type), None),
        )
        result = check_answer(response, key)
        row |= {"marks": result.marks, "is_correct": result.is_correct}
    return row
