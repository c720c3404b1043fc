"""Rebuilding a paper from (exam seed, person id) and the pool recorded for its run,
compared item by item with what is stored: proof that papers are reproducible."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from exam.models import Blueprint, Exam, Paper, PaperGeneration, PaperItem
from exam.papers.generation.draw import generate_paper
from exam.papers.generation.plan import prepare
from exam.papers.generation.pool import rng_for
from exam.papers.persist import load_pool, load_pool_versions, load_related
from exam.papers.spec import BlueprintSpec, spec_of


def generation_for(session: Session, paper: Paper) -> PaperGeneration | None:
    return session.scalar(
        select(PaperGeneration)
        .where(
            PaperGeneration.exam_id == paper.exam_id,
            PaperGeneration.generated_at <= paper.generated_at,
        )
        .order_by(PaperGeneration.generated_at.desc(), PaperGeneration.id.desc())
        .limit(1)
    )


def stored_signature(session: Session, paper: Paper) -> tuple:
    rows = session.execute(
        select(
            PaperItem.position,
            PaperItem.section,
            PaperItem.question_version_id,
            PaperItem.points,
            PaperItem.option_order,
        )
        .where(PaperItem.paper_id == paper.id)
        .order_by(PaperItem.position)
    )
    return tuple((r[0], r[1], r[2], float(r[3]), tuple(r[4] or ())) for r in rows)


def rebuild_paper(session: Session, paper: Paper) -> dict:
    """Rebuild ``paper`` from (exam seed, person id) and the pool recorded for its run,
    and compare item by item with what is stored."""
    exam = session.get(Exam, paper.exam_id)
    gen = generation_for(session, paper)
    bp_row = session.get(Blueprint, paper.blueprint_id)
    spec: BlueprintSpec = spec_of(bp_row)
    if gen is not None:
        pool = load_pool_versions(session, gen.pool_version_ids)
        seed = gen.seed
        # the pairs that run kept apart (none for runs before relations were stored)
        related = gen.related_pairs or []
    else:  # papers written by other means: best effort against today's pool
        pool = load_pool(session, spec.tier, reserved_only=spec.reserved_only)
        seed = exam.seed
        related = load_related(session, pool)
    plan = prepare(pool, spec, related=related)
    rebuilt = generate_paper(plan, spec, rng_for(seed, paper.person_id))
    stored = stored_signature(session, paper)
    fresh = rebuilt.signature()
    differences = [
        {"position": i + 1, "stored": list(map(_plain, a)), "rebuilt": list(map(_plain, b))}
        for i, (a, b) in enumerate(zip(stored, fresh, strict=False))
        if a != b
    ]
    if len(stored) != len(fresh):
        differences.append({"position": None, "stored": len(stored), "rebuilt": len(fresh)})
    return {
        "paper_id": paper.id,
        "person_id": paper.person_id,
        "identical": not differences,
        "pool_recorded": gen is not None,
        "pool_sha256": gen.pool_sha256 if gen else None,
        "items": len(stored),
        "differences": differences,
    }


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
