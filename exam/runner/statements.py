"""Prebuilt SQL shared by the runner's modules: table handles and the dialect-specific
statements (``INSERT .. ON CONFLICT``), each built once per dialect and column set and
reused. Building a statement costs more than the database work on the hot paths.

PostgreSQL and SQLite are the supported databases; both have ``ON CONFLICT``.
"""

from __future__ import annotations

from sqlalchemy import Interval, bindparam, cast, func, literal_column, select

from core.accounts.models import UserAccount
from core.db import DriverStatement, UTCDateTime
from exam.models import Answer, Attempt, Exam

ATTEMPTS = Attempt.__table__
ANSWERS = Answer.__table__


def dialect_insert(dialect: str):
    """The ``insert`` construct with ``on_conflict_*`` for ``dialect``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two supported databases only
        raise NotImplementedError(dialect)
    return insert


_ATTEMPT_INSERTS: dict[str, object] = {}


def attempt_insert(dialect: str):
    """``INSERT INTO attempts .. ON CONFLICT (exam_id, person_id, attempt_no) DO NOTHING
    RETURNING id``: a second simultaneous start inserts nothing."""
    stmt = _ATTEMPT_INSERTS.get(dialect)
    if stmt is None:
        stmt = _ATTEMPT_INSERTS[dialect] = (
            dialect_insert(dialect)(ATTEMPTS)
            .on_conflict_do_nothing(index_elements=["exam_id", "person_id", "attempt_no"])
            .returning(ATTEMPTS.c.id)
        )
    return stmt


_GUARDED: dict[tuple[str, tuple[str, ...]], object] = {}


def _in_time(dialect: str):
    """``now <= attempts.deadline_at + exams.grace_seconds``, in the database."""
    now = bindparam("now", type_=UTCDateTime())
    if dialect == "postgresql":
        second = literal_column("INTERVAL '1 second'", type_=Interval())
        return Attempt.deadline_at + Exam.grace_seconds * second >= now
    # julianday() reads times to the millisecond and is exact to ~40 µs; the margin
    # (~86 µs) keeps the guard on the safe side: it closes at most about 1 ms before
    # deadline + grace, never after.
    open_until = func.julianday(Attempt.deadline_at) + Exam.grace_seconds / 86400.0
    return open_until >= func.julianday(now) + 1e-9


def guarded_upsert(dialect: str, keys: tuple[str, ...]):
    """The one statement that writes an autosave, on either entrance (the Flask API
    and the lean autosave app)::

        INSERT INTO answers (..) SELECT <values> FROM attempts JOIN exams
            JOIN user_accounts ON user_accounts.id = :uid
        WHERE <account active, same session version, owner of the attempt,
               attempt in progress, deadline + grace not passed>
        ON CONFLICT (attempt_id, paper_item_id) DO UPDATE SET <keys>
            WHERE answers.seq < excluded.seq
        RETURNING id

    Atomic on its own; no row comes back when any condition fails (then
    ``autosave.explain_refusal`` says why). Built once per dialect and column set.
    """
    stmt = _GUARDED.get((dialect, keys))
    if stmt is not None:
        return stmt
    table = ANSWERS
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
            _in_time(dialect),
        )
    )
    ins = dialect_insert(dialect)(Answer).from_select(names, source)
    stmt = ins.on_conflict_do_update(
        index_elements=[Answer.attempt_id, Answer.paper_item_id],
        set_={k: ins.excluded[k] for k in keys},
        where=Answer.seq < ins.excluded.seq,
    ).returning(Answer.id)
    _GUARDED[(dialect, keys)] = stmt
    return stmt


_GUARDED_DRIVER: dict[tuple[str, tuple[str, ...]], DriverStatement] = {}


def guarded_upsert_on_driver(dialect, keys: tuple[str, ...]) -> DriverStatement:
    """``guarded_upsert`` compiled once for running on the driver directly (the lean
    autosave app's writes, ``core.db.write_now``)."""
    statement = _GUARDED_DRIVER.get((dialect.name, keys))
    if statement is None:
        statement = DriverStatement(guarded_upsert(dialect.name, keys), dialect)
        _GUARDED_DRIVER[(dialect.name, keys)] = statement
    return statement
