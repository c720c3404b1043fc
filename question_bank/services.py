"""Question services: create, edit (a new version), change status, search, and the
article lookups the admin views show beside a question. Never commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.audit import Actor, record
from core.errors import Conflict, InvalidInput, NotFound
from question_bank.articles import parse_ref, sort_key
from question_bank.importer import ensure_knowledge_points, write_questions
from question_bank.law import latest_revision
from question_bank.models import (
    Article,
    Citation,
    KnowledgePoint,
    LawSource,
    Question,
    QuestionStatus,
    QuestionVersion,
    version_knowledge_points,
)
from question_bank.related import refresh_relations
from question_bank.rows import QuestionData, RowContext, parse_row, version_content


def get_question(session: Session, code: str) -> Question:
    q = session.scalar(
        select(Question)
        .where(Question.code == code)
        .options(
            selectinload(Question.versions).selectinload(QuestionVersion.citations),
            selectinload(Question.versions).selectinload(QuestionVersion.knowledge_points),
        )
    )
    if q is None:
        raise NotFound(f"试题 {code} 不存在。")
    return q


def current_version(question: Question) -> QuestionVersion:
    for v in question.versions:
        if v.is_current:
            return v
    raise NotFound(f"试题 {question.code} 没有当前版本。")


def _check_duplicate(session: Session, data: QuestionData, exclude_id: int | None) -> None:
    stmt = (
        select(Question.code)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .where(QuestionVersion.is_current, QuestionVersion.fingerprint == data.fingerprint)
    )
    if exclude_id is not None:
        stmt = stmt.where(Question.id != exclude_id)
    other = session.scalar(stmt.limit(1))
    if other:
        raise InvalidInput(f"与题库中的试题 {other} 重复。")


def parse_form(session: Session, values: dict) -> QuestionData:
    """Validate template-shaped values (the edit form); raises InvalidInput listing
    every problem."""
    data, errors = parse_row(RowContext(session), values)
    if errors:
        raise InvalidInput("试题内容有误：" + "；".join(errors), details=errors)
    return data


def create_question(
    session: Session, data: QuestionData, *, actor: Actor | None = None
) -> Question:
    _check_duplicate(session, data, None)
    data.code = None
    (code,) = write_questions(session, [data], actor=actor)
    question = get_question(session, code)
    record(session, actor, "question.create", "question", code, after=data.content())
    return question


def edit_question(
    session: Session,
    question: Question,
    data: QuestionData,
    *,
    actor: Actor | None = None,
    note: str | None = None,
) -> QuestionVersion:
    """Apply an edit. Changed content makes a new current version (the old one stays
    for papers that used it); a status change alone just changes the status."""
    current = current_version(question)
    before = version_content(current)
    after = data.content()
    if data.status != question.status:
        set_status(session, question, data.status, actor=actor)
    relations_changed = _set_question_fields(session, question, data, actor=actor)
    if before == after:
        if relations_changed:
            refresh_relations(session)
        return current
    _check_duplicate(session, data, question.id)
    current.is_current = False
    session.flush()
    kp_ids = ensure_knowledge_points(session, set(data.knowledge_points))
    version = QuestionVersion(
        question_id=question.id,
        version=max(v.version for v in question.versions) + 1,
        is_current=True,
        type=data.type,
        stem=data.stem,
        options=data.options,
        answer=data.answer,
        explanation=data.explanation,
        difficulty=data.difficulty,
        tiers=data.tiers,
        source_id=data.source_id,
        fingerprint=data.fingerprint,
        created_by=actor.label if actor else "system",
        change_note=note or "编辑",
        citations=[Citation(source_id=s, article_key=k) for s, k in data.citations],
    )
    session.add(version)
    session.flush()
    if kp_ids:
        session.execute(
            version_knowledge_points.insert(),
            [
                {"version_id": version.id, "knowledge_point_id": kp_ids[k]}
                for k in data.knowledge_points
            ],
        )
    question.needs_review = False
    question.review_reason = None
    session.flush()
    session.expire(question, ["versions", "current_version"])
    refresh_relations(session)
    changed = {k: after[k] for k in after if before.get(k) != after[k]}
    record(
        session,
        actor,
        "question.edit",
        "question",
        question.code,
        before={k: before[k] for k in changed} | {"version": current.version},
        after=changed | {"version": version.version, "note": note},
    )
    if before["answer"] != after["answer"]:
        record(
            session,
            actor,
            "question.answer_key_change",
            "question",
            question.code,
            before={"answer": before["answer"], "version": current.version},
            after={"answer": after["answer"], "version": version.version},
        )
    return version


def set_reserved(
    session: Session, codes: list[str], reserved: bool, *, actor: Actor | None = None
) -> list[str]:
    """Mark the questions ``codes`` reserved for exams (仅限考试) or release them.
    Every code must exist (``NotFound`` naming the unknown ones; nothing is changed
    then). Returns the codes whose flag changed; each change is audited."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not wanted:
        raise InvalidInput("请给出至少一个试题编号。")
    found = {q.code: q for q in session.scalars(select(Question).where(Question.code.in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFound("试题编号不存在：" + "、".join(missing), details=missing)
    changed = []
    for code in wanted:
        question = found[code]
        if question.reserved == reserved:
            continue
        question.reserved = reserved
        changed.append(code)
        record(
            session,
            actor,
            "question.reserve" if reserved else "question.unreserve",
            "question",
            code,
            before={"reserved": not reserved},
            after={"reserved": reserved},
        )
    session.flush()
    return changed


def _set_question_fields(
    session: Session, question: Question, data: QuestionData, *, actor: Actor | None
) -> bool:
    """互斥组 and 同义答案 belong to the question (no new version): set them when they
    changed, audited. Returns whether the exclusion group changed."""
    before = {"exclusion_group": question.exclusion_group, "synonyms": question.synonyms or []}
    after = {"exclusion_group": data.exclusion_group, "synonyms": data.synonyms or []}
    if before == after:
        return False
    question.exclusion_group = data.exclusion_group
    question.synonyms = data.synonyms or None
    session.flush()
    changed = [k for k in after if before[k] != after[k]]
    record(
        session,
        actor,
        "question.relations",
        "question",
        question.code,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return before["exclusion_group"] != after["exclusion_group"]


def set_status(
    session: Session, question: Question, status: str, *, actor: Actor | None = None
) -> None:
    if status not in {s.value for s in QuestionStatus}:
        raise InvalidInput(f"未知的状态：{status}")
    if question.status == status:
        return
    before = question.status
    question.status = status
    session.flush()
    record(
        session,
        actor,
        "question.status",
        "question",
        question.code,
        before={"status": before},
        after={"status": status},
    )


def retire_question(session: Session, question: Question, *, actor: Actor | None = None) -> None:
    if question.status == QuestionStatus.retired.value:
        raise Conflict(f"试题 {question.code} 已停用。")
    set_status(session, question, QuestionStatus.retired.value, actor=actor)


def clear_review(session: Session, question: Question, *, actor: Actor | None = None) -> None:
    if not question.needs_review:
        return
    record(
        session,
        actor,
        "question.review_cleared",
        "question",
        question.code,
        before={"review_reason": question.review_reason},
    )
    question.needs_review = False
    question.review_reason = None
    session.flush()


@dataclass
class SearchFilters:
    source: str | None = None
    article: str | None = None
    type: str | None = None
    difficulty: int | None = None
    knowledge_point: str | None = None
    status: str | None = None
    text: str | None = None
    needs_review: bool = False


@dataclass
class SearchPage:
    items: list[tuple[Question, QuestionVersion]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search_questions(
    session: Session, filters: SearchFilters, *, page: int = 1, per_page: int = 50
) -> SearchPage:
    stmt = (
        select(Question, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .where(QuestionVersion.is_current)
    )
    if filters.source:
        source = session.scalar(select(LawSource).where(LawSource.code == filters.source))
        if source is None:
            raise InvalidInput(f"未知的法规出处：{filters.source}")
        cite = select(Citation.version_id).where(Citation.source_id == source.id)
        if filters.article:
            key = parse_ref(filters.article)
            if key is None:
                raise InvalidInput(f"无法识别的条款：{filters.article}")
            cite = cite.where(Citation.article_key == key)
        stmt = stmt.where(QuestionVersion.id.in_(cite))
    elif filters.article:
        raise InvalidInput("按条款筛选时请先选择法规。")
    if filters.type:
        stmt = stmt.where(QuestionVersion.type == filters.type)
    if filters.difficulty:
        stmt = stmt.where(QuestionVersion.difficulty == filters.difficulty)
    if filters.status:
        stmt = stmt.where(Question.status == filters.status)
    if filters.needs_review:
        stmt = stmt.where(Question.needs_review.is_(True))
    if filters.knowledge_point:
        kp = (
            select(version_knowledge_points.c.version_id)
            .join(
                KnowledgePoint, KnowledgePoint.id == version_knowledge_points.c.knowledge_point_id
            )
            .where(KnowledgePoint.name == filters.knowledge_point)
        )
        stmt = stmt.where(QuestionVersion.id.in_(kp))
    if filters.text:
        like = f"%{filters.text.strip()}%"
        stmt = stmt.where(
            or_(
                QuestionVersion.stem.like(like),
                QuestionVersion.explanation.like(like),
                Question.code == filters.text.strip(),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    rows = session.execute(
        stmt.options(
            selectinload(QuestionVersion.citations), selectinload(QuestionVersion.knowledge_points)
        )
        .order_by(Question.code)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return SearchPage([(q, v) for q, v in rows], total, page, per_page)


def knowledge_point_names(session: Session) -> list[str]:
    return list(session.scalars(select(KnowledgePoint.name).order_by(KnowledgePoint.name)))


def cited_articles(session: Session, version: QuestionVersion) -> list[dict]:
    """For each citation: source, label and the article text of the checking revision
    (None when the statute is not imported or has no such article)."""
    result = []
    for c in version.citations:
        source = session.get(LawSource, c.source_id)
        rev = latest_revision(session, source)
        article = None
        if rev is not None and c.article_key is not None:
            article = session.scalar(
                select(Article).where(Article.revision_id == rev.id, Article.key == c.article_key)
            )
        result.append(
            {
                "source": source,
                "key": c.article_key,
                "article": article,
                "imported": rev is not None,
                "revision": rev.revision_date if rev else None,
            }
        )
    return result


def source_coverage(session: Session, source: LawSource) -> dict:
    """A source's articles (checking revision) with the current questions citing each."""
    rev = latest_revision(session, source)
    citing: dict[str | None, list[tuple[str, str]]] = {}
    for code, key, status in session.execute(
        select(Question.code, Citation.article_key, Question.status)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .where(QuestionVersion.is_current, Citation.source_id == source.id)
        .order_by(Question.code)
    ):
        citing.setdefault(key, []).append((code, status))
    articles = []
    if rev is not None:
        for a in session.scalars(
            select(Article).where(Article.revision_id == rev.id).order_by(Article.sort_order)
        ):
            articles.append({"article": a, "questions": citing.get(a.key, [])})
    known = {a["article"].key for a in articles}
    unknown = sorted((k for k in citing if k is not None and k not in known), key=sort_key)
    return {
        "revision": rev,
        "articles": articles,
        "covered": sum(1 for a in articles if a["questions"]),
        "unmatched": [{"key": k, "questions": citing[k]} for k in unknown],
        "uncited": citing.get(None, []),
    }
