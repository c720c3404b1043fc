"""The one autosave rule, shared by both entrances: the Flask API
(``PUT /api/v1/attempts/<a>/answers/<q>``, session cookie + CSRF token) and the lean
autosave app (``jifa.web.runner.autosave``, a per-attempt token).

A save is ``{"answer": ..., "seq": n, "flagged": bool?}`` for one paper item, in
displayed keys. ``save_answer`` checks the body and validates the answer against the
item's rule (type, options shown, blanks: never the key), then writes it with the one
guarded statement (``statements.guarded_upsert``), whose own WHERE clause checks the
account (active, same session version, owner), the attempt (in progress, deadline plus
grace, read fresh) and the sequence number (only over an older save). Nothing else is
read on the way to a valid save.

When the write refuses, or the request is malformed, ``explain_refusal`` reads (never
writes) why, in one fixed order, so every refusal reads the same through either
entrance: not signed in (401), no such attempt (404), another person's attempt (403),
submitted (409), time is up (409), no such item (404), malformed (422). An older ``seq``
than the stored one is no error: the reply says ``applied: false``.

``Attempt.last_seq`` is not written here (autosave leaves the attempt row alone): while
an attempt is in progress the highest accepted sequence number is ``max(Answer.seq)``;
submission stores it on the attempt.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, select
from sqlalchemy.orm import Session

from core.accounts.models import UserAccount
from core.db import write_now
from core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from exam.models import Answer, Attempt, Exam, PaperItem
from exam.runner import timing
from exam.runner.helpers import IN_PROGRESS, item_key
from exam.runner.statements import guarded_upsert, guarded_upsert_on_driver
from exam.scoring import LETTERS, ItemKey, kind_of
from question_bank.models import QuestionVersion

#: the largest save body either entrance reads (an answer is a few hundred bytes)
MAX_SAVE_BODY = 64 * 1024

LATE = "作答时间已到，本次修改未被接受；此前保存的答案均已保留。"


class BodyTooLarge(DomainError):
    status = 413

    def __init__(self) -> None:
        super().__init__(f"请求内容过大（单次保存不超过 {MAX_SAVE_BODY // 1024} KB）。")


@dataclass(frozen=True)
class AccountClaim:
    """Who a save says it comes from: the account and its session version (from the
    session cookie, or from an autosave token, which also names the one attempt it is
    good for). The guarded statement checks them against the account row."""

    user_id: int
    session_version: int
    attempt_id: int | None = None


class ItemRule(NamedTuple):
    """What validating a save of one paper item needs (not the key itself)."""

    type: str
    options: int  # options shown
    blanks: int  # fill-in blanks


Rules = dict[int, ItemRule]

_RULES = (
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
_ITEM_RULE = _RULES.where(PaperItem.id == bindparam("item_id"))


def _rules(rows) -> Rules:
    rules = {}
    for item_id, typ, order, options, answer in rows:
        key = item_key(typ, answer, 0.0, order, options, None, 0)
        rules[item_id] = ItemRule(typ, len(key.displayed_keys), key.blanks)
    return rules


def save_rules(conn: Connection, attempt_id: int) -> Rules:
    """Validation rules for every item of an attempt's paper, keyed by paper item id, in
    one read. Papers are fixed once generated, so the lean autosave app keeps these per
    attempt. Empty if there is no such attempt."""
    return _rules(conn.execute(_RULES, {"attempt_id": attempt_id}))


def item_rules(conn: Connection, attempt_id: int, item_id: int) -> Rules:
    """The rule of one item (the Flask entrance reads just what it needs)."""
    return _rules(conn.execute(_ITEM_RULE, {"attempt_id": attempt_id, "item_id": item_id}))


class SavePlan(NamedTuple):
    """A validated save, ready for the guarded statement."""

    seq: int
    columns: tuple[str, ...]  # the columns written (selects the prebuilt statement)
    params: dict


def check_save_body(body: Any) -> tuple[int, bool | None]:
    """``(seq, flagged)`` of a well-formed body, else ``InvalidInput``."""
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象。")
    if "answer" not in body and "flagged" not in body:
        raise InvalidInput("请求应包含 answer 和 seq。")
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or seq > 2**31 - 1:
        raise InvalidInput("seq 应为正整数。")
    flagged = body.get("flagged")
    if flagged is not None and not isinstance(flagged, bool):
        raise InvalidInput("flagged 应为 true 或 false。")
    return seq, flagged


def plan_save(
    claim: AccountClaim,
    attempt_id: int,
    item_id: int,
    body: Any,
    rules: Rules,
    *,
    now: dt.datetime,
) -> SavePlan | None:
    """Check the body and validate the answer against the item's rule, without the
    database (``InvalidInput`` when malformed). ``None`` when nothing may be written
    at all: the item is not on the paper, or the claim is for another attempt."""
    seq, flagged = check_save_body(body)
    rule = rules.get(item_id)
    if rule is None or claim.attempt_id not in (None, attempt_id):
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
    return SavePlan(seq, tuple(sorted(values)), params)


def save_answer(
    conn: Connection,
    claim: AccountClaim,
    attempt_id: int,
    item_id: int,
    body: Any,
    *,
    rules: Rules,
    now: dt.datetime,
    autocommit: bool = False,
) -> dict:
    """Save one answer (see the module docstring): the reply, or the ``DomainError``
    that ``explain_refusal`` finds. ``rules`` holds at least the item's rule when it is
    on the attempt's paper. On an ``autocommit`` connection the write is its own
    transaction, run on the driver directly and durable when this returns; otherwise
    it joins the connection's transaction (a request's session)."""
    try:
        plan = plan_save(claim, attempt_id, item_id, body, rules, now=now)
    except InvalidInput as invalid:
        raise explain_refusal(  # never None when ``invalid`` is given
            conn, claim, attempt_id, item_id, seq=None, now=now, invalid=invalid
        ) from None
    if plan is not None:
        if autocommit:
            stmt = guarded_upsert_on_driver(conn.dialect, plan.columns)
            written = write_now(conn, stmt, plan.params) is not None
        else:
            stmt = guarded_upsert(conn.dialect.name, plan.columns)
            written = conn.execute(stmt, plan.params).first() is not None
        if written:
            return _reply(plan.seq, True, now)
    seq = plan.seq if plan is not None else None
    refusal = explain_refusal(conn, claim, attempt_id, item_id, seq=seq, now=now)
    if refusal is None:  # an older save arriving after a newer one: nothing to do
        return _reply(seq, False, now)
    raise refusal


def save_in_session(
    session: Session,
    claim: AccountClaim,
    attempt_id: int,
    item_id: int,
    body: Any,
    *,
    now: dt.datetime,
) -> dict:
    """``save_answer`` inside a session's transaction (the Flask entrance: the request
    commits), reading the one item's rule."""
    conn = session.connection()
    rules = item_rules(conn, attempt_id, item_id)
    return save_answer(conn, claim, attempt_id, item_id, body, rules=rules, now=now)


