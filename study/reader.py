"""The law reader (法规学习): each source's imported text by part, chapter and
article, the practice questions citing each article, and a search. Questions reserved
for exams (仅限考试) and questions not in use never appear here."""

from __future__ import annotations

from sqlalchemy import Date, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from question_bank.articles import label_for, sort_key
from question_bank.law import latest_revision
from question_bank.models import (
    Article,
    Citation,
    LawRevision,
    LawSource,
    Question,
    QuestionStatus,
    QuestionVersion,
)

#: search hits shown at most
SEARCH_LIMIT = 50
MAX_QUERY = 50


def practisable():
    """The condition on ``Question`` and its current ``QuestionVersion`` (joined) for a
    question learners may see: active and not reserved for exams."""
    return and_(
        Question.status == QuestionStatus.active.value,
        Question.reserved.is_(False),
        QuestionVersion.is_current.is_(True),
    )


def _practisable_versions():
    return (
        select(QuestionVersion.id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(practisable())
    )


def source_by_code(session: Session, code: str) -> LawSource:
    """The source with ``code`` (or one of its names); ``NotFound`` otherwise."""
    value = (code or "").strip().strip("《》")
    for s in session.scalars(select(LawSource).order_by(LawSource.sort_order, LawSource.id)):
        if value in (s.code, s.name, *(s.short_names or [])):
            return s
    raise NotFound(f"未知的法规：{code}")


def sources(session: Session) -> list[dict]:
    """Every source with its current text's article count and practice questions."""
    counts = dict(
        session.execute(
            select(QuestionVersion.source_id, func.count())
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(practisable())
            .group_by(QuestionVersion.source_id)
        ).all()
    )
    out = []
    for s in session.scalars(select(LawSource).order_by(LawSource.sort_order, LawSource.id)):
        rev = latest_revision(session, s)
        out.append(
            {
                "code": s.code,
                "name": s.name,
                "kind": s.kind,
                "revision": rev.revision_date.isoformat() if rev else None,
                "articles": rev.article_count if rev else 0,
                "questions": counts.get(s.id, 0),
            }
        )
    return out


def _citing_counts(session: Session, source: LawSource) -> dict[str, int]:
    return dict(
        session.execute(
            select(Citation.article_key, func.count(func.distinct(Citation.version_id)))
            .where(
                Citation.source_id == source.id,
                Citation.article_key.is_not(None),
                Citation.version_id.in_(_practisable_versions()),
            )
            .group_by(Citation.article_key)
        ).all()
    )


def outline(session: Session, code: str) -> dict:
    """The source's current text grouped by part and chapter: [{"part", "chapter",
    "articles": [{"key", "label", "text", "questions"}]}]."""
    source = source_by_code(session, code)
    rev = latest_revision(session, source)
    counts = _citing_counts(session, source)
    groups: list[dict] = []
    if rev is not None:
        for a in session.scalars(
            select(Article).where(Article.revision_id == rev.id).order_by(Article.sort_order)
        ):
            heading = (a.part, a.chapter)
            if not groups or (groups[-1]["part"], groups[-1]["chapter"]) != heading:
                groups.append({"part": a.part, "chapter": a.chapter, "articles": []})
            groups[-1]["articles"].append(
                {
                    "key": a.key,
                    "label": a.label,
                    "section": a.section,
                    "text": a.text,
                    "questions": counts.get(a.key, 0),
                }
            )
    return {
        "source": {"code": source.code, "name": source.name},
        "revision": rev.revision_date.isoformat() if rev else None,
        "groups": groups,
        "questions": sum(counts.values()),
    }


def article(session: Session, code: str, key: str) -> dict:
    """One article of the current text with the practice questions citing it (stem and
    options only: the key comes with practice)."""
    source = source_by_code(session, code)
    rev = latest_revision(session, source)
    found = None
    if rev is not None:
        found = session.scalar(
            select(Article).where(Article.revision_id == rev.id, Article.key == key)
        )
    if found is None:
        raise NotFound(f"《{source.name}》中没有{label_for(key) if key else '该条'}。")
    versions = session.scalars(
        select(QuestionVersion)
        .join(Question, Question.id == QuestionVersion.question_id)
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .where(practisable(), Citation.source_id == source.id, Citation.article_key == key)
        .order_by(Question.code)
    ).unique()
    questions = [
        {"code": v.question.code, "type": v.type, "stem": v.stem, "options": v.options or []}
        for v in versions
    ]
    return {
        "source": {"code": source.code, "name": source.name},
        "article": {
            "key": found.key,
            "label": found.label,
            "part": found.part,
            "chapter": found.chapter,
            "section": found.section,
            "text": found.text,
        },
        "questions": questions,
    }


def search(session: Session, query: str, code: str | None = None) -> list[dict]:
    """Articles of the current texts whose text or label holds ``query`` (every word
    of it), most relevant source first, at most ``SEARCH_LIMIT``."""
    words = [w for w in (query or "").split() if w]
    if not words:
        return []
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"搜索词不超过 {MAX_QUERY} 个字。")
    current = []
    for s in session.scalars(select(LawSource).order_by(LawSource.sort_order, LawSource.id)):
        if code and s.code != code:
            continue
        rev = latest_revision(session, s)
        if rev is not None:
            current.append(rev.id)
    if not current:
        return []
    conditions = [or_(Article.text.contains(w, autoescape=True), Article.label == w) for w in words]
    rows = session.execute(
        select(Article, LawSource.code, LawSource.name)
        .join(LawRevision, LawRevision.id == Article.revision_id)
        .join(LawSource, LawSource.id == LawRevision.source_id)
        .where(Article.revision_id.in_(current), *conditions)
        .order_by(LawSource.sort_order, LawSource.id, Article.sort_order)
        .limit(SEARCH_LIMIT)
    ).all()
    return [
        {
            "source": source_code,
            "source_name": source_name,
            "key": a.key,
            "label": a.label,
            "chapter": a.chapter,
            "text": a.text,
        }
        for a, source_code, source_name in rows
    ]


_FIRST_CITATION = (
    select(
        LawSource.id,
        LawSource.name,
        LawSource.code,
        LawSource.current_revision,
        Citation.article_key,
    )
    .join(LawSource, LawSource.id == Citation.source_id)
    .where(Citation.version_id == bindparam("vid"))
    .order_by(Citation.id)
    .limit(1)
)


_ARTICLE = (
    select(Article.label, Article.text)
    .join(LawRevision, LawRevision.id == Article.revision_id)
    .where(LawRevision.source_id == bindparam("sid"), Article.key == bindparam("key"))
    .order_by(
        (LawRevision.revision_date == bindparam("current", type_=Date)).desc(),
        LawRevision.revision_date.desc(),
    )
    .limit(1)
)


def cited_article(session: Session, version_id: int) -> dict | None:
    """The first citation of the version with the article's text from the source's
    current revision (else the newest imported one): {"source", "article", "text"}
    (text ``None`` when the statute's text is not imported); ``None`` for an uncited
    question."""
    conn = session.connection()
    citation = conn.execute(_FIRST_CITATION, {"vid": version_id}).first()
    if citation is None:
        return None
    key = citation.article_key
    data = {
        "source": citation.name,
        "source_code": citation.code,
        "article": label_for(key) if key else None,
        "article_key": key,
        "text": None,
    }
    if key:
        row = conn.execute(
            _ARTICLE, {"sid": citation.id, "key": key, "current": citation.current_revision}
        ).first()
        if row is not None:
            data["article"], data["text"] = row.label, row.text
    return data


def sorted_keys(keys) -> list[str]:
    return sorted(keys, key=sort_key)
