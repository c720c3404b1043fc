"""Check every citation of the current versions against the imported statutes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from question_bank.articles import label_for
from question_bank.law import latest_revision
from question_bank.models import Article, Citation, LawSource, Question, QuestionVersion


def verify_citations(session: Session) -> dict:
    """-> {"checked", "ok", "wrong": [...], "unverifiable": [...], "uncited_questions"}.

    ``wrong``: the statute is imported and has no such article. ``unverifiable``: the
    source has no imported text, so the article cannot be checked.
    """
    sources = {s.id: s for s in session.scalars(select(LawSource))}
    keys: dict[int, set[str] | None] = {}
    revisions: dict[int, str | None] = {}
    for sid, s in sources.items():
        rev = latest_revision(session, s)
        revisions[sid] = rev.revision_date.isoformat() if rev else None
        keys[sid] = (
            set(session.scalars(select(Article.key).where(Article.revision_id == rev.id)))
            if rev
            else None
        )
    wrong, unverifiable = [], []
    checked = ok = 0
    cited_versions = set()
    rows = session.execute(
        select(Question.code, QuestionVersion.id, Citation.source_id, Citation.article_key)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .where(QuestionVersion.is_current, Citation.article_key.is_not(None))
        .order_by(Question.code, Citation.id)
    ).all()
    for code, vid, sid, key in rows:
        cited_versions.add(vid)
        source = sources[sid]
        item = {"question": code, "source": source.code, "article": label_for(key)}
        if keys[sid] is None:
            unverifiable.append(item)
            continue
        checked += 1
        if key in keys[sid]:
            ok += 1
        else:
            wrong.append(
                item | {"reason": f"《{source.name}》{revisions[sid]} 文本中没有{label_for(key)}"}
            )
    total_current = len(
        session.scalars(select(QuestionVersion.id).where(QuestionVersion.is_current)).all()
    )
    return {
        "checked": checked,
        "ok": ok,
        "wrong": wrong,
        "unverifiable": unverifiable,
        "uncited_questions": total_current - len(cited_versions),
    }
