"""Bank lint: answer cues and flaws a candidate could exploit or suffer from.

``lint(items)`` is pure (plain ``LintItem`` values, no database); ``lint_bank`` and
``lint_file`` load the items from the bank or from a file to import and call it.

Checks (severity: ``error`` makes ``jifa bank lint`` exit 1):

=============================  ========  =================================================
check                          severity  finding
=============================  ========  =================================================
``position_bias``              error     four-option single-choice keys, authored order:
                                         a position outside 15 %–35 %
``key_size_bias``              error     multiple-choice keys: one size (number of correct
                                         options) for more than half of them
``absolute_words``             error     true/false statements with absolute words (一律,
                                         任何, 必须, 只能 …): 80 % or more share one answer
``referring_option_not_last``  error     an option that refers to the others (以上都对 …)
                                         is followed by an ordinary option
``true_false_balance``         warning   true/false keys: true outside 30 %–70 %
``fill_number_forms``          warning   a fill-in key with numerals that form no number,
                                         so no equivalent form is recognised (三四十)
``explanation_without_answer`` warning   the explanation never states the answer
``explanation_names_letter``   warning   the explanation names an option letter (letters
                                         change when options are shuffled)
``related_pair``               info      two questions that must not share a paper
=============================  ========  =================================================

The bias checks run on the whole bank and on each source with enough items.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from question_bank.equivalence import canonical, number_tokens
from question_bank.options import misplaced_referring_keys
from question_bank.relations import GIVES_AWAY, NEAR_DUPLICATE, RelationIndex, RelItem

ERROR, WARNING, INFO = "error", "warning", "info"

POSITION_RANGE = (0.15, 0.35)
MIN_POSITION_ITEMS = 20
KEY_SIZE_MAX_SHARE = 0.5
MIN_KEY_SIZE_ITEMS = 10
ABSOLUTE_MAX_SHARE = 0.8
MIN_ABSOLUTE_ITEMS = 5
TRUE_SHARE_RANGE = (0.3, 0.7)
MIN_TRUE_FALSE_ITEMS = 10
#: share of an answer's 3-grams an explanation must contain to state it
STATED_SHARE = 0.6

#: words that make a statement absolute (a habit of writing false statements)
ABSOLUTE_WORDS = (
    "一律", "任何", "必须", "只能", "只有", "所有", "绝对", "完全", "一切", "凡是",
    "全部", "一概", "总是", "从不", "永远", "唯一", "均", "都",
)  # fmt: skip
_ABSOLUTE = re.compile(
    "|".join(w for w in ABSOLUTE_WORDS if len(w) > 1)
    + r"|(?<![平首])均(?!衡|等|匀)|(?<!首)都(?!市|城|会)"
)
_VERDICT = re.compile(r"正确|错误|有误|不对|不准确|不符|并非|而非|而不是|说法对|说法错")
_LETTER = re.compile(
    r"(?<![A-Za-z])[A-H]\s*(项|选项)|(选|答案[为是]?|故选|应选)\s*[A-H](?![A-Za-z])"
)

CHECK_LABELS = {
    "position_bias": "答案位置偏倚",
    "key_size_bias": "多选题答案个数偏倚",
    "absolute_words": "绝对化词语提示答案",
    "referring_option_not_last": "指代其他选项的选项不在最后",
    "true_false_balance": "判断题对错比例失衡",
    "fill_number_forms": "填空题数字无法识别等价写法",
    "explanation_without_answer": "解析未写明答案",
    "explanation_names_letter": "解析引用选项字母",
    "related_pair": "关联题（不宜同卷）",
}
SEVERITY_LABELS = {ERROR: "错误", WARNING: "警告", INFO: "提示"}


@dataclass(frozen=True, slots=True)
class LintItem:
    """One question as lint sees it (a current version, or a parsed import row)."""

    code: str
    type: str
    stem: str
    #: ((key, text), ...) in authored order
    options: tuple[tuple[str, str], ...] = ()
    #: as stored: "B"; ["A", "C"]; True; [["三个月", "3个月"]]
    answer: object = None
    explanation: str = ""
    #: law source code (bias checks also run per source)
    source: str = ""

    @classmethod
    def of(
        cls,
        code: str,
        type: str,
        stem: str,
        options: Sequence[Mapping] | None = None,
        answer: object = None,
        explanation: str | None = "",
        source: str | None = "",
    ) -> LintItem:
        opts = tuple((str(o["key"]), str(o.get("text") or "")) for o in options or ())
        return cls(code, type, stem or "", opts, answer, explanation or "", source or "")

    def rel_item(self) -> RelItem:
        return RelItem(self.code, self.type, self.stem, self.options, self.answer, self.source)


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str
    #: what is wrong, in Chinese
    message: str
    #: the questions concerned (codes)
    codes: tuple[str, ...] = ()
    #: "" for the whole bank, else the source code the finding is about
    scope: str = ""
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "check": self.check,
            "label": CHECK_LABELS[self.check],
            "severity": self.severity,
            "message": self.message,
            "codes": list(self.codes),
            "scope": self.scope,
            "detail": self.detail,
        }


@dataclass
class LintReport:
    findings: list[Finding]
    #: distributions: key positions, key sizes, true/false shares, related pairs
    figures: dict
    questions: int

    def by_severity(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    @property
    def has_errors(self) -> bool:
        return bool(self.by_severity(ERROR))

    def cues(self) -> list[Finding]:
        """Errors and warnings (what a bank without cues has none of)."""
        return [f for f in self.findings if f.severity in (ERROR, WARNING)]

    def as_dict(self) -> dict:
        return {
            "questions": self.questions,
            "errors": len(self.by_severity(ERROR)),
            "warnings": len(self.by_severity(WARNING)),
            "infos": len(self.by_severity(INFO)),
            "figures": self.figures,
            "findings": [f.as_dict() for f in self.findings],
        }

    def lines(self, *, source_names: Mapping[str, str] | None = None, examples: int = 10):
        """The report as text lines (Chinese), related pairs summarised."""
        names = dict(source_names or {})
        fig = self.figures
        yield (
            f"已检查 {self.questions} 道试题：错误 {len(self.by_severity(ERROR))} 项，"
            f"警告 {len(self.by_severity(WARNING))} 项，关联题 {fig['related']['pairs']} 对。"
        )
        pos = fig["positions"]
        if pos["total"]:
            yield (
                "四选项单选题答案位置："
                + "，".join(f"{k} {pos['shares'][k]:.0%}" for k in "ABCD")
                + f"（共 {pos['total']} 道）"
            )
        sizes = fig["key_sizes"]
        if sizes["total"]:
            yield (
                "多选题答案个数："
                + "，".join(f"{k} 个 {v:.0%}" for k, v in sizes["shares"].items())
                + f"（共 {sizes['total']} 道）"
            )
        tf = fig["true_false"]
        if tf["total"]:
            yield (
                f"判断题：对 {tf['true_share']:.0%}（共 {tf['total']} 道）；含绝对化词语的 "
                f"{tf['absolute']['total']} 道中对 {tf['absolute']['true_share']:.0%}"
            )
        for f in self.cues():
            scope = f"〔{names.get(f.scope, f.scope)}〕" if f.scope else ""
            codes = "、".join(f.codes[:40]) + (" 等" if len(f.codes) > 40 else "")
            yield f"[{SEVERITY_LABELS[f.severity]}] {CHECK_LABELS[f.check]}{scope}：{f.message}"
            if len(f.codes) > 1:
                yield f"    试题：{codes}"
        related = [f for f in self.findings if f.check == "related_pair"]
        if related:
            yield (
                f"关联题 {fig['related']['pairs']} 对（一题的题干或选项含另一题答案的 "
                f"{fig['related'][GIVES_AWAY]} 对，题意相近的 {fig['related'][NEAR_DUPLICATE]} 对），"
                "不宜同卷，例如："
            )
            for f in related[:examples]:
                yield f"    {f.message}"


# ------------------------------------------------------------------ the checks


def _share(counter: Counter, total: int) -> dict:
    return {str(k): (v / total if total else 0.0) for k, v in sorted(counter.items())}


def _groups(items: Sequence[LintItem]) -> list[tuple[str, list[LintItem]]]:
    by_source: dict[str, list[LintItem]] = defaultdict(list)
    for item in items:
        by_source[item.source].append(item)
    groups = [("", list(items))]
    if len(by_source) > 1:
        groups += sorted(by_source.items())
    return groups


def _position_findings(scope: str, items: list[LintItem]) -> list[Finding]:
    four = [i for i in items if i.type == "single" and len(i.options) == 4]
    if len(four) < MIN_POSITION_ITEMS:
        return []
    positions = Counter(i.answer for i in four if isinstance(i.answer, str))
    low, high = POSITION_RANGE
    shares = {k: positions.get(k, 0) / len(four) for k in "ABCD"}
    outside = [k for k in "ABCD" if not low <= shares[k] <= high]
    if not outside:
        return []
    top = max("ABCD", key=lambda k: shares[k])
    text = "，".join(f"{k} {shares[k]:.0%}" for k in "ABCD")
    return [
        Finding(
            "position_bias",
            ERROR,
            f"答案位置分布 {text}，"
            f"{'、'.join(outside)} 超出 {low:.0%}–{high:.0%}；宜调换选项顺序（如答案为 {top} 的题）",
            tuple(i.code for i in four if i.answer == top),
            scope,
            {"shares": shares, "total": len(four)},
        )
    ]


def _key_size_findings(scope: str, items: list[LintItem]) -> list[Finding]:
    multiple = [i for i in items if i.type == "multiple" and isinstance(i.answer, list | tuple)]
    if len(multiple) < MIN_KEY_SIZE_ITEMS:
        return []
    sizes = Counter(len(i.answer) for i in multiple)
    size, count = max(sizes.items(), key=lambda kv: (kv[1], -kv[0]))
    if count / len(multiple) <= KEY_SIZE_MAX_SHARE:
        return []
    text = "，".join(f"{k} 个 {v / len(multiple):.0%}" for k, v in sorted(sizes.items()))
    return [
        Finding(
            "key_size_bias",
            ERROR,
            f"答案个数分布 {text}：{size} 个正确选项的题超过一半",
            tuple(i.code for i in multiple if len(i.answer) == size),
            scope,
            {"shares": _share(sizes, len(multiple)), "total": len(multiple)},
        )
    ]


def has_absolute_word(text: str) -> bool:
    return bool(_ABSOLUTE.search(text or ""))


def _true_false_findings(scope: str, items: list[LintItem]) -> list[Finding]:
    tf = [i for i in items if i.type == "true_false" and isinstance(i.answer, bool)]
    findings = []
    absolute = [i for i in tf if has_absolute_word(i.stem)]
    if len(absolute) >= MIN_ABSOLUTE_ITEMS:
        false = [i for i in absolute if not i.answer]
        share = len(false) / len(absolute)
        if share >= ABSOLUTE_MAX_SHARE or share <= 1 - ABSOLUTE_MAX_SHARE:
            majority, word = (
                (false, "错")
                if share >= ABSOLUTE_MAX_SHARE
                else (
                    [i for i in absolute if i.answer],
                    "对",
                )
            )
            findings.append(
                Finding(
                    "absolute_words",
                    ERROR,
                    f"含绝对化词语（一律、任何、必须、只能……）的判断题 {len(absolute)} 道中"
                    f" {len(majority)} 道答案为“{word}”：看到这些词就能猜答案",
                    tuple(i.code for i in majority),
                    scope,
                    {"total": len(absolute), "false_share": share},
                )
            )
    if len(tf) >= MIN_TRUE_FALSE_ITEMS:
        true_share = sum(1 for i in tf if i.answer) / len(tf)
        low, high = TRUE_SHARE_RANGE
        if not low <= true_share <= high:
            answer = true_share > high
            findings.append(
                Finding(
                    "true_false_balance",
                    WARNING,
                    f"判断题 {len(tf)} 道中答案为“对”的占 {true_share:.0%}，"
                    f"超出 {low:.0%}–{high:.0%}",
                    tuple(i.code for i in tf if i.answer is answer),
                    scope,
                    {"total": len(tf), "true_share": true_share},
                )
            )
    return findings


def _grams(text: str) -> set[str]:
    if len(text) <= 3:
        return {text} if text else set()
    return {text[i : i + 3] for i in range(len(text) - 2)}


def _states(explanation: str, answer: str) -> bool:
    """Whether (canonical) ``explanation`` states (canonical) ``answer``."""
    if not answer:
        return True
    if answer in explanation:
        return True
    grams = _grams(answer)
    if len(answer) <= 3:
        return False
    return len(grams & _grams(explanation)) / len(grams) >= STATED_SHARE


def explanation_states_answer(item: LintItem) -> bool:
    """The explanation states the key: its option texts, its blanks, or a verdict."""
    expl = canonical(item.explanation)
    if not expl:
        return False
    if item.type in ("single", "multiple"):
        texts = dict(item.options)
        keys = [item.answer] if item.type == "single" else list(item.answer or ())
        # an option filling several blanks ("领导；指导") is stated part by part
        parts = [p for k in keys for p in re.split(r"[；;]", texts.get(k, ""))]
        return bool(keys) and all(_states(expl, canonical(p)) for p in parts)
    if item.type == "fill_blank":
        blanks = item.answer if isinstance(item.answer, list | tuple) else []
        return all(
            any(canonical(str(alt)) in expl for alt in (b if isinstance(b, list | tuple) else [b]))
            for b in blanks
        )
    if item.type == "true_false":
        if _VERDICT.search(item.explanation):
            return True
        return bool(item.answer) and _states(expl, canonical(item.stem))
    return True


def _item_findings(item: LintItem) -> list[Finding]:
    findings = []
    misplaced = misplaced_referring_keys([{"key": k, "text": t} for k, t in item.options])
    if misplaced and item.type in ("single", "multiple"):
        findings.append(
            Finding(
                "referring_option_not_last",
                ERROR,
                f"{item.code} 的选项 {'、'.join(misplaced)} 指代其他选项，应排在最后",
                (item.code,),
                detail={"keys": list(misplaced)},
            )
        )
    if item.type == "fill_blank" and isinstance(item.answer, list | tuple):
        bad = [
            tok.text
            for blank in item.answer
            for alt in (blank if isinstance(blank, list | tuple) else [blank])
            for tok in number_tokens(str(alt))
            if tok.value is None
        ]
        if bad:
            findings.append(
                Finding(
                    "fill_number_forms",
                    WARNING,
                    f"{item.code} 的答案中「{'」「'.join(bad)}」不是能识别的数字，"
                    "考生写成阿拉伯数字或其他写法时无法判为正确",
                    (item.code,),
                    detail={"numerals": bad},
                )
            )
    if not explanation_states_answer(item):
        findings.append(
            Finding(
                "explanation_without_answer",
                WARNING,
                f"{item.code} 的解析"
                + ("为空" if not item.explanation.strip() else "没有写明答案"),
                (item.code,),
            )
        )
    if _LETTER.search(item.explanation) and item.type in ("single", "multiple"):
        findings.append(
            Finding(
                "explanation_names_letter",
                WARNING,
                f"{item.code} 的解析引用了选项字母，选项乱序后字母会变",
                (item.code,),
            )
        )
    return findings


def lint(items: Iterable[LintItem], *, relations: bool = True) -> LintReport:
    """Run every check on ``items`` (see the module docstring)."""
    items = list(items)
    findings: list[Finding] = []
    for scope, group in _groups(items):
        findings += _position_findings(scope, group)
        findings += _key_size_findings(scope, group)
        findings += _true_false_findings(scope, group)
    for item in items:
        findings += _item_findings(item)
    found = RelationIndex([i.rel_item() for i in items]).find() if relations else []
    for rel in found:
        findings.append(
            Finding(
                "related_pair",
                INFO,
                rel.describe(),
                (str(rel.first), str(rel.second)),
                detail=rel.as_dict(),
            )
        )
    return LintReport(findings, _figures(items, found), len(items))


def _figures(items: list[LintItem], relations: list) -> dict:
    four = [i for i in items if i.type == "single" and len(i.options) == 4]
    positions = Counter(i.answer for i in four)
    multiple = [i for i in items if i.type == "multiple" and isinstance(i.answer, list | tuple)]
    sizes = Counter(len(i.answer) for i in multiple)
    tf = [i for i in items if i.type == "true_false"]
    absolute = [i for i in tf if has_absolute_word(i.stem)]
    pairs = {r.pair for r in relations}
    return {
        "positions": {
            "total": len(four),
            "counts": {k: positions.get(k, 0) for k in "ABCD"},
            "shares": {k: positions.get(k, 0) / len(four) if four else 0.0 for k in "ABCD"},
        },
        "key_sizes": {
            "total": len(multiple),
            "counts": {str(k): v for k, v in sorted(sizes.items())},
            "shares": _share(sizes, len(multiple)),
        },
        "true_false": {
            "total": len(tf),
            "true_share": sum(1 for i in tf if i.answer) / len(tf) if tf else 0.0,
            "absolute": {
                "total": len(absolute),
                "true_share": (
                    sum(1 for i in absolute if i.answer) / len(absolute) if absolute else 0.0
                ),
            },
        },
        "related": {
            "pairs": len(pairs),
            GIVES_AWAY: len({r.pair for r in relations if r.reason == GIVES_AWAY}),
            NEAR_DUPLICATE: len({r.pair for r in relations if r.reason == NEAR_DUPLICATE}),
        },
    }


# ------------------------------------------------------------------ loading (services)


def bank_items(session) -> list[LintItem]:
    """Current versions of the bank's questions that are not retired."""
    from sqlalchemy import select

    from question_bank.models import LawSource, Question, QuestionStatus, QuestionVersion

    rows = session.execute(
        select(Question.code, QuestionVersion, LawSource.code)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .outerjoin(LawSource, LawSource.id == QuestionVersion.source_id)
        .where(QuestionVersion.is_current, Question.status != QuestionStatus.retired.value)
        .order_by(Question.code)
    ).all()
    return [
        LintItem.of(code, v.type, v.stem, v.options, v.answer, v.explanation, source)
        for code, v, source in rows
    ]


