"""Equivalent written forms of fill-in answers (pure; no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank.equivalence import (
    canonical,
    equivalent,
    fold,
    number_forms,
    number_tokens,
    parse_chinese_number,
    to_chinese,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("三个月", "3个月"),
        ("二十四小时", "24小时"),
        ("十五日", "15日"),
        ("二年", "两年"),
        ("两年", "2年"),
        ("二日", "两日"),
        ("百分之三十", "30%"),
        ("〇", "零"),
        ("零", "0"),
        ("十", "一十"),
        ("一百零五", "105"),
        ("一千零一十", "1010"),
        ("一万零五", "10005"),
        ("十万元", "100000元"),
        ("五万元", "5万元"),
        ("两百", "200"),
        ("二〇二三年", "2023年"),
        ("三分之一", "1/3"),
        ("三分之二以上", "2/3以上"),
        ("三点五", "3.5"),
        ("第三百九十条", "第390条"),
        ("壹佰", "100"),
        # width, spaces, punctuation and case
        ("３个月", "3个月"),
        ("全国人大常委会。", " 全国人大常委会 "),
        ("ＡＢＣ", "abc"),
        ("“一岗双责”", "一岗双责"),
    ],
)
def test_equivalent_forms_have_one_canonical_form(a, b):
    assert canonical(a) == canonical(b)
    assert equivalent(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("3个月", "3日"),
        ("三个月", "三日"),
        ("三个月", "四个月"),
        ("二十四小时", "24日"),
        ("1.5", "15"),
        ("1/3", "13"),
        ("三分之一", "十三"),
        ("百分之三十", "百分之三"),
        ("一年", "一年半"),
        ("五年以下", "五年以上"),
    ],
)
def test_different_answers_stay_different(a, b):
    assert canonical(a) != canonical(b)


def test_numerals_that_are_not_numbers_are_left_alone():
    assert parse_chinese_number("三四十") is None
    assert parse_chinese_number("万") is None
    assert parse_chinese_number("一百零") is None
    # left as written, so they still compare equal to themselves only
    assert canonical("万一") == "万一"
    assert not equivalent("三四十", "340")


@given(st.integers(min_value=0, max_value=99_999))
def test_digits_and_chinese_numerals_round_trip(n):
    chinese = to_chinese(n)
    assert parse_chinese_number(chinese) == n
    assert canonical(chinese) == str(n)
    assert equivalent(f"{chinese}个月", f"{n}个月")


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_large_numbers_round_trip(n):
    assert parse_chinese_number(to_chinese(n)) == n


_UNITS = ["个月", "日", "年", "小时", "天", "周", "人", "元"]


@given(
    st.integers(min_value=0, max_value=99_999),
    st.integers(min_value=0, max_value=99_999),
    st.sampled_from(_UNITS),
    st.sampled_from(_UNITS),
)
def test_units_are_kept_distinct(m, n, unit_a, unit_b):
    same = m == n and unit_a == unit_b
    assert equivalent(f"{to_chinese(m)}{unit_a}", f"{n}{unit_b}") == same


@given(st.integers(min_value=1, max_value=9_999), st.integers(min_value=1, max_value=9_999))
def test_percentages_and_fractions(p, q):
    assert equivalent(f"百分之{to_chinese(p)}", f"{p}%")
    assert equivalent(f"{to_chinese(q)}分之{to_chinese(p)}", f"{p}/{q}")


# The old rule equated texts that differ in width, spacing, punctuation and case;
# canonical equates them too (it refines only digits split by "." or "/").
_TEXT = st.text(
    alphabet=st.sampled_from(list("三个月二十四小时两年百分之零〇万一律廉洁ABCabc0123456789年日")),
    max_size=12,
)
_NOISE = st.sampled_from([" ", "，", "。", "、", "（", "）", "\u3000", "“", "”", ";", "!", "-"])


@given(_TEXT, st.lists(st.tuples(st.integers(0, 12), _NOISE), max_size=4), st.booleans())
def test_canonical_equates_whatever_the_old_rule_equated(text, noise, wide):
    noisy = text
    for pos, ch in noise:
        noisy = noisy[:pos] + ch + noisy[pos:]
    if wide:  # full-width letters and digits
        noisy = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in noisy)
    assert fold(noisy) == fold(text)  # the old rule equates them
    assert canonical(noisy) == canonical(text)


_ANY_NOISE = st.characters(
    categories=["Po", "Ps", "Pe", "Pd", "Zs", "Cc"], exclude_characters="./．／"
)


@given(st.text(max_size=30), st.lists(st.tuples(st.integers(0, 30), _ANY_NOISE), max_size=4))
def test_any_texts_the_old_rule_equates_are_equated(text, noise):
    noisy = text
    for pos, ch in noise:
        noisy = noisy[:pos] + ch + noisy[pos:]
    if any(m in text + noisy for m in "./．／"):
        return  # the one deliberate refinement
    if fold(noisy) == fold(text):
        assert canonical(noisy) == canonical(text)


@pytest.mark.parametrize(
    ("text", "forms"),
    [
        ("三个月", {"三个月", "3个月"}),
        ("二年", {"二年", "两年", "2年"}),
        ("两个维护", {"两个维护", "2个维护"}),
        ("百分之三十", {"百分之三十", "30%"}),
        ("15日", {"15日", "十五日"}),
        ("三分之一", {"三分之一", "1/3"}),
        ("一律", {"一律"}),
        ("唯一", {"唯一"}),
    ],
)
def test_number_forms(text, forms):
    assert number_forms(text) == forms


@given(st.integers(min_value=0, max_value=99_999), st.sampled_from(_UNITS))
def test_every_number_form_is_equivalent(n, unit):
    for text in (f"{n}{unit}", f"{to_chinese(n)}{unit}", f"处{n}{unit}以下"):
        forms = number_forms(text)
        assert len(forms) >= 2
        assert {canonical(f) for f in forms} == {canonical(text)}


def test_number_tokens_skip_numerals_that_are_words():
    assert [t.text for t in number_tokens("一律给予统一处理")] == []
    assert [t.value for t in number_tokens("处三年以上十年以下有期徒刑")] == ["3", "10"]
    assert [t.value for t in number_tokens("第三百九十条")] == ["390"]
    bad = number_tokens("三四十个")
    assert [(t.text, t.value) for t in bad] == [("三四十", None)]
