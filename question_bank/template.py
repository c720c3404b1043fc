"""The question template: its columns, the header texts accepted for them, and one
question written as a template row (export, the edit form's initial values).

The template is what the starter bank, the importer, the exporter and the web edit form
share; ``question_bank.rows.parse_row`` reads a row back, so the same validation
applies everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from question_bank import kinds
from question_bank.articles import label_for
from question_bank.models import (
    QUESTION_STATUS_LABELS,
    TIER_LABELS,
    Question,
    QuestionStatus,
    QuestionVersion,
)

if TYPE_CHECKING:
    from question_bank.rows import RowContext

OPTION_KEYS = "ABCDEFGH"
#: 互斥组: questions with the same group name never share a paper
EXCLUSION_GROUP = "互斥组"
#: 同义答案 (fill-in): groups of interchangeable terms, "甲=乙" per group, groups by "；"
SYNONYMS = "同义答案"
#: 仅限考试: 是 = reserved for exams (never in practice or the law reader); empty = no
RESERVED = "仅限考试"
TEMPLATE_HEADERS = (
    ["题型", "题干"]
    + [f"选项{k}" for k in OPTION_KEYS]
    + ["答案", "解析", "难度", "知识点", "出处", "条款", "适用层级", "状态"]
    + [EXCLUSION_GROUP]
    + [SYNONYMS]
    + [RESERVED]
)
EXPORT_HEADERS = ["编号", *TEMPLATE_HEADERS]

#: canonical column -> header texts accepted for it (any order, any case)
ALIASES: dict[str, tuple[str, ...]] = {
    "编号": ("试题编号", "题目编号", "题号", "code"),
    "来源编号": ("id", "原编号"),
    "题型": ("类型", "试题类型", "题目类型", "题类", "type"),
    "题干": ("题目", "试题", "题目内容", "试题内容", "问题", "question", "stem"),
    **{
        f"选项{k}": (k, f"{k}选项", f"选项{k.lower()}", f"option{k}", f"option_{k}")
        for k in OPTION_KEYS
    },
    "答案": ("正确答案", "参考答案", "标准答案", "answer"),
    "解析": ("答案解析", "试题解析", "解释", "explanation"),
    "难度": ("难度系数", "难易程度", "难易度", "difficulty"),
    "知识点": ("考点", "知识点标签", "knowledge"),
    "出处": ("法规", "法规名称", "来源", "依据", "法律法规", "法规依据", "出处法规", "source"),
    "条款": ("条文", "法条", "条目", "条", "article"),
    "适用层级": ("层级", "适用对象", "适用范围", "tier", "tiers"),
    "状态": ("status",),
    EXCLUSION_GROUP: ("互斥题组", "互斥", "exclusion_group"),
    SYNONYMS: ("同义词", "等价答案", "synonyms"),
    RESERVED: ("仅用于考试", "考试专用", "保留", "reserved"),
}


# ---------------------------------------------------------------- formatting


def format_answer(qtype: str, answer: object) -> str:
    """The stored answer as the template's 答案 cell."""
    return kinds.get(qtype).format_key(answer)


def format_citations(ctx: RowContext, citations: list[tuple[int, str | None]]) -> tuple[str, str]:
    """-> (出处, 条款). One source: its short name and the article labels; several
    sources: 出处 lists each source with its articles and 条款 stays empty."""
    if not citations:
        return "", ""
    sources = list(dict.fromkeys(s for s, _ in citations))
    if len(sources) == 1:
        labels = [label_for(k) for _, k in citations if k is not None]
        return ctx.short_name(sources[0]), "；".join(labels)
    parts = []
    last = None
    for s, k in citations:
        name = ctx.short_name(s) if s != last else ""
        parts.append(name + (label_for(k) if k is not None else ""))
        last = s
    return "；".join(parts), ""


def format_synonyms(groups: object) -> str:
    """The stored synonym groups as the template's 同义答案 cell: 甲=乙；丙=丁."""
    return "；".join("=".join(str(t) for t in g) for g in groups or () if g)


def format_reserved(reserved: bool) -> str | None:
    """The 仅限考试 cell: 是, or empty."""
    return "是" if reserved else None


def format_row(
    ctx: RowContext,
    code: str,
    status: str,
    version: QuestionVersion,
    question: Question | None = None,
) -> list:
    """An export row in ``EXPORT_HEADERS`` order (``question``: its 互斥组, 同义答案
    and 仅限考试, which belong to the question rather than to one version)."""
    options = {o["key"]: o["text"] for o in version.options or []}
    source, articles = format_citations(
        ctx, [(c.source_id, c.article_key) for c in version.citations]
    )
    return [
        code,
        kinds.label(version.type),
        version.stem,
        *[options.get(k) for k in OPTION_KEYS],
        format_answer(version.type, version.answer),
        version.explanation or None,
        version.difficulty,
        "；".join(kp.name for kp in version.knowledge_points) or None,
        source or None,
        articles or None,
        "；".join(TIER_LABELS[t] for t in version.tiers or ["all"]),
        QUESTION_STATUS_LABELS[QuestionStatus(status)],
        (question.exclusion_group if question is not None else None) or None,
        format_synonyms(question.synonyms if question is not None else None) or None,
        format_reserved(question.reserved if question is not None else False),
    ]


def row_values(
    ctx: RowContext,
    code: str,
    status: str,
    version: QuestionVersion,
    question: Question | None = None,
) -> dict:
    """The same row as a {header: value} dict (the web edit form's initial values)."""
    row = format_row(ctx, code, status, version, question)
    return {h: ("" if v is None else str(v)) for h, v in zip(EXPORT_HEADERS, row, strict=True)}
