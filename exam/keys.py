"""The answer key in force for a paper item.

Question versions are immutable: an edit makes a new version and papers keep the version
they were built from. An edit that leaves the type, the stem and the options (keys and
texts) exactly as they were is a *key correction*: candidates
saw exactly the question the new key belongs to. Scoring, ``jifa exam regrade``, the
review page, printed keys and answer-sheet scoring therefore use the key of the newest
such version. Any other edit is a different question, and a paper keeps its own key.
"""

from __future__ import annotations

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import aliased

from question_bank.models import QuestionVersion

_newer = aliased(QuestionVersion, name="key_version")


def key_in_force():
    """A correlated scalar subquery, for statements selecting from ``QuestionVersion``:
    the answer of the newest version of the same question with the same type, stem and
    options (the version itself when there is no correction)."""
    return (
        select(_newer.answer)
        .where(
            _newer.question_id == QuestionVersion.question_id,
            _newer.type == QuestionVersion.type,
            _newer.stem == QuestionVersion.stem,
            cast(_newer.options, Text) == cast(QuestionVersion.options, Text),
        )
        .order_by(_newer.version.desc())
        .limit(1)
        .correlate(QuestionVersion)
        .scalar_subquery()
    )
