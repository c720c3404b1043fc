"""One vocabulary: the bank import, the blueprint parser and offline answer sheets
accept the same names for question types and the same words for true and false."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from exam.papers.answer_sheets import parse_response
from exam.papers.parse import parse_blueprint
from question_bank import kinds
from question_bank.kinds.true_false import FALSE_WORDS, TRUE_WORDS
from question_bank.rows import RowContext, parse_row

WORDS = [(w, True) for w in sorted(TRUE_WORDS)] + [(w, False) for w in sorted(FALSE_WORDS)]
# every word as listed and as people also write it (lower case, a trailing full stop)
SPELLINGS = sorted({(form, value) for w, value in WORDS for form in (w, w.lower(), w + "。")})
NAMES = sorted((name, kind.code) for kind in kinds.KINDS.values() for name in kind.names)

STEMS = {
    "single": ("下列说法正确的是（ ）。", "A"),
    "multiple": ("下列说法正确的是（ ）。", "AB"),
    "true_false": ("党员受到警告处分后一年内不得在党内提升职务。", "对"),
    "fill_blank": ("监察机关可以依法采取____措施。", "留置"),
}


@pytest.fixture
def row_context(session, sources):
    return RowContext(session)


def _row(stem, answer, type_name="", options=()):
    values = {"题型": type_name, "题干": stem, "答案": answer, "出处": "监察法"}
    values.update({f"选项{k}": text for k, text in options})
    return values


@pytest.mark.parametrize("word,value", SPELLINGS)
def test_true_false_words_mean_the_same_in_the_bank_and_on_answer_sheets(row_context, word, value):
    data, errors = parse_row(row_context, _row("这是一个陈述。", word, "判断"))
    assert errors == []
    assert data.type == "true_false" and data.answer is value
    assert parse_response("true_false", word, option_count=0, blanks=0) is value


@pytest.mark.parametrize("name,code", NAMES)
def test_type_names_mean_the_same_in_the_bank_and_in_blueprints(row_context, name, code):
    stem, answer = STEMS[code]
    options = [("A", "甲"), ("B", "乙"), ("C", "丙")] if kinds.get(code).has_options else []
    data, errors = parse_row(row_context, _row(stem, answer, name, options))
    assert errors == []
    assert data.type == code
    spec = parse_blueprint(
        {
            "code": "v",
            "name": "v",
            "pass_mark": 1,
            "sections": [{"type": name, "count": 1, "points": 2}],
        }
    )
    assert spec.sections[0].type == code


def test_a_word_neither_true_nor_false_is_refused_by_both(row_context):
    data, errors = parse_row(row_context, _row("这是一个陈述。", "也许", "判断"))
    assert data is None and errors[0].startswith("判断题答案「也许」")
    with pytest.raises(InvalidInput, match="判断题答案“也许”无效"):
        parse_response("true_false", "也许", option_count=0, blanks=0)
