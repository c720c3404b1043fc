"""One question as a template row, parsed and validated into ``QuestionData``.

The columns are ``question_bank.template``'s; what the answer cell means is up to the
question's kind (``question_bank.kinds``), which also infers the type of a row that
names none. Every problem of a row is reported at once, in Chinese.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from question_bank import kinds
from question_bank.articles import SEPARATORS, label_for, parse_ref
from question_bank.models import (
    TIER_LABELS,
    LawSource,
    QuestionStatus,
    QuestionVersion,
)
from question_bank.sources import ensure_default_sources
from question_bank.template import EXCLUSION_GROUP, OPTION_KEYS, SYNONYMS

_STATUS_LOOKUP = {"启用": "active", "草稿": "draft", "停用": "retired", "已停用": "retired"}
_STATUS_LOOKUP.update({s.value: s.value for s in QuestionStatus})
_TIER_LOOKUP = {v: k for k, v in TIER_LABELS.items()} | {k: k for k in TIER_LABELS}
_TIER_LOOKUP.update({"科级": "township", "乡科级干部": "township", "县处级干部": "county"})
_DIFFICULTY_WORDS = {"易": 1, "容易": 1, "较易": 2, "中": 3, "中等": 3, "一般": 3}
_DIFFICULTY_WORDS.update({"较难": 4, "难": 5, "困难": 5})
_PROVENANCE = re.compile(r"tags=|^[\w.-]+/[\w.-]+@")


def normalise(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text or "")).lower()


def fingerprint(stem: str, options: list[dict]) -> str:
    """Same normalised stem and the same set of normalised option texts."""
    opts = sorted(normalise(o["text"]) for o in options)
    return hashlib.sha256("\x1f".join([normalise(stem), *opts]).encode()).hexdigest()


@dataclass
class QuestionData:
    """A validated question (what a version stores, plus status and code)."""

    type: str
    stem: str
    options: list[dict]
    answer: object
    explanation: str = ""
    difficulty: int = 3
    knowledge_points: list[str] = field(default_factory=list)
    #: [(source_id, article_key or None)], primary first
    citations: list[tuple[int, str | None]] = field(default_factory=list)
    tiers: list[str] = field(default_factory=lambda: ["all"])
    status: str = QuestionStatus.active.value
    #: 仅限考试 (a property of the question, not of a version)
    reserved: bool = False
    code: str | None = None
    change_note: str | None = None
    #: 互斥组 (on the question, not the version: no new version when it changes)
    exclusion_group: str | None = None
    #: 同义答案: [["全国人民代表大会常务委员会", "全国人大常委会"], ...] (on the question)
    synonyms: list = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.stem, self.options)

    @property
    def source_id(self) -> int | None:
        return self.citations[0][0] if self.citations else None

    def content(self) -> dict:
        """Comparable content (what a new version is made of)."""
        return {
            "type": self.type,
            "stem": self.stem,
            "options": self.options,
            "answer": self.answer,
            "explanation": self.explanation,
            "difficulty": self.difficulty,
            "knowledge_points": sorted(self.knowledge_points),
            "citations": [list(c) for c in self.citations],
            "tiers": self.tiers,
        }


def version_content(version: QuestionVersion) -> dict:
    return {
        "type": version.type,
        "stem": version.stem,
        "options": list(version.options or []),
        "answer": version.answer,
        "explanation": version.explanation or "",
        "difficulty": version.difficulty,
        "knowledge_points": sorted(kp.name for kp in version.knowledge_points),
        "citations": [[c.source_id, c.article_key] for c in version.citations],
        "tiers": list(version.tiers or []),
    }


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def split_list(value: object) -> list[str]:
    result = []
    for part in SEPARATORS.split(_text(value)):
        part = part.strip()
        if part and part not in result:
            result.append(part)
    return result


class RowContext:
    """Lookups preloaded once per import: sources by any name, imported article keys."""

    def __init__(self, session: Session):
        from question_bank.law import imported_article_keys

        ensure_default_sources(session)
        self.sources = list(session.scalars(select(LawSource).order_by(LawSource.sort_order)))
        self.by_id = {s.id: s for s in self.sources}
        self.by_code = {s.code: s for s in self.sources}
        names: dict[str, LawSource] = {}
        for s in self.sources:
            for n in (s.code, s.name, *(s.short_names or [])):
                names.setdefault(n, s)
        self.names = names
        self._prefixes = sorted(names, key=len, reverse=True)
        self.article_keys = imported_article_keys(session)

    def short_name(self, source_id: int) -> str:
        s = self.by_id[source_id]
        return (s.short_names or [s.name])[0]

    def match_source(self, segment: str) -> tuple[LawSource | None, str]:
        seg = segment.replace("《", "").replace("》", "").strip()
        for name in self._prefixes:
            if seg.startswith(name):
                return self.names[name], seg[len(name) :].strip()
        return None, seg


def parse_citations(
    ctx: RowContext, source_cell: object, article_cell: object
) -> tuple[list[tuple[int, str | None]], list[str], str | None]:
    """-> (citations, errors, provenance text)."""
    errors: list[str] = []
    cites: list[tuple[int, str | None]] = []
    provenance = None
    source_text = _text(source_cell)
    if source_text and _PROVENANCE.search(source_text):
        provenance = source_text
        tags = re.search(r"tags=([\w,+]+)", source_text)
        if tags and set(re.split(r"[,+]", tags.group(1))) & {"criminal", "duty_crime"}:
            cites.append((ctx.by_code["criminal_law"].id, None))
        source_text = ""
    current = None
    for seg in SEPARATORS.split(source_text):
        seg = seg.strip()
        if not seg:
            continue
        source, rest = ctx.match_source(seg)
        if source is not None:
            current = source
            if not rest:
                cites.append((source.id, None))
                continue
        elif current is None:
            errors.append(f"未知的法规出处「{seg}」")
            continue
        key = parse_ref(rest)
        if key is None:
            errors.append(f"无法识别的条款「{rest}」")
        else:
            cites.append((current.id, key))
    articles = split_list(article_cell)
    if articles:
        if not cites:
            errors.append("填写了条款但没有填写出处")
        else:
            primary = cites[0][0]
            for part in articles:
                key = parse_ref(part)
                if key is None:
                    errors.append(f"无法识别的条款「{part}」")
                else:
                    cites.append((primary, key))
    # a source cited with an article needs no bare entry; keep order, drop repeats
    with_article = {s for s, k in cites if k is not None}
    result: list[tuple[int, str | None]] = []
    for s, k in cites:
        if (k is None and s in with_article) or (s, k) in result:
            continue
        result.append((s, k))
    for s, k in result:
        keys = ctx.article_keys.get(s)
        if k is not None and keys is not None and k not in keys:
            errors.append(f"《{ctx.by_id[s].name}》中没有{label_for(k)}")
    return result, errors, provenance


def _parse_options(values: dict[str, object], errors: list[str]) -> list[dict]:
    present = [k for k in OPTION_KEYS if _text(values.get(f"选项{k}"))]
    if not present:
        return []
    last = OPTION_KEYS.index(present[-1])
    missing = [k for k in OPTION_KEYS[: last + 1] if k not in present]
    if missing:
        errors.append(f"选项不连续（缺少选项{'、'.join(missing)}）")
    return [{"key": k, "text": _text(values.get(f"选项{k}"))} for k in present]


def _parse_type(
    type_text: str, answer_text: str, options: list[dict], stem: str, errors: list[str]
) -> str | None:
    """The row's kind: named in 题型 (any accepted name), else inferred from the answer."""
    if type_text:
        qtype = kinds.resolve(type_text)
        if qtype is None:
            errors.append(f"未知题型「{type_text}」（应为{kinds.names_hint()}）")
        return qtype
    if not answer_text:
        return None
    qtype = kinds.infer(answer_text, options, stem)
    if qtype is None:
        errors.append("未填写题型，且无法从答案推断题型")
    return qtype


