"""One-time exam codes issued by a unit (for candidates without a password)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts.models import UserAccount
from core.accounts.services import ensure_account, hash_code
from core.errors import NotAuthenticated
from core.org.models import Person
from exam.models import ExamCode

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_code(length: int = 10) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def issue_code(
    session: Session,
    person: Person,
    *,
    now: dt.datetime,
    exam_id: int | None = None,
    valid_for: dt.timedelta = dt.timedelta(days=30),
) -> str:
    """Create a code for ``person`` and return it; only its hash is stored."""
    code = new_code()
    session.add(
        ExamCode(
            code_hash=hash_code(code),
            person_id=person.id,
            exam_id=exam_id,
            issued_at=now,
            expires_at=now + valid_for,
        )
    )
    return code


def redeem_code(session: Session, code: str, *, now: dt.datetime) -> UserAccount:
    """Log in with a one-time code: valid, unexpired and unused, then marked used."""
    row = session.scalar(
        select(ExamCode).where(ExamCode.code_hash == hash_code(code or "")).with_for_update()
    )
    if row is None or row.used_at is not None or (row.expires_at and row.expires_at <= now):
        raise NotAuthenticated("考试码无效、已使用或已过期。")
    row.used_at = now
    return ensure_account(session, row.person)


def issue_codes(
    session: Session,
    people: list[Person],
    *,
    now: dt.datetime,
    exam_id: int | None = None,
    valid_for: dt.timedelta = dt.timedelta(days=30),
    actor=None,
) -> list[tuple[Person, str]]:
    """One code per person (optionally for one exam); the codes are returned once for
    the printed slips and only their hashes are kept. Audited."""
    from core.audit import record

    issued = [
        (p, issue_code(session, p, now=now, exam_id=exam_id, valid_for=valid_for)) for p in people
    ]
    session.flush()
    record(
        session,
        actor,
        "account.issue_codes",
        "exam" if exam_id else "person",
        exam_id,
        after={"count": len(issued), "person_nos": [p.person_no for p, _ in issued][:1000]},
        at=now,
    )
    return issued
