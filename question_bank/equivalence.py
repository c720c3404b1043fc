"""Equivalent written forms of a fill-in answer (pure: no database).

``canonical(text)`` is the one comparison form: two answers are the same answer when
their canonical forms are equal. It folds what a candidate may write differently
without meaning anything different:

- full and half width and compatibility forms (NFKC), letter case (casefold);
- spaces, punctuation and symbols (so trailing 。 or a stray comma never matter);
- numbers, written in Chinese numerals or in digits: 三个月 = 3个月, 二十四小时 = 24小时,
  十五日 = 15日, 二年 = 两年 = 2年, 〇 = 零 = 0, 十 = 一十 = 10, 一万零五 = 10005,
  二〇二三年 = 2023年, 5万元 = 五万元 = 50000元, 三点五 = 3.5, 百分之三十 = 30% (= 30, as
  the old rule already dropped the % sign), 三分之一 = 1/3.

It equates everything the old rule (``fold``: NFKC, drop whitespace and punctuation,
casefold) equated, with one deliberate exception: a decimal point or a fraction slash
between two digits is kept, so 1.5 ≠ 15 and 1/3 ≠ 13 (the old rule confused them).

``number_forms(text)`` lists the written forms of a text that are equivalent to it
(3个月, 三个月; 2年, 二年, 两年; 30%, 百分之三十 …), for lint and tests.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "NumberToken",
    "answer_form",
    "canonical",
    "equivalent",
    "fold",
    "number_forms",
    "number_tokens",
    "parse_chinese_number",
    "to_chinese",
    "with_synonyms",
]

# ------------------------------------------------------------------ the old rule

#: symbols the old rule dropped besides Unicode punctuation, separators and controls
_EXTRA_DROPPED = frozenset("`~^|<>+=$")


def _dropped(ch: str) -> bool:
    return (
        ch.isspace() or unicodedata.category(ch).startswith(("P", "Z", "C")) or ch in _EXTRA_DROPPED
    )


class _DropTable(dict):
    """``str.translate`` table deleting dropped characters, filled as they are met."""

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        value = None if _dropped(ch) else ch
        self[code] = value
        return value


_DROP = _DropTable()


def fold(text: str) -> str:
    """The old fill-in rule: NFKC, drop whitespace and punctuation, casefold."""
    return unicodedata.normalize("NFKC", text or "").translate(_DROP).casefold()


# A decimal point or fraction slash between digits carries meaning (1.5, 1/3).
_NUMERIC_MARK = re.compile(r"(?<=[0-9])[./](?=[0-9])")


def _fold_keeping_numeric_marks(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text or "")
    pieces, last = [], 0
    for m in _NUMERIC_MARK.finditer(folded):
        pieces += [folded[last : m.start()].translate(_DROP), m.group(0)]
        last = m.end()
    pieces.append(folded[last:].translate(_DROP))
    return "".join(pieces).casefold()


# ------------------------------------------------------------------ Chinese numerals

_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    # financial (大写) numerals
    "壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4, "伍": 5,
    "陆": 6, "陸": 6, "柒": 7, "捌": 8, "玖": 9,
}  # fmt: skip
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CN_CHARS = "".join([*_DIGITS, *_SMALL_UNITS, *_BIG_UNITS])
_CN_DIGIT_CHARS = "".join(_DIGITS)

_CN_RUN = f"[{_CN_CHARS}]+(?:点[{_CN_DIGIT_CHARS}]+)?"
_AR_NUM = r"[0-9]+(?:\.[0-9]+)?"
#: digits followed by Chinese units, as in 5万, 1.5亿, 3千万
_AR_UNITS = f"{_AR_NUM}[十百千万亿拾佰仟萬億]+"
_NUM = f"(?:{_AR_UNITS}|{_AR_NUM}|{_CN_RUN})"
#: one number: a percentage, a fraction, or a plain number (first alternative wins)
_NUMBER = re.compile(
    f"(?P<pct>百分之|千分之)(?P<pv>{_NUM})|(?P<den>{_NUM})分之(?P<nv>{_NUM})|(?P<num>{_NUM})"
)


def parse_chinese_number(run: str) -> int | None:
    """The value of a run of Chinese numerals (一万零五, 二十四, 两百, 二〇二三, 一万五),
    or ``None`` when it is not a well-formed number (三四十, 万)."""
    if not run or any(ch not in _CN_CHARS for ch in run):
        return None
    if not any(ch in _SMALL_UNITS or ch in _BIG_UNITS for ch in run):
        # digit by digit, as in years: 二〇二三 = 2023
        return int("".join(str(_DIGITS[ch]) for ch in run))
    total = 0  # completed big sections (万, 亿)
    section = 0  # value below the current big unit
    pending: int | None = None  # a digit waiting for its unit
    zero = False  # a 零 was written since the last unit
    small_prev: int | None = None  # last small unit in this section
    big_prev: int | None = None  # last big unit
    started = False
    for ch in run:
        if ch in _DIGITS:
            value = _DIGITS[ch]
            if value == 0:
                if pending is not None or not started or zero:
                    return None
                zero = True
                continue
            if pending is not None:
                return None
            pending = value
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if pending is None:
                # 十 alone means 一十 at the start of a number or a section (十五, 十万)
                if unit != 10 or section or small_prev is not None or zero:
                    return None
                pending = 1
            if small_prev is not None and unit >= small_prev:
                return None
            section += pending * unit
            pending, small_prev, zero = None, unit, False
        else:
            unit = _BIG_UNITS[ch]
            if pending is not None:
                section += pending
                pending = None
            if section == 0 or (big_prev is not None and unit >= big_prev):
                return None
            total += section * unit
            section, small_prev, big_prev, zero = 0, None, unit, False
        started = True
    if zero and pending is None:
        return None  # a trailing 零 (一百零)
    if pending is not None:
        if zero or small_prev == 10:
            section += pending  # 一百零五, 二十五
        elif small_prev is not None:
            section += pending * (small_prev // 10)  # 二百五 = 250, 三千五 = 3500
        elif big_prev is not None:
            section += pending * (big_prev // 10)  # 一万五 = 15000
        else:
            section += pending
    return total + section


_CN_NUMERALS = "零一二三四五六七八九"


def _chinese_below_10000(n: int, *, leading: bool) -> str:
    """``n`` in 0..9999 as 千百十 digits; ``leading``: nothing precedes it."""
    out = []
    zero = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // unit % 10
        if digit == 0:
            if out:
                zero = True
            continue
        if zero:
            out.append("零")
            zero = False
        if unit == 10 and digit == 1 and leading and not out:
            out.append("十")  # 十五, not 一十五, at the start of a number
        else:
            out.append(_CN_NUMERALS[digit] + name)
    return "".join(out)


def to_chinese(n: int) -> str:
    """A non-negative integer in standard Chinese numerals (10005 -> 一万零五)."""
    if n < 0:
        raise ValueError("negative numbers are not written in answers")
    if n == 0:
        return "零"
    parts = []
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    names = ["", "万", "亿"]  # up to 9999亿
    if len(groups) > len(names):
        raise ValueError("number too large")
    zero = False
    for i in range(len(groups) - 1, -1, -1):
        group = groups[i]
        if group == 0:
            zero = bool(parts)
            continue
        if parts and (zero or group < 1000):
            parts.append("零")
        parts.append(_chinese_below_10000(group, leading=not parts) + names[i])
        zero = False
    return "".join(parts)


# ------------------------------------------------------------------ numbers in text


def _format_decimal(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _value_of(token: str) -> Decimal | None:
    """The value of one number as matched by ``_NUM``."""
    if re.fullmatch(_AR_NUM, token):
        return Decimal(token)
    m = re.fullmatch(f"({_AR_NUM})([十百千万亿拾佰仟萬億]+)", token)
    if m:
        factor = 1
        for ch in m.group(2):
            factor *= _SMALL_UNITS.get(ch) or _BIG_UNITS[ch]
        return Decimal(m.group(1)) * factor
    whole, _, frac = token.partition("点")
    value = parse_chinese_number(whole)
    if value is None:
        return None
    if frac:
        try:
            return Decimal(f"{value}." + "".join(str(_DIGITS[ch]) for ch in frac))
        except (KeyError, InvalidOperation):
            return None
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class NumberToken:
    """One number found in a text: its span, kind and value (``None`` when the numerals
    do not form a number)."""

    start: int
    end: int
    text: str
    #: "number", "percent" (百分之 / 千分之) or "fraction" (N分之M)
    kind: str
    #: the value written in digits: "3", "1.5", "30" (percent), "1/3" (fraction)
    value: str | None
    #: the 百分之 / 千分之 prefix of a percentage
    prefix: str = ""


def _token(m: re.Match) -> NumberToken:
    if m.group("pct"):
        v = _value_of(m.group("pv"))
        kind, value = "percent", None if v is None else _format_decimal(v)
    elif m.group("den"):
        den, num = _value_of(m.group("den")), _value_of(m.group("nv"))
        kind = "fraction"
        value = (
            None if den is None or num is None else f"{_format_decimal(num)}/{_format_decimal(den)}"
        )
    else:
        v = _value_of(m.group("num"))
        kind, value = "number", None if v is None else _format_decimal(v)
    return NumberToken(m.start(), m.end(), m.group(0), kind, value, m.group("pct") or "")


def _canonical_numbers(folded: str) -> str:
    def replace(m: re.Match) -> str:
        tok = _token(m)
        return m.group(0) if tok.value is None else tok.value

    return _NUMBER.sub(replace, folded)


@functools.lru_cache(maxsize=65536)
def canonical(text: str) -> str:
    """The comparison form of an answer (see the module docstring); memoized (keys and
    common responses recur across an exam's attempts)."""
    return _canonical_numbers(_fold_keeping_numeric_marks(text))


def equivalent(a: str, b: str, synonyms: Sequence[Sequence[str]] = ()) -> bool:
    return with_synonyms(canonical(a), synonyms) == with_synonyms(canonical(b), synonyms)


@functools.lru_cache(maxsize=1024)
def _synonym_rule(groups: tuple[tuple[str, ...], ...]) -> tuple[re.Pattern, dict[str, str]] | None:
    """One pattern matching every term of every group (longest first) and the group's
    first term each match stands for, all in canonical form."""
    head_of: dict[str, str] = {}
    for group in groups:
        forms = [canonical(t) for t in group]
        forms = [f for f in forms if f]
        if len(forms) < 2:
            continue
        for f in forms:
            head_of.setdefault(f, forms[0])
    if not head_of:
        return None
    terms = sorted(head_of, key=lambda t: (-len(t), t))
    return re.compile("|".join(re.escape(t) for t in terms)), head_of


def with_synonyms(form: str, synonyms: Sequence[Sequence[str]] = ()) -> str:
    """``form`` (canonical) with every synonym written as the first term of its group
    (全国人大常委会 -> 全国人民代表大会常务委员会), longest term first, in one pass."""
    if not synonyms or not form:
        return form
    rule = _synonym_rule(tuple(tuple(str(t) for t in g) for g in synonyms))
    if rule is None:
        return form
    pattern, head_of = rule
    return pattern.sub(lambda m: head_of[m.group(0)], form)


def answer_form(text: str, synonyms: Sequence[Sequence[str]] = ()) -> str:
    """The one comparison form of an answer: ``canonical`` with the question's
    synonyms (同义答案) folded together. Online scoring, offline answer sheets and
    regrade all compare through it (``question_bank.kinds.fill_blank``)."""
    return with_synonyms(canonical(text), synonyms)


# Chinese numerals that are words, not quantities, unless a measure word follows:
# 一律, 统一, 之一, 唯一, 一般. A number counts as a quantity when it is written in digits,
# carries a unit (十, 百, 万 …), has several digits, follows 第, or a measure word follows.
_MEASURE = re.compile(
    r"(个|年|月|日|天|周|小时|分钟|岁|人|名|次|项|条|款|章|节|种|类|级|倍|元|角|届|期|批|份|轮|位|层|"
    r"票|件|部|家|号|%|‰|以上|以下|以内|之内|之间|至|到)"
)


def _is_quantity(text: str, tok: NumberToken) -> bool:
    if tok.kind != "number" or re.search("[0-9]", tok.text):
        return True
    if len(tok.text) > 1 or tok.text in _SMALL_UNITS:
        return True
    if tok.start > 0 and text[tok.start - 1] == "第":
        return True
    rest = text[tok.end :]
    return (rest == "" and tok.start == 0) or bool(_MEASURE.match(rest))


def number_tokens(text: str) -> list[NumberToken]:
    """The numbers written in ``text`` (NFKC), quantities only (not the 一 of 一律)."""
    folded = unicodedata.normalize("NFKC", text or "")
    return [t for m in _NUMBER.finditer(folded) if _is_quantity(folded, t := _token(m))]


def _forms(tok: NumberToken, after: str = "") -> list[str]:
    """Equivalent ways to write one number (``after``: the text that follows it)."""
    if tok.value is None:
        return [tok.text]
    if tok.kind == "percent":
        chinese = _chinese_decimal(tok.value)
        sign = "%" if tok.prefix == "百分之" else "‰"
        return [tok.text, f"{tok.value}{sign}", *([tok.prefix + chinese] if chinese else [])]
    if tok.kind == "fraction":
        num, den = tok.value.split("/")
        forms = [tok.text, tok.value]
        cn_num, cn_den = _chinese_decimal(num), _chinese_decimal(den)
        if cn_num and cn_den:
            forms.append(f"{cn_den}分之{cn_num}")
        return forms
    forms = [tok.text, tok.value]
    chinese = _chinese_decimal(tok.value)
    if tok.value == "2":
        forms += ["两"] if after.startswith("个") else ["二", "两"]  # 两个, not 二个
    elif chinese:
        forms.append(chinese)
        if chinese.startswith("二") and tok.value.isdigit() and int(tok.value) >= 100:
            forms.append("两" + chinese[1:])  # 两百, 两万
    return forms


def _chinese_decimal(value: str) -> str | None:
    whole, _, frac = value.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None
    try:
        head = to_chinese(int(whole))
    except ValueError:
        return None
    if not frac:
        return head
    return head + "点" + "".join(_CN_NUMERALS[int(d)] for d in frac)


def number_forms(text: str, *, limit: int = 64) -> set[str]:
    """The written forms of ``text`` that are equivalent to it, ``text`` included:
    every number in it written in digits or in Chinese numerals (at most ``limit``)."""
    folded = unicodedata.normalize("NFKC", text or "")
    tokens = number_tokens(folded)
    if not tokens:
        return {text}
    choices = [list(dict.fromkeys(_forms(t, folded[t.end :]))) for t in tokens]
    result = {text}
    for combo in itertools.product(*choices):
        pieces, last = [], 0
        for tok, form in zip(tokens, combo, strict=True):
            pieces += [folded[last : tok.start], form]
            last = tok.end
        pieces.append(folded[last:])
        result.add("".join(pieces))
        if len(result) >= limit:
            break
    return result
