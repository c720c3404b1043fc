"""Small pieces shared by the runner's modules: statuses, ISO times, cached JSON
decoding, item keys, displayed options and the owned-attempt read."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.orm import Session, joinedload

from core.errors import NotFound, PermissionDenied
from exam.models import Attempt, AttemptStatus
from exam.scoring import ItemKey, section_spec

SUBMITTED = AttemptStatus.submitted.value
IN_PROGRESS = AttemptStatus.in_progress.value


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def json_text(column):
    """A JSON column read as its text, decoded by ``load_json`` (cached per distinct
    text: the same options, keys and option orders recur on every paper of an exam)."""
    return cast(column, Text)


@functools.lru_cache(maxsize=16384)
def _json_cached(raw: str) -> Any:
    return json.loads(raw)


def load_json(raw: str | None) -> Any:
    """Decode a JSON text (results are shared between callers: read them, never
    mutate them)."""
    return None if raw is None else _json_cached(raw)


def item_key(
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


def displayed_options(options: list, option_order: list) -> list[dict]:
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
