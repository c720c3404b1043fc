"""Equivalent answers score alike: every written form of every number in every fill-in
key of the starter bank (digits, Chinese numerals, 两/二, 百分之/%) scores full marks,
and a question's synonyms (同义答案) count like the key."""

from __future__ import annotations

import pytest

from question_bank.equivalence import canonical, number_forms, number_tokens
from question_bank.kinds.base import CORRECT, WRONG, ItemKey
from question_bank.kinds.fill_blank import KIND as FILL
from question_bank.lint import file_items
from question_bank.starter import starter_files


def _key(answer, synonyms=()):
    return ItemKey("fill_blank", answer, 2.0, synonyms=synonyms)


@pytest.mark.parametrize(
    ("key", "given"),
    [
        ("三个月", "3个月"),
        ("二十四小时", "24小时"),
        ("十五日", "15日"),
        ("二日", "两日"),
        ("两年", "2年"),
        ("百分之三十", "30%"),
        ("一万元", "10000元"),
        ("第三百八十五条", "第385条"),
        ("三个月", " 3 个月。"),
    ],
)
def test_the_issue_examples_score_full_marks(key, given):
    assert FILL.check([given], _key([[key]])).status == CORRECT
    assert FILL.check([key], _key([[given.strip(" 。")]])).status == CORRECT


def test_different_numbers_stay_different():
    assert FILL.check(["4个月"], _key([["三个月"]])).status == WRONG
    assert FILL.check(["15"], _key([["1.5"]])).status == WRONG


def test_synonyms_count_like_the_key():
    synonyms = (("全国人民代表大会常务委员会", "全国人大常委会"),)
    key = _key([["全国人民代表大会常务委员会"]], synonyms)
    assert FILL.check(["全国人大常委会"], key).status == CORRECT
    assert FILL.check(["全国人大常委会"], _key([["全国人民代表大会常务委员会"]])).status == WRONG


def _starter_fill_items(session):
    items = []
    for path in starter_files():
        found, rejected = file_items(session, path)
        assert rejected == []
        items += [i for i in found if i.type == "fill_blank"]
    return items


def test_every_numeric_form_of_every_starter_fill_in_key_scores_full_marks(session, sources):
    items = _starter_fill_items(session)
    assert len(items) > 30
    checked = numeric_keys = 0
    failures = []
    for item in items:
        key = _key(item.answer)
        firsts = [alts[0] for alts in item.answer]
        for b, alternatives in enumerate(item.answer):
            for alt in alternatives:
                forms = number_forms(alt)
                if number_tokens(alt):
                    numeric_keys += 1
                    # a numeric key has a form written otherwise (digits vs numerals)
                    assert len({f for f in forms if f != alt}) >= 1, (item.code, alt)
                for form in forms:
                    response = list(firsts)
                    response[b] = form
                    checked += 1
                    if FILL.check(response, key).status != CORRECT:
                        failures.append((item.code, alt, form))
    assert failures == []
    assert numeric_keys >= 20 and checked > numeric_keys * 2
    assert canonical("三个月") == canonical("3个月")
