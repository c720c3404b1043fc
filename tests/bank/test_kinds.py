"""Question kinds: each kind's names, authored parsing, answer-sheet parsing, validation,
checking, displayed key and classification (pure; no database)."""

from __future__ import annotations

import math
import random

import pytest

from core.errors import InvalidInput
from question_bank import kinds
from question_bank.kinds.base import ItemKey
from question_bank.kinds.fill_blank import count_blanks, normalize
from question_bank.kinds.true_false import FALSE_WORDS, TRUE_WORDS, parse_word
from question_bank.models import QUESTION_TYPE_LABELS, QuestionType

OPTS4 = [{"key": k, "text": f"选项{k}"} for k in "ABCD"]
SINGLE = kinds.get("single")
MULTIPLE = kinds.get("multiple")
TF = kinds.get("true_false")
FILL = kinds.get("fill_blank")


def _key(type_, answer, order=(), authored="ABCD", section=None, points=10):
    return ItemKey(type_, answer, points, tuple(order), tuple(authored), section)


# ---------------------------------------------------------------- the registry


def test_registry_matches_the_stored_types_and_their_labels():
    assert tuple(t.value for t in QuestionType) == kinds.CODES
    assert {t.value: label for t, label in QUESTION_TYPE_LABELS.items()} == kinds.labels()
    assert kinds.labels() == {
        "single": "单选",
        "multiple": "多选",
        "true_false": "判断",
        "fill_blank": "填空",
    }
    with pytest.raises(InvalidInput, match="不支持的题型"):
        kinds.get("essay")


def test_every_name_resolves_to_one_kind_only():
    seen: dict[str, str] = {}
    for kind in kinds.KINDS.values():
        for name in kind.names:
            assert seen.setdefault(name.casefold(), kind.code) == kind.code, name
            assert kinds.resolve(name) == kind.code
            assert kinds.resolve(f" {name.upper()} ") == kind.code
    assert kinds.resolve("问答题") is None and kinds.resolve(None) is None


@pytest.mark.parametrize(
    "answer,options,stem,expected",
    [
        ("A", OPTS4, "下列（ ）正确", "single"),
        ("AA", OPTS4, "下列（ ）正确", "single"),
        ("A、C", OPTS4, "下列（ ）正确", "multiple"),
        ("对", [], "纪律处分分为五种（ ）", "true_false"),
        ("1", [], "这是一个陈述。", "true_false"),
        ("1", [], "监察法第____条", "fill_blank"),
        ("留置", [], "监察机关可以采取____措施", "fill_blank"),
        ("留置", [], "没有空格的题干", None),
    ],
)
def test_a_row_without_a_type_is_claimed_by_its_kind(answer, options, stem, expected):
    assert kinds.infer(answer, options, stem) == expected


@pytest.mark.parametrize(
    "type_,answer,options,stem",
    [
        ("single", "C", OPTS4, "（ ）"),
        ("multiple", ["A", "B", "D"], OPTS4, "（ ）"),
        ("true_false", True, [], "陈述。"),
        ("true_false", False, [], "陈述。"),
        ("fill_blank", [["留置", "留置措施"], ["十日"]], [], "____可以____"),
    ],
)
def test_the_template_answer_cell_reads_back_unchanged(type_, answer, options, stem):
    kind = kinds.get(type_)
    authored = kind.parse_authored(kind.format_key(answer), options, stem)
    assert (authored.answer, authored.errors) == (answer, [])


# ---------------------------------------------------------------- single choice


def test_single_authored_answer_is_one_option_letter():
    assert SINGLE.parse_authored("ｂ", OPTS4, "").answer == "B"
    assert SINGLE.parse_authored("AC", OPTS4, "").errors == ["单选题只能有一个答案（填写了 AC）"]
    assert SINGLE.parse_authored("E", OPTS4, "").errors == ["答案 E 不在选项中"]
    assert SINGLE.parse_authored("甲", OPTS4, "").errors == ["答案「甲」应为选项字母"]
    assert "选择题至少需要两个选项" in SINGLE.parse_authored("A", OPTS4[:1], "").errors