def _parse_difficulty(text: str, errors: list[str]) -> int:
    if not text:
        return 3
    if text in _DIFFICULTY_WORDS:
        return _DIFFICULTY_WORDS[text]
    if re.fullmatch(r"[1-5](\.0)?", text):
        return int(float(text))
    errors.append(f"难度「{text}」应为 1 到 5")
    return 3


def _parse_tiers(cell: object, errors: list[str]) -> list[str]:
    tiers: list[str] = []
    for t in split_list(cell):
        code = _TIER_LOOKUP.get(t)
        if code is None:
            errors.append(f"未知的适用层级「{t}」（应为全部、县处级、乡科级或一般干部）")
        elif code not in tiers:
            tiers.append(code)
    return ["all"] if not tiers or "all" in tiers else tiers


def _parse_status(text: str, errors: list[str]) -> str:
    if not text:
        return "active"
    status = _STATUS_LOOKUP.get(text.lower()) or _STATUS_LOOKUP.get(text)
    if status is None:
        errors.append(f"未知的状态「{text}」（应为启用、草稿或停用）")
    return status or "active"


_YES = {"是", "y", "yes", "true", "1", "√", "✓", "仅限考试"}
_NO = {"", "否", "n", "no", "false", "0"}


def _parse_reserved(text: str, errors: list[str]) -> bool:
    value = text.strip().lower()
    if value in _YES:
        return True
    if value not in _NO:
        errors.append(f"仅限考试应为“是”或留空，而不是「{text}」")
    return False


