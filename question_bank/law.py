"""Law sources, revisions and articles: import a statute text, compare it with the
previous revision, flag the questions that cite changed or removed articles."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import Conflict, InvalidInput, NotFound
from question_bank.articles import label_for, sort_key
from question_bank.lawfiles import statute_text
from question_bank.lawtext import normalise_article_text, parse_law
from question_bank.models import (
    Article,
    Citation,
    LawRevision,
    LawSource,
    Question,
    QuestionVersion,
)
from question_bank.sources import ensure_default_sources


@dataclass
class LawImportReport:
    source: str
    revision: dt.date
    previous_revision: dt.date | None
    articles: int
    counts: dict[str, int]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    #: codes of questions flagged for review
    flagged: list[str] = field(default_factory=list)
    source_name: str = ""

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "source_name": self.source_name,
            "revision": self.revision.isoformat(),
            "previous_revision": self.previous_revision.isoformat()
            if self.previous_revision
            else None,
            "articles": self.articles,
            "counts": self.counts,
            "added": [label_for(k) for k in self.added],
            "removed": [label_for(k) for k in self.removed],
            "changed": [label_for(k) for k in self.changed],
            "flagged": self.flagged,
        }


def get_source(session: Session, code_or_name: str) -> LawSource:
    ensure_default_sources(session)
    value = (code_or_name or "").strip().strip("《》")
    for s in session.scalars(select(LawSource)):
        if value in (s.code, s.name, *(s.short_names or [])):
            return s
    raise NotFound(f"未知的法规出处：{code_or_name}")


def add_source(
    session: Session,
    *,
    code: str,
    name: str,
    short_names: list[str] | tuple[str, ...] = (),
    kind: str = "party",
    current_revision: dt.date | None = None,
    actor: Actor | None = None,
) -> LawSource:
    """Register a new law source (users can add more than the six defaults)."""
    ensure_default_sources(session)
    code = (code or "").strip()
    name = (name or "").strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", code):
        raise InvalidInput("法规代码只能包含小写字母、数字和下划线，且以字母开头。")
    if not name:
        raise InvalidInput("请填写法规全称。")
    if kind not in ("party", "state"):
        raise InvalidInput("法规类别应为 party（党内法规）或 state（国家法律）。")
    existing = session.scalars(select(LawSource)).all()
    taken = {v for s in existing for v in (s.code, s.name, *(s.short_names or []))}
    for value in (code, name, *short_names):
        if value in taken:
            raise Conflict(f"法规代码或名称已存在：{value}")
    source = LawSource(
        code=code,
        name=name,
        short_names=[s for s in short_names if s],
        kind=kind,
        current_revision=current_revision,
        sort_order=max((s.sort_order for s in existing), default=0) + 1,
    )
    session.add(source)
    session.flush()
    record(
        session,
        actor,
        "law.add_source",
        "law_source",
        source.id,
        after={"code": code, "name": name},
    )
    return source


def latest_revision(session: Session, source: LawSource) -> LawRevision | None:
    """The revision citations are checked against: the one matching the source's
    current revision date if imported, else the newest imported one."""
    revs = list(
        session.scalars(
            select(LawRevision)
            .where(LawRevision.source_id == source.id)
            .order_by(LawRevision.revision_date.desc())
        )
    )
    for r in revs:
        if r.revision_date == source.current_revision:
            return r
    return revs[0] if revs else None


def article_texts(session: Session, revision: LawRevision) -> dict[str, Article]:
    return {
        a.key: a for a in session.scalars(select(Article).where(Article.revision_id == revision.id))
    }


def imported_article_keys(session: Session) -> dict[int, set[str]]:
    """source id -> article keys of its checking revision (only imported sources)."""
    result: dict[int, set[str]] = {}
    for source in session.scalars(select(LawSource)):
        rev = latest_revision(session, source)
        if rev is not None:
            result[source.id] = set(
                session.scalars(select(Article.key).where(Article.revision_id == rev.id))
            )
    return result


def import_law(
    session: Session,
    source_code: str,
    revision_date: dt.date,
    data: bytes,
    *,
    filename: str | None = None,
    actor: Actor | None = None,
) -> LawImportReport:
    """Import one statute as a revision of ``source_code``: a text or Markdown file, a
    .docx or a saved web page (``question_bank.lawfiles``; ``filename`` helps tell them
    apart, the content decides otherwise).

    The revision is compared with the newest older imported revision; questions whose
    current version cites a changed or removed article are flagged ``needs_review``.
    """
    source = get_source(session, source_code)
    parsed = parse_law(statute_text(data, filename))
    sha = hashlib.sha256(data).hexdigest()
    existing = session.scalar(
        select(LawRevision).where(
            LawRevision.source_id == source.id, LawRevision.revision_date == revision_date
        )
    )
    if existing is not None:
        raise Conflict(
            f"《{source.name}》{revision_date.isoformat()} 版本已导入"
            + (
                "（文本相同）。"
                if existing.text_sha256 == sha
                else "，如需替换请使用新的修订日期。"
            )
        )
    previous = session.scalar(
        select(LawRevision)
        .where(LawRevision.source_id == source.id, LawRevision.revision_date < revision_date)
        .order_by(LawRevision.revision_date.desc())
        .limit(1)
    )
    newer = session.scalar(
        select(func.count())
        .select_from(LawRevision)
        .where(LawRevision.source_id == source.id, LawRevision.revision_date > revision_date)
    )
    revision = LawRevision(
        source_id=source.id,
        revision_date=revision_date,
        text_sha256=sha,
        article_count=len(parsed.articles),
    )
    session.add(revision)
    session.flush()
    session.execute(
        insert(Article),
        [
            {
                "revision_id": revision.id,
                "key": a.key,
                "label": a.label,
                "number": a.number,
                "suffix": a.suffix,
                "part": a.part,
                "chapter": a.chapter,
                "section": a.section,
                "text": a.text,
                "sort_order": a.sort_order,
            }
            for a in parsed.articles
        ],
    )
    report = LawImportReport(
        source=source.code,
        source_name=source.name,
        revision=revision_date,
        previous_revision=previous.revision_date if previous else None,
        articles=len(parsed.articles),
        counts=parsed.counts,
    )
    if previous is not None:
        old = {
            k: normalise_article_text(t)
            for k, t in session.execute(
                select(Article.key, Article.text).where(Article.revision_id == previous.id)
            )
        }
        new = {a.key: normalise_article_text(a.text) for a in parsed.articles}
        report.added = sorted(set(new) - set(old), key=sort_key)
        report.removed = sorted(set(old) - set(new), key=sort_key)
        report.changed = sorted((k for k in new if k in old and new[k] != old[k]), key=sort_key)
        if not newer:
            report.flagged = _flag_questions(session, source, report, revision_date)
    if not newer and (source.current_revision is None or source.current_revision <= revision_date):
        source.current_revision = revision_date
    session.flush()
    record(
        session,
        actor,
        "law.import",
        "law_revision",
        revision.id,
        after={
            "source": source.code,
            "revision": revision_date.isoformat(),
            "articles": len(parsed.articles),
            "added": len(report.added),
            "removed": len(report.removed),
            "changed": len(report.changed),
            "flagged": len(report.flagged),
        },
    )
    return report


def _flag_questions(
    session: Session, source: LawSource, report: LawImportReport, revision_date: dt.date
) -> list[str]:
    affected = {k: "已修改" for k in report.changed} | {k: "已删除" for k in report.removed}
    if not affected:
        return []
    rows = session.execute(
        select(Question, Citation.article_key)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(Citation, Citation.version_id == QuestionVersion.id)
        .where(
            QuestionVersion.is_current,
            Citation.source_id == source.id,
            Citation.article_key.in_(list(affected)),
        )
        .order_by(Question.code)
    ).all()
    reasons: dict[int, tuple[Question, list[str]]] = {}
    for question, key in rows:
        reasons.setdefault(question.id, (question, []))[1].append(
            f"{label_for(key)}{affected[key]}"
        )
    flagged = []
    for question, items in reasons.values():
        reason = f"《{source.name}》{revision_date.isoformat()} 修订：" + "、".join(
            sorted(set(items))
        )
        question.needs_review = True
        question.review_reason = (
            reason if not question.review_reason else question.review_reason + "\n" + reason
        )
        flagged.append(question.code)
    return sorted(flagged)


def list_sources(session: Session) -> list[dict]:
    ensure_default_sources(session)
    result = []
    for s in session.scalars(select(LawSource).order_by(LawSource.sort_order, LawSource.id)):
        revs = list(
            session.scalars(
                select(LawRevision)
                .where(LawRevision.source_id == s.id)
                .order_by(LawRevision.revision_date)
            )
        )
        questions = session.scalar(
            select(func.count(func.distinct(QuestionVersion.question_id))).where(
                QuestionVersion.is_current, QuestionVersion.source_id == s.id
            )
        )
        result.append(
            {
                "code": s.code,
                "name": s.name,
                "short_names": list(s.short_names or []),
                "kind": s.kind,
                "current_revision": s.current_revision.isoformat() if s.current_revision else None,
                "revisions": [
                    {"date": r.revision_date.isoformat(), "articles": r.article_count} for r in revs
                ],
                "questions": questions or 0,
            }
        )
    return result