def _reply(seq: int | None, applied: bool, now: dt.datetime) -> dict:
    return {"saved": True, "applied": applied, "seq": seq, "server_time": now.isoformat()}


_EXPLAIN_READ = (
    select(
        UserAccount.is_active,
        UserAccount.session_version,
        UserAccount.person_id.label("account_person_id"),
        Attempt.person_id,
        Attempt.status,
        Attempt.deadline_at,
        Exam.grace_seconds,
        PaperItem.id.label("item_id"),
        Answer.seq.label("stored_seq"),
    )
    .select_from(UserAccount)
    .outerjoin(Attempt, Attempt.id == bindparam("attempt_id"))
    .outerjoin(Exam, Exam.id == Attempt.exam_id)
    .outerjoin(
        PaperItem,
        and_(PaperItem.paper_id == Attempt.paper_id, PaperItem.id == bindparam("item_id")),
    )
    .outerjoin(
        Answer,
        and_(Answer.attempt_id == Attempt.id, Answer.paper_item_id == bindparam("item_id")),
    )
    .where(UserAccount.id == bindparam("uid"))
)


def explain_refusal(
    conn: Connection,
    claim: AccountClaim,
    attempt_id: int,
    item_id: int,
    *,
    seq: int | None,
    now: dt.datetime,
    invalid: InvalidInput | None = None,
) -> DomainError | None:
    """Why a save was not written, from one read that writes nothing: the error to
    answer with (status, Chinese message, details), or ``None`` when the only reason is
    a newer save already stored (``seq`` not above the stored one). ``invalid`` is the
    body's or answer's own fault, reported once nothing weightier applies."""
    row = conn.execute(
        _EXPLAIN_READ, {"uid": claim.user_id, "attempt_id": attempt_id, "item_id": item_id}
    ).one_or_none()
    if row is None or not row.is_active or row.session_version != claim.session_version:
        return NotAuthenticated("请先登录。")
    if row.person_id is None:
        return NotFound("未找到该作答记录。")
    if row.person_id != row.account_person_id:
        return PermissionDenied("这不是您的作答记录。")
    if claim.attempt_id not in (None, attempt_id):
        return PermissionDenied("保存凭据不属于该作答记录，请刷新页面后重试。")
    if row.status != IN_PROGRESS:
        return Conflict("试卷已交卷，不能再修改答案。")
    if not timing.accepts_saves(row.deadline_at, row.grace_seconds, now):
        return Conflict(LATE)
    if row.item_id is None:
        return NotFound("本试卷中没有这道题。")
    if invalid is not None:
        return invalid
    if seq is not None and row.stored_seq is not None and row.stored_seq >= seq:
        return None
    # Nothing else stopped it: the guard's clock margin on SQLite (it closes up to about
    # 1 ms before deadline + grace; see statements.guarded_upsert).
    return Conflict(LATE)
