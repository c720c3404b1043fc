"""One question as a template row: parse (validate) and format.

The template (``TEMPLATE_HEADERS``) is what the starter bank, the importer, the exporter
and the web edit form share, so the same validation applies everywhere.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from question_bank.articles import SEPARATORS, label_for, parse_ref
from question_bank.models import (
    QUESTION_STATUS_LABELS,
    QUESTION_TYPE_LABELS,
    TIER_LABELS,
    LawSource,
    QuestionStatus,
    QuestionType,
    QuestionVersion,
)
from question_bank.sources import ensure_default_sources

OPTION_KEYS = "ABCDEFGH"
TEMPLATE_HEADERS = (
    ["题型", "题干"]
    + [f"选项{k}" for k in OPTION_KEYS]
    + ["答案", "解析", "难度", "知识点", "出处", "条款", "适用层级", "状态"]
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
}

TYPE_NAMES = {
    QuestionType.single: ("单选", "单选题", "单项选择", "单项选择题", "single"),
    QuestionType.multiple: (
        "多选",
        "多选题",
        "多项选择",
        "多项选择题",
        "不定项",
        "不定项选择题",
        "multiple",
    ),
    QuestionType.true_false: ("判断", "判断题", "是非题", "true_false", "tf"),
    QuestionType.fill_blank: ("填空", "填空题", "fill_blank", "fill"),
}
_TYPE_LOOKUP = {n.lower(): t.value for t, names in TYPE_NAMES.items() for n in names}
TF_TRUE = {"对", "正确", "√", "✓", "✔", "T", "TRUE", "是", "Y", "YES", "RIGHT"}
TF_FALSE = {"错", "错误", "×", "✗", "✘", "X", "F", "FALSE", "否", "N", "NO", "WRONG"}
_STATUS_LOOKUP = {"启用": "active", "草稿": "draft", "停用": "retired", "已停用": "retired"}
_STATUS_LOOKUP.update({s.value: s.value for s in QuestionStatus})
_TIER_LOOKUP = {v: k for k, v in TIER_LABELS.items()} | {k: k for k in TIER_LABELS}
_TIER_LOOKUP.update({"科级": "township", "乡科级干部": "township", "县处级干部": "county"})
_DIFFICULTY_WORDS = {"易": 1, "容易": 1, "较易": 2, "中": 3, "中等": 3, "一般": 3}
_DIFFICULTY_WORDS.update({"较难": 4, "难": 5, "困难": 5})
_BLANK = re.compile(r"_{2,}")
_PAREN_BLANK = re.compile(r"（\s*）|\(\s*\)")
_LETTER_SEPARATORS = re.compile(r"[\s,，、;；/|和及]+")
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
    code: str | None = None
    change_note: str | None = None

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


def count_blanks(stem: str) -> int:
    n = len(_BLANK.findall(stem))
    return n or len(_PAREN_BLANK.findall(stem))


def parse_letters(answer: str) -> list[str] | None:
    """``A`` / ``AC`` / ``A,C`` / ``A、C`` -> letters; None if not letters."""
    s = _LETTER_SEPARATORS.sub("", unicodedata.normalize("NFKC", answer).upper())
    if not s or not re.fullmatch(r"[A-Z]+", s):
        return None
    return list(dict.fromkeys(s))


def parse_true_false(answer: str) -> bool | None:
    s = unicodedata.normalize("NFKC", answer).strip().upper().rstrip("。.")
    s = {"√": "√", "×": "×"}.get(s, s)
    if s in TF_TRUE or answer.strip() in TF_TRUE:
        return True
    if s in TF_FALSE or answer.strip() in TF_FALSE:
        return False
    return None


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


def parse_row(ctx: RowContext, values: dict[str, object]) -> tuple[QuestionData | None, list[str]]:
    """Validate one template row; returns (data, []) or (None, reasons)."""
    errors: list[str] = []
    stem = _text(values.get("题干"))
    answer_text = _text(values.get("答案"))
    if not stem:
        errors.append("缺少题干")
    if not answer_text:
        errors.append("缺少答案")
    options: list[dict] = []
    present = [k for k in OPTION_KEYS if _text(values.get(f"选项{k}"))]
    if present:
        last = OPTION_KEYS.index(present[-1])
        missing = [k for k in OPTION_KEYS[: last + 1] if k not in present]
        if missing:
            errors.append(f"选项不连续（缺少选项{'、'.join(missing)}）")
        options = [{"key": k, "text": _text(values.get(f"选项{k}"))} for k in present]
    type_text = _text(values.get("题型"))
    qtype = None
    if type_text:
        qtype = _TYPE_LOOKUP.get(type_text.lower())
        if qtype is None:
            errors.append(f"未知题型「{type_text}」（应为单选、多选、判断或填空）")
    elif answer_text:
        letters = parse_letters(answer_text)
        if options and letters:
            qtype = "multiple" if len(letters) > 1 else "single"
        elif not options and parse_true_false(answer_text) is not None:
            qtype = "true_false"
        elif not options and count_blanks(stem):
            qtype = "fill_blank"
        else:
            errors.append("未填写题型，且无法从答案推断题型")
    answer: object = None
    if qtype in ("single", "multiple") and answer_text:
        if len(options) < 2:
            errors.append("选择题至少需要两个选项")
        letters = parse_letters(answer_text)
        if letters is None:
            errors.append(f"答案「{answer_text}」应为选项字母")
        else:
            keys = {o["key"] for o in options}
            outside = [x for x in letters if x not in keys]
            if outside:
                errors.append(f"答案 {''.join(outside)} 不在选项中")
            elif qtype == "single" and len(letters) != 1:
                errors.append(f"单选题只能有一个答案（填写了 {''.join(letters)}）")
            elif qtype == "multiple" and len(letters) < 2:
                errors.append("多选题至少应有两个正确答案")
            answer = letters[0] if qtype == "single" else sorted(letters)
    elif qtype == "true_false" and answer_text:
        value = parse_true_false(answer_text)
        if value is None and len(options) == 2 and parse_letters(answer_text):
            picked = {o["key"]: o["text"] for o in options}.get(parse_letters(answer_text)[0])
            value = parse_true_false(picked or "")
            if value is not None:
                options = []
        if value is None:
            errors.append(f"判断题答案「{answer_text}」应为 对/错、正确/错误、√/× 或 T/F")
        elif options:
            errors.append("判断题不应有选项")
        answer = value
    elif qtype == "fill_blank" and answer_text:
        if options:
            errors.append("填空题不应有选项")
        blanks = [
            [alt.strip() for alt in blank.split("/") if alt.strip()]
            for blank in answer_text.split("|")
        ]
        if any(not b for b in blanks):
            errors.append("填空题答案有空白的空")
        n = count_blanks(stem)
        if n == 0:
            errors.append("填空题题干应以 ____ 标出空格")
        elif n != len(blanks):
            errors.append(f"题干有 {n} 个空，答案给出了 {len(blanks)} 个")
        answer = blanks
    difficulty = 3
    diff_text = _text(values.get("难度"))
    if diff_text:
        if diff_text in _DIFFICULTY_WORDS:
            difficulty = _DIFFICULTY_WORDS[diff_text]
        elif re.fullmatch(r"[1-5](\.0)?", diff_text):
            difficulty = int(float(diff_text))
        else:
            errors.append(f"难度「{diff_text}」应为 1 到 5")
    tiers: list[str] = []
    for t in split_list(values.get("适用层级")):
        code = _TIER_LOOKUP.get(t)
        if code is None:
            errors.append(f"未知的适用层级「{t}」（应为全部、县处级、乡科级或一般干部）")
        elif code not in tiers:
            tiers.append(code)
    if not tiers or "all" in tiers:
        tiers = ["all"]
    status_text = _text(values.get("状态"))
    status = "active"
    if status_text:
        status = _STATUS_LOOKUP.get(status_text.lower()) or _STATUS_LOOKUP.get(status_text)
        if status is None:
            errors.append(f"未知的状态「{status_text}」（应为启用、草稿或停用）")
    citations, cite_errors, provenance = parse_citations(
        ctx, values.get("出处"), values.get("条款")
    )
    errors.extend(cite_errors)
    kps = split_list(values.get("知识点"))
    if any(len(k) > 100 for k in kps):
        errors.append("知识点过长（每个不超过 100 字）")
    code = _text(values.get("编号"))
    if code and not re.fullmatch(r"Q\d{1,12}", code):
        code = ""
    note_parts = []
    if provenance:
        note_parts.append(f"来源：{provenance}")
    if _text(values.get("来源编号")):
        note_parts.append(f"原编号：{_text(values.get('来源编号'))}")
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
            code=code or None,
            change_note="；".join(note_parts) or None,
        ),
        [],
    )


# ------------------------------------------------------------------ formatting


def format_answer(qtype: str, answer: object) -> str:
    if qtype == "single":
        return str(answer)
    if qtype == "multiple":
        return "".join(answer)
    if qtype == "true_false":
        return "对" if answer else "错"
    return "|".join("/".join(alts) for alts in answer)


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


def format_row(ctx: RowContext, code: str, status: str, version: QuestionVersion) -> list:
    """An export row in ``EXPORT_HEADERS`` order."""
    options = {o["key"]: o["text"] for o in version.options or []}
    source, articles = format_citations(
        ctx, [(c.source_id, c.article_key) for c in version.citations]
    )
    return [
        code,
        QUESTION_TYPE_LABELS[QuestionType(version.type)],
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
    ]


def row_values(ctx: RowContext, code: str, status: str, version: QuestionVersion) -> dict:
    """The same row as a {header: value} dict (the web edit form's initial values)."""
    return {
        h: ("" if v is None else str(v))
        for h, v in zip(EXPORT_HEADERS, format_row(ctx, code, status, version), strict=True)
    }