def test_single_sheet_cell_validation_and_check_follow_the_displayed_order():
    assert SINGLE.parse_sheet("b", "b", option_count=4, blanks=0) == "B"
    for bad in ("E", "AB", "A."):
        with pytest.raises(InvalidInput, match="单选题答案"):
            SINGLE.parse_sheet(bad, bad, option_count=4, blanks=0)
    key = _key("single", "A", order=["C", "A", "D", "B"])  # authored A shown as B
    assert SINGLE.validate("", key) is None
    with pytest.raises(InvalidInput):
        SINGLE.validate("E", key)
    assert SINGLE.check("B", key).marks == 10
    assert SINGLE.check("A", key).status == "wrong"
    assert SINGLE.check(None, key).status == "blank"
    assert SINGLE.key_displayed(key) == "B"
    assert SINGLE.response_text("B") == "B"
    assert SINGLE.classify("B", ["C", "A", "D", "B"]) == "A"  # the authored key chosen
    assert SINGLE.classify(None, ["C", "A"]) == ""
    assert SINGLE.guess_score(4) == 0.25 and math.isnan(SINGLE.guess_score(0))


# ---------------------------------------------------------------- multiple choice


def test_multiple_authored_answer_and_sheet():
    assert MULTIPLE.parse_authored("C、a", OPTS4, "").answer == ["A", "C"]
    assert MULTIPLE.parse_authored("B", OPTS4, "").errors == ["多选题至少应有两个正确答案"]
    assert MULTIPLE.parse_sheet("DB", "DB", option_count=4, blanks=0) == ["B", "D"]
    assert MULTIPLE.parse_sheet("a,c", "a,c", option_count=4, blanks=0) == ["A", "C"]
    with pytest.raises(InvalidInput, match="重复"):
        MULTIPLE.parse_sheet("AA", "AA", option_count=4, blanks=0)
    with pytest.raises(InvalidInput, match="A–D"):
        MULTIPLE.parse_sheet("AE", "AE", option_count=4, blanks=0)


def test_multiple_policies_and_display():
    order = ["B", "A", "D", "C"]  # authored A -> displayed B, C -> D
    strict = _key("multiple", ["A", "C"], order, section={"policy": "all_or_nothing"})
    assert MULTIPLE.check(["B", "D"], strict).marks == 10
    assert MULTIPLE.check(["B"], strict).status == "wrong"
    partial = _key("multiple", ["A", "C"], order, section={"policy": "partial"})
    assert (MULTIPLE.check(["B"], partial).marks, MULTIPLE.check(["B"], partial).status) == (
        5,
        "partial",
    )
    assert MULTIPLE.check(["B", "A"], partial).marks == 0
    with pytest.raises(InvalidInput):
        MULTIPLE.validate(["A", "A"], strict)
    assert MULTIPLE.validate([], strict) is None
    assert MULTIPLE.key_displayed(strict) == ["B", "D"]
    assert MULTIPLE.response_text(["B", "D"]) == "BD"
    assert MULTIPLE.classify(["D", "B"], order) == "A,C"
    assert MULTIPLE.classify("B", order) == ""
    assert MULTIPLE.guess_score(4) == pytest.approx(1 / 15)


def test_choice_simulated_responses_are_right_or_wrong_as_asked():
    rng = random.Random(1)
    order = ["C", "A", "D", "B"]
    single = _key("single", "A", order)
    multiple = _key("multiple", ["A", "C"], order)
    for _ in range(20):
        assert SINGLE.check(SINGLE.simulated_response("A", order, True, rng), single).is_correct
        assert not SINGLE.check(
            SINGLE.simulated_response("A", order, False, rng), single
        ).is_correct
        right = MULTIPLE.simulated_response(["A", "C"], order, True, rng)
        wrong = MULTIPLE.simulated_response(["A", "C"], order, False, rng)
        assert MULTIPLE.check(right, multiple).is_correct
        assert not MULTIPLE.check(wrong, multiple).is_correct


# ---------------------------------------------------------------- true or false