def source_names(session) -> dict[str, str]:
    from sqlalchemy import select

    from question_bank.models import LawSource

    return {s.code: (s.short_names or [s.name])[0] for s in session.scalars(select(LawSource))}


def file_items(session, path: str | Path) -> tuple[list[LintItem], list[str]]:
    """The valid rows of a file to import, named by sheet and row, and the reasons
    rows were rejected (they are not linted)."""
    from core.excel import read_tables
    from question_bank.rows import RowContext, parse_row
    from question_bank.template import ALIASES

    path = Path(path)
    ctx = RowContext(session)
    codes = {s.id: s.code for s in ctx.sources}
    sheets = read_tables(path.read_bytes(), ALIASES, required=["题干", "答案"], filename=path.name)
    items, rejected = [], []
    for sheet in sheets:
        prefix = f"{sheet.name}!" if len(sheets) > 1 else ""
        for row in sheet.rows:
            data, errors = parse_row(ctx, row.values)
            name = data.code if data is not None and data.code else f"{prefix}第{row.number}行"
            if data is None:
                rejected.append(f"{prefix}第{row.number}行：{'；'.join(errors)}")
                continue
            items.append(
                LintItem.of(
                    name,
                    data.type,
                    data.stem,
                    data.options,
                    data.answer,
                    data.explanation,
                    codes.get(data.source_id, ""),
                )
            )
    return items, rejected


def lint_bank(session) -> LintReport:
    return lint(bank_items(session))
