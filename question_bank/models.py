from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from question_bank import kinds


class QuestionType(enum.StrEnum):
    single = "single"  # 单选
    multiple = "multiple"  # 多选
    true_false = "true_false"  # 判断
    fill_blank = "fill_blank"  # 填空


#: labels come from the kinds (``question_bank.kinds``), which own everything else
QUESTION_TYPE_LABELS = {t: kinds.label(t.value) for t in QuestionType}


class QuestionStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    retired = "retired"


QUESTION_STATUS_LABELS = {
    QuestionStatus.draft: "草稿",
    QuestionStatus.active: "启用",
    QuestionStatus.retired: "停用",
}

#: tiers a question suits; ``all`` means every tier
TIERS = ("county", "township", "general")
TIER_LABELS = {"county": "县处级", "township": "乡科级", "general": "一般干部", "all": "全部"}

_TYPES = ", ".join(f"'{t.value}'" for t in QuestionType)
_STATUSES = ", ".join(f"'{s.value}'" for s in QuestionStatus)


class LawSource(Base):
    __tablename__ = "law_sources"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable code, e.g. ``criminal_law``
    code: Mapped[str] = mapped_column(String(64))
    #: full name, e.g. 中华人民共和国刑法
    name: Mapped[str] = mapped_column(String(200))
    #: common short names accepted on import, e.g. ["刑法"]
    short_names: Mapped[list] = mapped_column(default=list)
    #: the revision questions are written against (date the text took this form)
    current_revision: Mapped[dt.date | None] = mapped_column(Date)
    #: 'party' (党内法规) or 'state' (国家法律)
    kind: Mapped[str] = mapped_column(String(20), default="state")
    sort_order: Mapped[int] = mapped_column(default=0)

    revisions: Mapped[list[LawRevision]] = relationship(
        back_populates="source", order_by="LawRevision.revision_date"
    )