def _change_note(values: dict[str, object], provenance: str | None) -> str | None:
    parts = []
    if provenance:
        parts.append(f"来源：{provenance}")
    if _text(values.get("来源编号")):
        parts.append(f"原编号：{_text(values.get('来源编号'))}")
    return "；".join(parts) or None


_SYNONYM_GROUPS = re.compile(r"[;；\n]+")
_SYNONYM_TERMS = re.compile(r"[=＝]")
MAX_GROUP_LENGTH = 100


def parse_synonyms(cell: object, qtype: str | None, errors: list[str]) -> list[list[str]]:
    """The 同义答案 cell: groups separated by "；", terms of a group by "="."""
    text = _text(cell)
    if not text:
        return []
    groups = []
    for part in _SYNONYM_GROUPS.split(text):
        terms = list(dict.fromkeys(t.strip() for t in _SYNONYM_TERMS.split(part) if t.strip()))
        if not terms:
            continue
        if len(terms) < 2:
            errors.append(f"同义答案「{part.strip()}」应至少两个词，用“=”连接")
            continue
        if any(len(t) > MAX_GROUP_LENGTH for t in terms):
            errors.append(f"同义答案中的词过长（每个不超过 {MAX_GROUP_LENGTH} 字）")
            continue
        groups.append(terms)
    if groups and qtype is not None and qtype != "fill_blank":
        errors.append("只有填空题可以设同义答案")
    return groups


def parse_exclusion_group(cell: object, errors: list[str]) -> str | None:
    group = _text(cell)
    if len(group) > MAX_GROUP_LENGTH:
        errors.append(f"互斥组名称过长（不超过 {MAX_GROUP_LENGTH} 字）")
    return group or None


def parse_row(ctx: RowContext, values: dict[str, object]) -> tuple[QuestionData | None, list[str]]:
    """Validate one template row; returns (data, []) or (None, reasons)."""
    errors: list[str] = []
    stem = _text(values.get("题干"))
    answer_text = _text(values.get("答案"))
    if not stem:
        errors.append("缺少题干")
    if not answer_text:
        errors.append("缺少答案")
    options = _parse_options(values, errors)
    qtype = _parse_type(_text(values.get("题型")), answer_text, options, stem, errors)
    answer: object = None
    if qtype is not None and answer_text:
        authored = kinds.get(qtype).parse_authored(answer_text, options, stem)
        answer, options = authored.answer, authored.options
        errors.extend(authored.errors)
    difficulty = _parse_difficulty(_text(values.get("难度")), errors)
    tiers = _parse_tiers(values.get("适用层级"), errors)
    status = _parse_status(_text(values.get("状态")), errors)
    reserved = _parse_reserved(_text(values.get("仅限考试")), errors)
    citations, cite_errors, provenance = parse_citations(
        ctx, values.get("出处"), values.get("条款")
    )
    errors.extend(cite_errors)
    exclusion_group = parse_exclusion_group(values.get(EXCLUSION_GROUP), errors)
    synonyms = parse_synonyms(values.get(SYNONYMS), qtype, errors)
    kps = split_list(values.get("知识点"))
    if any(len(k) > 100 for k in kps):
        errors.append("知识点过长（每个不超过 100 字）")
    code = _text(values.get("编号"))
    if code and not re.fullmatch(r"Q\d{1,12}", code):
        code = ""
    if errors:
        return None, errors
    return (
        QuestionData(
            type=qtype,
            stem=stem,
            options=options,
            answer=answer,
            explanation=_text(values.get("解析")),
            difficulty=difficulty,
            knowledge_points=kps,
            citations=citations,
            tiers=tiers,
            status=status,
            reserved=reserved,
            code=code or None,
            change_note=_change_note(values, provenance),
            exclusion_group=exclusion_group,
            synonyms=synonyms,
        ),
        [],
    )
