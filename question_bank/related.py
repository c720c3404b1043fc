"""Related questions in the bank (互斥/关联题): stored pairs, recomputed from the
questions' current versions whenever questions are imported or edited. Never commit.

Two origins, one table (``RelatedQuestion``):

- ``auto``: found by ``question_bank.relations`` in the current versions' texts (one
  question's stem or options give another's answer away; near-duplicate statements of
  one source);
- ``manual``: two questions share an exclusion group (互斥组), declared in the import
  template, the export and the bank's edit page.

Paper generation keeps every stored pair apart (``exam.papers.persist.load_related``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session, aliased

from question_bank.models import (
    RELATION_ORIGIN_LABELS,
    RELATION_REASON_LABELS,
    LawSource,
    Question,
    QuestionVersion,
    RelatedQuestion,
)
from question_bank.relations import GIVES_AWAY, RelationIndex, RelItem

__all__ = [
    "PairPage",
    "PairRow",
    "pairs_of",
    "question_pairs",
    "refresh_relations",
    "related_page",
    "related_summary",
    "list_related",
]

EXCLUSION_GROUP = "exclusion_group"


def _detected(session: Session) -> dict[tuple[int, int, str], tuple[str, int | None, str | None]]:
    """(a, b, reason) -> (origin, giver, detail) for every pair of the bank now."""
    rows = session.execute(
        select(
            Question.id,
            Question.exclusion_group,
            QuestionVersion.type,
            QuestionVersion.stem,
            QuestionVersion.options,
            QuestionVersion.answer,
            LawSource.code,
        )
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .outerjoin(LawSource, LawSource.id == QuestionVersion.source_id)
        .where(QuestionVersion.is_current.is_(True))
        .order_by(Question.id)
    ).all()
    found: dict[tuple[int, int, str], tuple[str, int | None, str | None]] = {}
    items = [RelItem.of(r[0], r[2], r[3], r[4], r[5], r[6]) for r in rows]
    for rel in RelationIndex(items).find():
        a, b = sorted((rel.first, rel.second))
        if a == b:
            continue
        if rel.reason == GIVES_AWAY:
            detail = rel.phrase
            giver = rel.first
        else:
            detail = f"{rel.similarity:.2f}" if rel.similarity is not None else None
            giver = None
        found.setdefault((a, b, rel.reason), ("auto", giver, detail))
    groups: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        if r[1]:
            groups[r[1]].append(r[0])
    for name, ids in groups.items():
        ids.sort()
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                found[(a, b, EXCLUSION_GROUP)] = ("manual", None, name)
    return found


def refresh_relations(session: Session) -> dict:
    """Recompute every stored pair from the current versions and exclusion groups:
    pairs no longer found are deleted, new ones inserted (a kept pair keeps its row).
    Returns counts ``{"pairs", "added", "removed"}``."""
    session.flush()
    found = _detected(session)
    stored = {
        (r.question_a_id, r.question_b_id, r.reason): r
        for r in session.scalars(select(RelatedQuestion))
    }
    gone = [r.id for key, r in stored.items() if key not in found]
    for start in range(0, len(gone), 1000):
        session.execute(
            delete(RelatedQuestion).where(RelatedQuestion.id.in_(gone[start : start + 1000]))
        )
    for key, r in stored.items():
        if key in found:
            origin, giver, detail = found[key]
            if (r.origin, r.giver_id, r.detail) != (origin, giver, detail):
                r.origin, r.giver_id, r.detail = origin, giver, detail
    new = [
        {
            "question_a_id": a,
            "question_b_id": b,
            "reason": reason,
            "origin": origin,
            "giver_id": giver,
            "detail": detail,
        }
        for (a, b, reason), (origin, giver, detail) in sorted(found.items())
        if (a, b, reason) not in stored
    ]
    if new:
        session.execute(insert(RelatedQuestion), new)
    session.flush()
    return {"pairs": len(found), "added": len(new), "removed": len(gone)}


def question_pairs(session: Session) -> set[tuple[int, int]]:
    """Every related pair of question ids (a < b), whatever the reason."""
    return {
        (a, b)
        for a, b in session.execute(
            select(RelatedQuestion.question_a_id, RelatedQuestion.question_b_id)
        )
    }


@dataclass(frozen=True)
class PairRow:
    """One stored pair as the bank pages and ``jifa bank related`` show it."""

    a_code: str
    b_code: str
    a_stem: str
    b_stem: str
    reason: str
    origin: str
    #: code of the question whose answer is given away (gives_away)
    giver_code: str | None
    detail: str | None

    @property
    def reason_label(self) -> str:
        return RELATION_REASON_LABELS.get(self.reason, self.reason)

    @property
    def origin_label(self) -> str:
        return RELATION_ORIGIN_LABELS.get(self.origin, self.origin)

    def describe(self) -> str:
        if self.reason == GIVES_AWAY and self.giver_code:
            other = self.b_code if self.giver_code == self.a_code else self.a_code
            return f"{other} 的题干或选项含 {self.giver_code} 的答案（“{self.detail}”）"
        if self.reason == EXCLUSION_GROUP:
            return f"同属互斥组“{self.detail}”"
        return f"题意相近（相似度 {self.detail}）"

    def as_dict(self) -> dict:
        return {
            "a": self.a_code,
            "b": self.b_code,
            "reason": self.reason,
            "reason_label": self.reason_label,
            "origin": self.origin,
            "giver": self.giver_code,
            "detail": self.detail,
            "description": self.describe(),
        }


def list_related(
    session: Session, *, code: str | None = None, reason: str | None = None
) -> list[PairRow]:
    """Stored pairs with both questions' codes and current stems (``code``: only the
    pairs of that question; ``reason``: only that reason)."""
    qa, qb, qg = aliased(Question), aliased(Question), aliased(Question)
    va, vb = aliased(QuestionVersion), aliased(QuestionVersion)
    stmt = (
        select(
            qa.code,
            qb.code,
            va.stem,
            vb.stem,
            RelatedQuestion.reason,
            RelatedQuestion.origin,
            qg.code,
            RelatedQuestion.detail,
        )
        .join(qa, qa.id == RelatedQuestion.question_a_id)
        .join(qb, qb.id == RelatedQuestion.question_b_id)
        .join(va, (va.question_id == qa.id) & va.is_current.is_(True))
        .join(vb, (vb.question_id == qb.id) & vb.is_current.is_(True))
        .outerjoin(qg, qg.id == RelatedQuestion.giver_id)
        .order_by(qa.code, qb.code, RelatedQuestion.reason)
    )
    if code:
        stmt = stmt.where(or_(qa.code == code, qb.code == code))
    if reason:
        stmt = stmt.where(RelatedQuestion.reason == reason)
    return [PairRow(*row) for row in session.execute(stmt)]


@dataclass(frozen=True)
class PairPage:
    rows: list[PairRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def related_page(
    session: Session,
    *,
    code: str | None = None,
    reason: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> PairPage:
    """One page of ``list_related`` (the bank's related page)."""
    rows = list_related(session, code=code, reason=reason)
    start = (max(1, page) - 1) * per_page
    return PairPage(rows[start : start + per_page], len(rows), max(1, page), per_page)


def related_summary(session: Session) -> dict:
    """Counts of stored pairs: distinct pairs, and rows by origin and by reason (a pair
    found for two reasons is one row per reason)."""
    by_origin: dict[str, int] = defaultdict(int)
    by_reason: dict[str, int] = defaultdict(int)
    pairs: set[tuple[int, int]] = set()
    rows = 0
    for a, b, origin, reason in session.execute(
        select(
            RelatedQuestion.question_a_id,
            RelatedQuestion.question_b_id,
            RelatedQuestion.origin,
            RelatedQuestion.reason,
        )
    ):
        pairs.add((a, b))
        by_origin[origin] += 1
        by_reason[reason] += 1
        rows += 1
    return {
        "pairs": len(pairs),
        "rows": rows,
        "by_origin": dict(by_origin),
        "by_reason": dict(by_reason),
    }


def pairs_of(session: Session, question_id: int) -> list[PairRow]:
    """The stored pairs of one question (its bank page)."""
    code = session.scalar(select(Question.code).where(Question.id == question_id))
    return list_related(session, code=code) if code else []
