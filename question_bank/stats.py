"""Bank statistics: counts by source x type x difficulty x status, citation coverage."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from question_bank.law import latest_revision
from question_bank.models import (
    Article,
    Citation,
    LawSource,
    Question,
    QuestionVersion,
)
from question_bank.sources import ensure_default_sources

NO_SOURCE = "(none)"


def bank_stats(session: Session) -> dict:
    ensure_default_sources(session)
    sources = list(session.scalars(select(LawSource).order_by(LawSource.sort_order, LawSource.id)))
    code_of = {s.id: s.code for s in sources}
    rows = session.execute(
        select(
            QuestionVersion.id,
            QuestionVersion.source_id,
            QuestionVersion.type,
            QuestionVersion.difficulty,
            Question.status,
            func.length(QuestionVersion.explanation),
        )
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.is_current)
    ).all()
    cited_versions: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for vid, sid, key in session.execute(
        select(Citation.version_id, Citation.source_id, Citation.article_key)
        .join(QuestionVersion, QuestionVersion.id == Citation.version_id)
        .where(QuestionVersion.is_current, Citation.article_key.is_not(None))
    ):
        cited_versions[vid].add((sid, key))
    cells: Counter = Counter()
    per_source: dict[str, dict] = {}

    def bucket(code: str) -> dict:
        return per_source.setdefault(
            code,
            {
                "total": 0,
                "by_type": Counter(),
                "by_difficulty": Counter(),
                "by_status": Counter(),
                "active_by_type": Counter(),
                "cited": 0,
                "uncited": 0,
                "without_explanation": 0,
            },
        )

    for s in sources:
        bucket(s.code)
    status_totals: Counter = Counter()
    type_totals: Counter = Counter()
    for vid, sid, qtype, difficulty, status, expl_len in rows:
        code = code_of.get(sid, NO_SOURCE)
        b = bucket(code)
        b["total"] += 1
        b["by_type"][qtype] += 1
        b["by_difficulty"][str(difficulty)] += 1
        b["by_status"][status] += 1
        if status == "active":
            b["active_by_type"][qtype] += 1
        if cited_versions.get(vid):
            b["cited"] += 1
        else:
            b["uncited"] += 1
        if not expl_len:
            b["without_explanation"] += 1
        cells[(code, qtype, difficulty, status)] += 1
        status_totals[status] += 1
        type_totals[qtype] += 1
    # article coverage against imported statutes
    for s in sources:
        rev = latest_revision(session, s)
        b = per_source[s.code]
        b["name"] = s.name
        if rev is None:
            b["articles"] = None
            b["articles_cited"] = None
            continue
        keys = set(session.scalars(select(Article.key).where(Article.revision_id == rev.id)))
        cited = {k for refs in cited_versions.values() for sid, k in refs if sid == s.id}
        b["articles"] = len(keys)
        b["articles_cited"] = len(keys & cited)
        b["revision"] = rev.revision_date.isoformat()
    total = len(rows)
    cited_total = sum(b["cited"] for b in per_source.values())
    return {
        "total": total,
        "active": status_totals.get("active", 0),
        "by_status": dict(status_totals),
        "by_type": dict(type_totals),
        "by_source": {
            code: {k: dict(v) if isinstance(v, Counter) else v for k, v in b.items()}
            for code, b in per_source.items()
        },
        "cells": [
            {"source": c, "type": t, "difficulty": d, "status": st, "count": n}
            for (c, t, d, st), n in sorted(cells.items())
        ],
        "coverage": {
            "cited": cited_total,
            "uncited": total - cited_total,
            "ratio": round(cited_total / total, 4) if total else 0.0,
        },
    }