class LawRevision(Base):
    """One imported text of a source (a statute as of a revision date)."""

    __tablename__ = "law_revisions"
    __table_args__ = (UniqueConstraint("source_id", "revision_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("law_sources.id"))
    revision_date: Mapped[dt.date] = mapped_column(Date)
    #: SHA-256 of the imported file's bytes
    text_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    article_count: Mapped[int] = mapped_column(default=0)

    source: Mapped[LawSource] = relationship(back_populates="revisions")
    articles: Mapped[list[Article]] = relationship(
        back_populates="revision", order_by="Article.sort_order", cascade="all, delete-orphan"
    )


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("revision_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("law_revisions.id", ondelete="CASCADE"))
    #: canonical key: ``385``, ``120-1`` for 第一百二十条之一, or a named part like ``总纲``
    key: Mapped[str] = mapped_column(String(32))
    #: 第三百八十五条 / 第一百二十条之一
    label: Mapped[str] = mapped_column(String(64))
    number: Mapped[int | None]
    #: 0 for a plain article, 1 for 之一, 2 for 之二 ...
    suffix: Mapped[int] = mapped_column(default=0)
    #: 编 / 章 / 节 headings the article stands under
    part: Mapped[str | None] = mapped_column(String(200))
    chapter: Mapped[str | None] = mapped_column(String(200))
    section: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(default=0)

    revision: Mapped[LawRevision] = relationship(back_populates="articles")


class KnowledgePoint(Base):
    __tablename__ = "knowledge_points"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


version_knowledge_points = Table(
    "question_version_knowledge_points",
    Base.metadata,
    Column("version_id", ForeignKey("question_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("knowledge_point_id", ForeignKey("knowledge_points.id"), primary_key=True),
)


class Question(Base):
    """A question's identity; its content lives in ``QuestionVersion`` rows."""

    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", "status_valid"),
        UniqueConstraint("code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: public code, e.g. ``Q000123`` (stable across versions and exports)
    code: Mapped[str] = mapped_column(String(32))
    #: one of ``QuestionStatus``
    status: Mapped[str] = mapped_column(String(20), default=QuestionStatus.draft.value, index=True)
    #: set when a cited article changed or was removed in a new revision of its law
    needs_review: Mapped[bool] = mapped_column(default=False)
    review_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: 互斥组: questions sharing a group never share a paper (declared by hand)
    exclusion_group: Mapped[str | None] = mapped_column(String(100), index=True)
    #: 同义答案: groups of interchangeable terms in fill-in answers, e.g.
    #: [["全国人民代表大会常务委员会", "全国人大常委会"]]; they apply to every version
    #: (a synonym added later counts at regrade)
    synonyms: Mapped[list | None] = mapped_column(JSON)
    #: 仅限考试: reserved for exams; never shown in practice, the law reader or anything
    #: a candidate can download (``jifa bank reserve``, the template's 仅限考试 column)
    reserved: Mapped[bool] = mapped_column(default=False, server_default=false())

    #: the version papers now draw; older versions stay for papers already issued
    current_version: Mapped[QuestionVersion | None] = relationship(
        primaryjoin="and_(Question.id == QuestionVersion.question_id, QuestionVersion.is_current)",
        viewonly=True,
        uselist=False,
    )
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question",
        foreign_keys="QuestionVersion.question_id",
        order_by="QuestionVersion.version",
    )


class QuestionVersion(Base):
    """Immutable content of one version of a question."""

    __tablename__ = "question_versions"
    __table_args__ = (
        UniqueConstraint("question_id", "version"),
        CheckConstraint(f"type IN ({_TYPES})", "type_valid"),
        CheckConstraint("difficulty BETWEEN 1 AND 5", "difficulty_range"),
        Index("ix_question_versions_fingerprint", "fingerprint"),
        # exactly one current version per question
        Index(
            "uq_question_versions_current",
            "question_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    #: the version papers draw now (one per question); older ones stay for issued papers
    is_current: Mapped[bool] = mapped_column(default=True)
    #: one of ``QuestionType``
    type: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    #: [{"key": "A", "text": "..."}, ...] in authored order (empty for true/false, fill)
    options: Mapped[list] = mapped_column(default=list)
    #: single: "B"; multiple: ["A", "C"]; true_false: true/false;
    #: fill_blank: [["accepted", "alternative"], ["second blank"]]
    answer: Mapped[object] = mapped_column(JSON)
    #: 解析
    explanation: Mapped[str] = mapped_column(Text, default="")
    difficulty: Mapped[int] = mapped_column(default=3)
    #: tiers it suits: subset of TIERS, or ["all"]
    tiers: Mapped[list] = mapped_column(default=lambda: ["all"])
    #: primary law source (the first citation's source), for fast filtering and quotas
    source_id: Mapped[int | None] = mapped_column(ForeignKey("law_sources.id"), index=True)
    #: SHA-256 of the normalised stem and options, for duplicate detection
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    #: why this version was made (import, edit note)
    change_note: Mapped[str | None] = mapped_column(Text)

    question: Mapped[Question] = relationship(back_populates="versions", foreign_keys=[question_id])
    source: Mapped[LawSource | None] = relationship()
    citations: Mapped[list[Citation]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="Citation.id"
    )
    knowledge_points: Mapped[list[KnowledgePoint]] = relationship(
        secondary=version_knowledge_points, order_by="KnowledgePoint.name"
    )


class Citation(Base):
    """A question version cites a law source, optionally one article of it (by key,
    so the citation survives re-imports of the statute)."""

    __tablename__ = "citations"
    __table_args__ = (UniqueConstraint("version_id", "source_id", "article_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_versions.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("law_sources.id"))
    #: canonical article key (``385``, ``120-1``, ``总纲``); NULL = uncited article
    article_key: Mapped[str | None] = mapped_column(String(32))

    version: Mapped[QuestionVersion] = relationship(back_populates="citations")
    source: Mapped[LawSource] = relationship()


RELATION_REASONS = ("gives_away", "near_duplicate", "exclusion_group")
RELATION_REASON_LABELS = {
    "gives_away": "题干或选项含另一题的答案",
    "near_duplicate": "题意相近",
    "exclusion_group": "同一互斥组",
}
RELATION_ORIGIN_LABELS = {"auto": "自动发现", "manual": "人工指定"}


class RelatedQuestion(Base):
    """Two questions that must not share a paper (互斥/关联题), with the reason.

    ``auto`` pairs are found in the current versions' texts
    (``question_bank.relations``), ``manual`` pairs come from a shared exclusion group;
    both are recomputed whenever questions are imported or edited
    (``question_bank.related.refresh_relations``). ``question_a_id < question_b_id``."""

    __tablename__ = "related_questions"
    __table_args__ = (
        UniqueConstraint("question_a_id", "question_b_id", "reason"),
        CheckConstraint("question_a_id < question_b_id", "ordered_pair"),
        CheckConstraint(
            "reason IN (" + ", ".join(f"'{r}'" for r in RELATION_REASONS) + ")", "reason_valid"
        ),
        CheckConstraint("origin IN ('auto', 'manual')", "origin_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_a_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    question_b_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    #: one of ``RELATION_REASONS``
    reason: Mapped[str] = mapped_column(String(20))
    #: ``auto`` (detected) or ``manual`` (互斥组)
    origin: Mapped[str] = mapped_column(String(10))
    #: gives_away: the question whose answer is given away (a or b)
    giver_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    #: the phrase found, the similarity or the group name
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
