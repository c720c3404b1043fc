"""Paper services: the active pool, the pool check, and generating the papers of
every participant (built in memory, then bulk inserts). Never commit.

Each generation run is recorded in ``PaperGeneration`` with the pool's version ids, so
``exam.papers.rebuild.rebuild_paper`` draws from exactly the pool the paper was drawn
from, even months later after questions were edited or retired.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.orm import Session

from core.accounts.scope import CONSOLE, Scope
from core.audit import Actor, record
from core.errors import Conflict, InvalidInput, NotFound
from exam.models import (
    Attempt,
    Blueprint,
    Exam,
    Paper,
    PaperGeneration,
    PaperItem,
    Participant,
)
from exam.papers.blueprints import source_names
from exam.papers.generation.cohort import generate_cohort
from exam.papers.generation.plan import prepare
from exam.papers.generation.pool import GeneratedPaper, PoolItem, PoolShortage
from exam.papers.spec import ANY, band_label, spec_of, type_label
from question_bank.models import (
    KnowledgePoint,
    LawSource,
    Question,
    QuestionStatus,
    QuestionVersion,
    version_knowledge_points,
)
from question_bank.related import question_pairs

Progress = Callable[[int, int], None]


def _pool_query(where):
    return (
        select(
            QuestionVersion.id,
            QuestionVersion.type,
            LawSource.code,
            QuestionVersion.difficulty,
            QuestionVersion.options,
            QuestionVersion.tiers,
        )
        .outerjoin(LawSource, LawSource.id == QuestionVersion.source_id)
        .where(*where)
        .order_by(QuestionVersion.id)
    )


def _to_items(session: Session, rows, tier: str | None) -> list[PoolItem]:
    rows = [r for r in rows if tier in (None, "all") or "all" in (r.tiers or []) or tier in r.tiers]
    ids = [r.id for r in rows]
    kps: dict[int, set[str]] = {}
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        for vid, name in session.execute(
            select(version_knowledge_points.c.version_id, KnowledgePoint.name)
            .join(
                KnowledgePoint, KnowledgePoint.id == version_knowledge_points.c.knowledge_point_id
            )
            .where(version_knowledge_points.c.version_id.in_(chunk))
        ):
            kps.setdefault(vid, set()).add(name)
    return [
        PoolItem.from_version(
            r.id, r.type, r.code or "", r.difficulty, r.options or [], kps.get(r.id, ())
        )
        for r in rows
    ]


def load_pool(
    session: Session, tier: str = "all", *, reserved_only: bool = False
) -> list[PoolItem]:
    """Current versions of active questions suited to ``tier`` (or to all tiers);
    ``reserved_only``: only questions reserved for exams (仅限考试)."""
    questions = select(Question.id).where(Question.status == QuestionStatus.active.value)
    if reserved_only:
        questions = questions.where(Question.reserved.is_(True))
    rows = session.execute(
        _pool_query(
            [
                QuestionVersion.is_current.is_(True),
                QuestionVersion.question_id.in_(questions),
            ]
        )
    ).all()
    return _to_items(session, rows, tier)


def load_pool_versions(session: Session, version_ids: Sequence[int]) -> list[PoolItem]:
    """The pool of a past run, from its recorded version ids (versions never change)."""
    rows = []
    ids = list(version_ids)
    for start in range(0, len(ids), 5000):
        rows.extend(
            session.execute(_pool_query([QuestionVersion.id.in_(ids[start : start + 5000])]))
        )
    rows.sort(key=lambda r: r.id)
    return _to_items(session, rows, None)


def load_related(session: Session, pool: Sequence[PoolItem]) -> list[list[int]]:
    """The stored related pairs (``question_bank.related``) among ``pool``'s questions,
    as sorted [version id, version id]: the pairs generation keeps apart."""
    ids = [p.version_id for p in pool]
    question_of: dict[int, int] = {}
    for start in range(0, len(ids), 5000):
        question_of.update(
            session.execute(
                select(QuestionVersion.id, QuestionVersion.question_id).where(
                    QuestionVersion.id.in_(ids[start : start + 5000])
                )
            ).all()
        )
    versions: dict[int, list[int]] = {}
    for vid, qid in question_of.items():
        versions.setdefault(qid, []).append(vid)
    pairs = set()
    for a, b in question_pairs(session):
        for va in versions.get(a, ()):
            for vb in versions.get(b, ()):
                pairs.add((min(va, vb), max(va, vb)))
    return [list(p) for p in sorted(pairs)]


def _pool_sha(ids: Iterable[int]) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(ids)).encode()).hexdigest()


def participant_ids(session: Session, exam: Exam) -> list[int]:
    return list(
        session.scalars(
            select(Participant.person_id)
            .where(Participant.exam_id == exam.id)
            .order_by(Participant.person_id)
        )
    )


def check_pool(
    session: Session, target: Exam | Blueprint, *, person_ids: Sequence[int] | None = None
) -> dict:
    """Prove the active pool can satisfy the blueprint for every candidate.

    For an exam, a dry run generates every participant's paper in memory (nothing is
    written) and reports exposure and difficulty spread; otherwise the pool is checked
    cell by cell. Shortages name the cell (type x source x band, or knowledge point)
    and by how many questions it is short.
    """
    if isinstance(target, Exam):
        exam, bp_row = target, target.blueprint
        seed = exam.seed
        if person_ids is None:
            person_ids = participant_ids(session, exam)
    else:
        exam, bp_row, seed = None, target, "pool-check"
        person_ids = list(person_ids or range(1, 101))
    spec = spec_of(bp_row)
    names = source_names(session)
    pool = load_pool(session, spec.tier, reserved_only=spec.reserved_only)
    related = load_related(session, pool)
    plan = prepare(pool, spec, strict=False, related=related)
    report: dict = {
        "ok": plan.ok,
        "blueprint": {"id": bp_row.id, "code": bp_row.code, "version": bp_row.version},
        "exam_id": exam.id if exam else None,
        "tier": spec.tier,
        "pool_size": len(pool),
        "eligible_questions": len(plan.eligible_ids()),
        "questions_per_paper": spec.question_count,
        "candidates": len(person_ids),
        "shortages": [s.to_dict(names) for s in plan.shortages],
        "cells": _cell_rows(plan, names),
        "related_pairs": len(plan.related_pairs()),
        "related_cells": _related_rows(plan, names),
        "stats": None,
        "error": None,
    }
    if plan.ok and person_ids:
        try:
            report["stats"] = _label_sources(generate_cohort(plan, seed, person_ids).stats(), names)
        except InvalidInput as exc:
            report["ok"] = False
            report["error"] = exc.message
    return report


def _label_sources(stats: dict, names) -> dict:
    """Name each source of the per-source exposure rows (``exposure_by_source``)."""
    for row in stats.get("exposure_by_source") or ():
        row["label"] = names.get(row["key"], row["key"])
    return stats


def _related_rows(plan, names) -> list[dict]:
    """Cells that relations make short or tight: fewer questions free of any relation
    than the cell needs; ``capacity`` is the most one paper can take from it."""
    rows = []
    for cell, free, capacity in sorted(
        plan.related_cells, key=lambda r: (r[0].section, r[0].source, r[0].band)
    ):
        section = plan.blueprint.sections[cell.section]
        src = "不限来源" if cell.source == ANY else names.get(cell.source, cell.source)
        label = f"{type_label(section.type)} × {src} × {band_label(cell.band)}"
        short = capacity < cell.count
        rows.append(
            {
                "section": cell.section,
                "type": section.type,
                "source": cell.source,
                "band": cell.band,
                "needed": cell.count,
                "available": len(cell.items),
                "free": free,
                "capacity": capacity,
                "short": short,
                "message": (
                    f"{label}：需要 {cell.count} 题，共 {len(cell.items)} 题，其中 {free} 题无关联题；"
                    + (
                        f"关联题不能同卷，一份试卷最多选出 {capacity} 题，无法组卷。"
                        if short
                        else f"关联题不能同卷，一份试卷最多选出 {capacity} 题，可以组卷，但选择受限。"
                    )
                ),
            }
        )
    return rows


def _cell_rows(plan, names) -> list[dict]:
    rows = []
    for cell in sorted(plan.cells, key=lambda c: (c.section, c.source, c.band)):
        section = plan.blueprint.sections[cell.section]
        rows.append(
            {
                "section": cell.section,
                "type": section.type,
                "type_label": type_label(section.type),
                "source": cell.source,
                "source_label": "不限"
                if cell.source == ANY
                else names.get(cell.source, cell.source),
                "band": cell.band,
                "band_label": band_label(cell.band),
                "needed": cell.count,
                "available": len(cell.items),
            }
        )
    return rows


def _has_attempts(session: Session, exam: Exam) -> bool:
    return bool(session.scalar(select(exists().where(Attempt.exam_id == exam.id))))


def _delete_papers(session: Session, exam: Exam) -> None:
    """Every paper of ``exam``, refused once any attempt exists."""
    if _has_attempts(session, exam):
        raise Conflict("考生已开始作答，不能重新生成试卷。迟到的考生可以单独补生成试卷。")
    session.execute(
        delete(PaperItem).where(
            PaperItem.paper_id.in_(select(Paper.id).where(Paper.exam_id == exam.id))
        )
    )
    session.execute(delete(Paper).where(Paper.exam_id == exam.id))
    session.expire_all()


def _record_run(
    session: Session,
    exam: Exam,
    bp_row: Blueprint,
    pool: Sequence[PoolItem],
    written: int,
    stats: dict,
    *,
    now: dt.datetime,
    regenerate: bool,
    actor: Actor | None,
    related_pairs: list[list[int]] | None = None,
) -> None:
    """The run with its pool and the related pairs kept apart (so any paper can be
    rebuilt) and the audit entry."""
    pool_ids = sorted(p.version_id for p in pool)
    session.add(
        PaperGeneration(
            exam_id=exam.id,
            blueprint_id=bp_row.id,
            seed=exam.seed,
            generated_at=now,
            pool_version_ids=pool_ids,
            pool_sha256=_pool_sha(pool_ids),
            paper_count=written,
            stats=stats,
            generated_by=actor.label if actor else None,
            related_pairs=related_pairs or [],
        )
    )
    record(
        session,
        actor,
        "papers.generate",
        "exam",
        exam.id,
        after={
            "papers": written,
            "regenerate": regenerate,
            "related_pairs": len(related_pairs or ()),
            **stats,
        },
        at=now,
    )


def generate_papers(
    session: Session,
    exam: Exam,
    *,
    now: dt.datetime,
    progress: Progress | None = None,
    regenerate: bool = False,
    actor: Actor | None = None,
) -> dict:
    """Generate the papers of every participant who has none yet (so a late
    participant gets only their own paper); ``regenerate=True`` first deletes every
    paper of the exam, refused once any attempt exists. All papers are built in memory
    first: a shortage raises before anything is written, so no candidate is ever left
    with a half-filled paper. ``progress(done, total)`` is called while generating and
    while writing."""
    if regenerate:
        _delete_papers(session, exam)
    bp_row = session.get(Blueprint, exam.blueprint_id)
    have = set(session.scalars(select(Paper.person_id).where(Paper.exam_id == exam.id)))
    everyone = participant_ids(session, exam)
    missing = [pid for pid in everyone if pid not in have]
    report = {
        "exam_id": exam.id,
        "blueprint": {"id": bp_row.id, "code": bp_row.code, "version": bp_row.version},
        "participants": len(everyone),
        "existing": len(have),
        "generated": 0,
        "regenerated": regenerate,
        "stats": None,
    }
    if not missing:
        return report
    spec = spec_of(bp_row)
    pool = load_pool(session, spec.tier, reserved_only=spec.reserved_only)
    try:
        plan = prepare(pool, spec, related=load_related(session, pool))
    except PoolShortage as exc:
        raise PoolShortage(exc.shortages, source_names(session)) from None
    total_steps = 2 * len(missing)
    cohort = generate_cohort(
        plan,
        exam.seed,
        missing,
        progress=(lambda done, _t: progress(done, total_steps)) if progress else None,
    )
    written = _write_papers(
        session,
        exam,
        bp_row,
        cohort.papers,
        now=now,
        progress=(lambda done: progress(len(missing) + done, total_steps)) if progress else None,
    )
    stats = _label_sources(cohort.stats(), source_names(session))
    _record_run(
        session,
        exam,
        bp_row,
        pool,
        written,
        stats,
        now=now,
        regenerate=regenerate,
        actor=actor,
        related_pairs=plan.related_pairs(),
    )
    session.flush()
    report.update(generated=written, stats=stats)
    return report


def _write_papers(
    session: Session,
    exam: Exam,
    bp_row: Blueprint,
    papers: dict[int, GeneratedPaper],
    *,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
    chunk: int = 1000,
) -> int:
    pids = list(papers)
    done = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many short-lived dicts, no cycles: skip needless collections
    try:
        done = _write_chunks(session, exam, bp_row, papers, pids, now, progress, chunk)
    finally:
        if gc_was_enabled:
            gc.enable()
    return done


def _write_chunks(session, exam, bp_row, papers, pids, now, progress, chunk) -> int:
    done = 0
    for start in range(0, len(pids), chunk):
        part = pids[start : start + chunk]
        rows = [
            {
                "exam_id": exam.id,
                "person_id": pid,
                "blueprint_id": bp_row.id,
                "total_points": papers[pid].total_points,
                "mean_difficulty": papers[pid].mean_difficulty,
                "generated_at": now,
            }
            for pid in part
        ]
        result = session.execute(
            insert(Paper).returning(Paper.id, Paper.person_id, sort_by_parameter_order=True),
            rows,
        )
        ids = {person_id: paper_id for paper_id, person_id in result}
        items = [
            {
                "paper_id": ids[pid],
                "position": it.position,
                "section": it.section,
                "question_version_id": it.version_id,
                "points": it.points,
                "option_order": list(it.option_order),
            }
            for pid in part
            for it in papers[pid].items
        ]
        # Core executemany: the ORM bulk path costs several times more per row here
        session.execute(insert(PaperItem.__table__), items)
        done += len(part)
        if progress is not None:
            progress(done)
    return done


def get_exam(session: Session, ref: object) -> Exam:
    """An exam by id (``12``) or exact title."""
    exam = None
    if isinstance(ref, int) or str(ref).isdigit():
        exam = session.get(Exam, int(ref))
    if exam is None:
        exam = session.scalar(select(Exam).where(Exam.title == str(ref)).limit(1))
    if exam is None:
        raise NotFound(f"考试不存在：{ref}")
    return exam


def paper_for(session: Session, exam: Exam, person_id: int) -> Paper:
    paper = session.scalar(
        select(Paper).where(Paper.exam_id == exam.id, Paper.person_id == person_id)
    )
    if paper is None:
        raise NotFound("该考生还没有试卷，请先生成试卷。")
    return paper


def paper_counts(session: Session, exam: Exam, scope: Scope = CONSOLE) -> dict:
    """Participants, papers and attempts of ``exam``, counting only the people enrolled
    for a unit in ``scope``."""
    in_scope = scope.unit_filter(Participant.unit_id)
    return {
        "participants": session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.exam_id == exam.id, in_scope)
        ),
        "papers": session.scalar(
            select(func.count())
            .select_from(Paper)
            .join(
                Participant,
                (Participant.exam_id == Paper.exam_id)
                & (Participant.person_id == Paper.person_id),
            )
            .where(Paper.exam_id == exam.id, in_scope)
        ),
        "attempts": session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.exam_id == exam.id, scope.unit_filter(Attempt.unit_id))
        ),
    }