def test_true_false_words_and_authored_forms():
    assert TRUE_WORDS.isdisjoint(FALSE_WORDS)
    assert (
        parse_word("正确。") is True and parse_word(" × ") is False and parse_word("也许") is None
    )
    assert TF.parse_authored("√", [], "").answer is True
    # written as a two-option choice with 对/错 texts: becomes a true/false question
    choice = [{"key": "A", "text": "错误"}, {"key": "B", "text": "正确"}]
    authored = TF.parse_authored("A", choice, "")
    assert (authored.answer, authored.options, authored.errors) == (False, [], [])
    assert TF.parse_authored("也许", [], "").errors[0].startswith("判断题答案「也许」")
    assert TF.parse_authored("对", OPTS4, "").errors == ["判断题不应有选项"]
    assert TF.format_key(True) == "对" and TF.format_key(False) == "错"


def test_true_false_check_display_and_classification():
    key = _key("true_false", False, authored="")
    with pytest.raises(InvalidInput, match="判断题答案"):
        TF.parse_sheet("也许", "也许", option_count=0, blanks=0)
    with pytest.raises(InvalidInput):
        TF.validate("yes", key)
    assert TF.check(False, key).is_correct and not TF.check(True, key).is_correct
    assert TF.check(None, key).status == "blank"
    assert TF.key_displayed(key) is False
    assert (TF.response_text(True), TF.response_text(False)) == ("正确", "错误")
    assert (TF.classify(True, []), TF.classify(False, []), TF.classify(None, [])) == (
        "对",
        "错",
        "",
    )
    assert TF.guess_score(0) == 0.5
    assert TF.print_mark and not SINGLE.print_mark


# ---------------------------------------------------------------- fill in the blank


@pytest.mark.parametrize(
    "given", ["留置", " 留 置 ", "留置。", "留置措施", "ＬＩＵＺＨＩ", "liu zhi!"]
)
def test_fill_answers_compare_in_one_normal_form(given):
    key = _key("fill_blank", [["留置", "留置措施", "liuzhi"]], authored="")
    assert FILL.check([given], key).is_correct


def test_fill_normalize_count_and_authoring():
    assert normalize("（ＡＢ）　c") == "abc"
    assert count_blanks("第____条和第__条") == 2 and count_blanks("依法（ ）处理") == 1
    assert FILL.parse_authored("留置/留置措施|十日", [], "____和____").answer == [
        ["留置", "留置措施"],
        ["十日"],
    ]
    assert FILL.parse_authored("留置", [], "____和____").errors == [
        "题干有 2 个空，答案给出了 1 个"
    ]
    assert FILL.parse_authored("留置", [], "没有空").errors == ["填空题题干应以 ____ 标出空格"]
    assert FILL.parse_authored("留置|", OPTS4, "____和____").errors[:2] == [
        "填空题不应有选项",
        "填空题答案有空白的空",
    ]


def test_fill_sheet_validation_partial_marks_and_display():
    assert FILL.parse_sheet("留置", "留置", option_count=0, blanks=2) == ["留置", ""]
    assert FILL.parse_sheet("留置；十日", "留置；十日", option_count=0, blanks=2) == [
        "留置",
        "十日",
    ]
    with pytest.raises(InvalidInput, match="只有 1 个空"):
        FILL.parse_sheet("a|b", "a|b", option_count=0, blanks=1)
    key = _key("fill_blank", [["留置"], ["十日"]], authored="")
    assert FILL.validate("留置", _key("fill_blank", [["留置"]], authored="")) == ["留置"]
    with pytest.raises(InvalidInput, match="2 个空"):
        FILL.validate(["留置"], key)
    with pytest.raises(InvalidInput, match="200"):
        FILL.validate(["x" * 201, ""], key)
    assert FILL.validate(["", " "], key) is None
    assert FILL.check(["留置", "五日"], key).marks == 5
    assert FILL.check(["拘留", "五日"], key).status == "wrong"
    assert FILL.key_displayed(key) == [["留置"], ["十日"]]
    assert FILL.response_text([["留置", "留置措施"], ["十日"]]) == "留置 / 留置措施；十日"
    assert FILL.classify(["留置"], []) == "" and not FILL.analysed_by_option
    assert FILL.guess_score(0) == 0.0
    assert FILL.simulated_response([["留置"]], [], True, random.Random(0)) == ["留置"]
