"""Article keys and labels: Chinese numerals <-> int, 第X条之一 <-> key ``X-1``.

A key is the canonical, language-neutral name of an article: ``385`` for 第三百八十五条,
``120-1`` for 第一百二十条之一, or the name of a named part such as ``总纲``.
"""

from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
DIGITS.update({"七": 7, "八": 8, "九": 9})
UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMERAL = "零〇一二两三四五六七八九十百千"
#: parts of a text cited by name instead of an article number
NAMED_PARTS = ("总纲", "序言", "导语", "前言")

_DIGIT_CHARS = "零一二三四五六七八九"
_REF = re.compile(
    rf"^第?\s*([{CN_NUMERAL}]+|\d+)\s*条(?:\s*之\s*([{CN_NUMERAL}]+|\d+))?"
    rf"(?:\s*第[{CN_NUMERAL}\d]+\s*[款项目])*$"
)
_KEY = re.compile(r"^(\d+)(?:-(\d+))?$")
SEPARATORS = re.compile(r"[；;、,，\n]+")


def cn_to_int(text: str) -> int:
    """``三百八十五`` -> 385, ``一百零七`` -> 107, ``十五`` -> 15; digits pass through."""
    text = text.strip()
    if not text:
        raise ValueError("empty numeral")
    if text.isdigit():
        return int(text)
    total = 0
    current = 0
    for ch in text:
        if ch in DIGITS:
            current = DIGITS[ch]
        elif ch in UNITS:
            total += (current or 1) * UNITS[ch]
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + current


def int_to_cn(n: int) -> str:
    """385 -> ``三百八十五``; 107 -> ``一百零七``; 10 -> ``十``; 110 -> ``一百一十``."""
    if n < 0 or n >= 10000:
        raise ValueError(n)
    if n == 0:
        return "零"
    if 10 <= n < 20:
        return "十" + (_DIGIT_CHARS[n % 10] if n % 10 else "")
    parts = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero:
                parts.append("零")
                zero = False
            parts.append(_DIGIT_CHARS[d] + unit)
        elif parts:
            zero = True
    return "".join(parts)


def make_key(number: int, suffix: int = 0) -> str:
    return f"{number}-{suffix}" if suffix else str(number)


def split_key(key: str) -> tuple[int | None, int]:
    m = _KEY.match(key)
    if not m:
        return None, 0
    return int(m.group(1)), int(m.group(2) or 0)


def label_for(key: str) -> str:
    """``385`` -> 第三百八十五条; ``120-1`` -> 第一百二十条之一; named parts unchanged."""
    number, suffix = split_key(key)
    if number is None:
        return key
    label = f"第{int_to_cn(number)}条"
    return label + (f"之{int_to_cn(suffix)}" if suffix else "")


def sort_key(key: str) -> tuple:
    number, suffix = split_key(key)
    if number is None:
        idx = NAMED_PARTS.index(key) if key in NAMED_PARTS else len(NAMED_PARTS)
        return (0, idx, 0, key)
    return (1, number, suffix, "")


def parse_ref(text: str) -> str | None:
    """One reference -> key: ``第三百八十五条``, ``第120条之一``, ``385``, ``120-1``,
    ``第三十条第一款`` (the paragraph is dropped), ``总纲``. None when unrecognised."""
    t = re.sub(r"\s+", "", str(text)).strip("《》")
    if not t:
        return None
    if t in NAMED_PARTS:
        return t
    m = _KEY.match(t)
    if m:
        return make_key(int(m.group(1)), int(m.group(2) or 0))
    m = _REF.match(t)
    if not m:
        return None
    number = cn_to_int(m.group(1))
    suffix = cn_to_int(m.group(2)) if m.group(2) else 0
    return make_key(number, suffix)


def parse_refs(text: str | None) -> tuple[list[str], list[str]]:
    """Split a cell like ``第三百八十五条；第一百二十条之一`` -> (keys, unrecognised parts)."""
    keys: list[str] = []
    bad: list[str] = []
    if not text:
        return keys, bad
    for part in SEPARATORS.split(str(text)):
        part = part.strip()
        if not part:
            continue
        key = parse_ref(part)
        if key is None:
            bad.append(part)
        elif key not in keys:
            keys.append(key)
    return keys, bad
