"""Related questions: answers given away by other questions, near duplicates (pure)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank.relations import (
    GIVES_AWAY,
    NEAR_DUPLICATE,
    RelationIndex,
    RelItem,
    find_relations,
    related_pairs,
)


def opts(*texts):
    return [{"key": "ABCDEFGH"[i], "text": t} for i, t in enumerate(texts)]


XIUSHEN_SINGLE = RelItem.of(
    "Q1",
    "single",
    "《中国共产党廉洁自律准则》第七条规定：廉洁修身，自觉提升（ ）。",
    opts("业务能力水平", "思想道德境界", "工作效率", "学历层次"),
    "B",
    "integrity_guidelines",
)
XIUSHEN_MULTIPLE = RelItem.of(
    "Q2",
    "multiple",
    "下列属于党员领导干部廉洁自律规范的有（ ）。",
    opts(
        "廉洁从政，自觉保持人民公仆本色",
        "廉洁用权，自觉维护人民根本利益",
        "廉洁修身，自觉提升思想道德境界",
        "廉洁从业，自觉维护集体利益",
    ),
    ["A", "B", "C"],
    "integrity_guidelines",
)
GAIZU_STEM = RelItem.of(
    "Q3",
    "true_false",
    "对于严重违犯党的纪律、本身又不能纠正的党组织，上级党的委员会在查明核实后，"
    "根据情节严重的程度，作出进行改组或者予以解散的决定。这一表述可以概括为：可以予以改组或者解散。",
    answer=True,
    source="party_constitution",
)
GAIZU_FILL = RelItem.of(
    "Q4",
    "fill_blank",
    "对于严重违犯党纪、本身又不能纠正的党组织，上一级党的委员会在查明核实后，"
    "根据情节严重的程度，可以予以____或者解散。",
    answer=[["改组"]],
    source="disciplinary_regulations",
)
UNRELATED = RelItem.of(
    "Q5",
    "single",
    "国家监察委员会主任由（ ）选举。",
    opts("全国人民代表大会", "全国人民代表大会常务委员会", "国务院", "国家监察委员会全体委员"),
    "A",
    "supervision_law",
)


def reasons(relations):
    return {(r.first, r.second, r.reason) for r in relations}


def test_the_issue_examples_are_found():
    found = find_relations([XIUSHEN_SINGLE, XIUSHEN_MULTIPLE, GAIZU_STEM, GAIZU_FILL, UNRELATED])
    assert ("Q1", "Q2", GIVES_AWAY) in reasons(found)
    assert ("Q4", "Q3", GIVES_AWAY) in reasons(found)
    phrases = {r.phrase for r in found if r.reason == GIVES_AWAY}
    assert any("思想道德境界" in p and "提升" in p for p in phrases)
    assert any(p.startswith("改组") or "予以改组" in p for p in phrases)
    assert not any("Q5" in r.pair for r in found)
    assert related_pairs(found) >= {frozenset({"Q1", "Q2"}), frozenset({"Q3", "Q4"})}


def test_punctuation_spaces_width_and_number_forms_do_not_hide_a_phrase():
    fill = RelItem.of(
        "F",
        "fill_blank",
        "采取管护或者留置措施后，应当在____以内，通知被管护人员、被留置人员所在单位和家属。",
        answer=[["二十四小时", "24小时"]],
    )
    statement = RelItem.of(
        "T",
        "true_false",
        "采取 管护或者留置措施后 ，应当在２４小时以内 通知被管护人员所在单位和家属。",
        answer=True,
    )
    found = find_relations([fill, statement])
    assert ("F", "T", GIVES_AWAY) in reasons(found)


def test_the_answer_alone_without_its_context_is_not_a_giveaway():
    fill = RelItem.of(
        "F", "fill_blank", "党员受到警告处分，____内不得在党内提拔职务。", answer=[["一年"]]
    )
    other = RelItem.of(
        "O",
        "single",
        "预备党员的预备期为（ ）。",
        opts("半年", "一年", "二年", "三年"),
        "B",
    )
    assert find_relations([fill, other]) == []


def test_a_wrong_value_in_the_other_question_is_not_the_answer():
    fill = RelItem.of(
        "F", "fill_blank", "党员受到开除党籍处分，____内不得重新入党。", answer=[["五年"]]
    )
    false_statement = RelItem.of(
        "T", "true_false", "党员受到开除党籍处分，三年内不得重新入党。", answer=False
    )
    assert not [r for r in find_relations([fill, false_statement]) if r.reason == GIVES_AWAY]


def test_numbers_match_whole_numbers_only():
    fill = RelItem.of("F", "fill_blank", "“克己奉公”出自准则第____条的规定。", answer=[["一"]])
    other = RelItem.of("O", "true_false", "“克己奉公”出自准则第十条的规定。", answer=False)
    same = RelItem.of("S", "true_false", "“克己奉公”出自准则第1条的规定。", answer=True)
    found = reasons(find_relations([fill, other, same], threshold=1.01))
    assert found == {("F", "S", GIVES_AWAY)}


def test_each_correct_option_of_a_multiple_choice_question_is_looked_for():
    multiple = RelItem.of(
        "M",
        "multiple",
        "对党的领导干部的问责方式有（ ）。",
        opts("通报", "诫勉", "组织调整或者组织处理", "开除公职"),
        ["A", "B", "C"],
    )
    statement = RelItem.of(
        "T", "true_false", "对党的领导干部的问责方式有诫勉，以谈话或者书面方式进行。", answer=True
    )
    distractor = RelItem.of("D", "true_false", "对党的领导干部的问责方式有开除公职。", answer=False)
    found = reasons(find_relations([multiple, statement, distractor], threshold=1.01))
    assert found == {("M", "T", GIVES_AWAY)}


def test_blank_pieces_are_not_joined_into_a_phrase():
    fill = RelItem.of("F", "fill_blank", "坚持严管和____结合、激励和约束并重。", answer=[["厚爱"]])
    other = RelItem.of("O", "fill_blank", "坚持严管和厚爱结合、激励和____并重。", answer=[["约束"]])
    found = find_relations([fill, other], threshold=1.01)
    # O shows "坚持严管和厚爱": F's answer with its left context
    assert reasons(found) == {("F", "O", GIVES_AWAY)}
    # O's answer has too little context on the right (并重) and its left context
    # (…厚爱结合激励和) is not what F shows: F's pieces around its blank stay apart
    assert all("和结合" not in r.phrase for r in found)


def test_near_duplicates_compare_statements_within_a_source():
    single = RelItem.of(
        "S",
        "single",
        "党员受到开除党籍处分，（ ）内不得重新入党。",
        opts("二年", "三年", "五年", "十年"),
        "C",
        "disciplinary_regulations",
    )
    fill = RelItem.of(
        "F",
        "fill_blank",
        "党员受到开除党籍处分，____内不得重新入党。",
        answer=[["五年", "5年"]],
        source="disciplinary_regulations",
    )
    elsewhere = RelItem.of(
        "E",
        "fill_blank",
        "党员受到开除党籍处分，____内不得重新入党。",
        answer=[["五年"]],
        source="party_constitution",
    )
    generic_a = RelItem.of(
        "GA",
        "single",
        "根据监察法，下列说法正确的是（ ）。",
        opts("监察委员会是专责机关", "监察委员会是司法机关"),
        "A",
        "disciplinary_regulations",
    )
    generic_b = RelItem.of(
        "GB",
        "single",
        "根据监察法，下列说法正确的是（ ）。",
        opts("留置时间不得超过三个月", "留置时间不得超过一年"),
        "A",
        "disciplinary_regulations",
    )
    found = find_relations([single, fill, elsewhere, generic_a, generic_b])
    near = {(r.first, r.second) for r in found if r.reason == NEAR_DUPLICATE}
    assert near == {("S", "F")}
    (rel,) = [r for r in found if r.reason == NEAR_DUPLICATE]
    assert rel.similarity == 1.0
    assert find_relations([fill, elsewhere], same_source=False)[0].reason == NEAR_DUPLICATE


def _brute_force_near_duplicates(items, threshold):
    from question_bank.equivalence import canonical
    from question_bank.relations import _grams

    grams = [_grams(canonical(i.statement())) for i in items]
    result = set()
    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            if items[a].source != items[b].source or not grams[a] or not grams[b]:
                continue
            inter = len(grams[a] & grams[b])
            if inter / len(grams[a] | grams[b]) >= threshold:
                result.add((items[a].key, items[b].key))
    return result


_WORDS = [
    "党员",
    "纪律",
    "处分",
    "监察",
    "机关",
    "应当",
    "给予",
    "警告",
    "严重",
    "开除",
    "一年",
    "五年",
]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([0.3, 0.5, 0.7, 0.9]))
def test_prefix_filtering_finds_exactly_what_comparing_every_pair_finds(seed, threshold):
    rng = random.Random(seed)
    base = ["".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8))) for _ in range(8)]
    items = []
    for n in range(30):
        words = list(rng.choice(base))
        for _ in range(rng.randint(0, 4)):  # small edits make near duplicates
            words[rng.randrange(len(words))] = rng.choice("的和或及")
        items.append(
            RelItem.of(n, "true_false", "".join(words), answer=True, source=rng.choice("ab"))
        )
    index = RelationIndex(items, threshold=threshold)
    found = {(r.first, r.second) for r in index.near_duplicates()}
    assert found == _brute_force_near_duplicates(items, threshold)


def test_relations_of_one_new_question_match_a_full_recomputation():
    bank = [XIUSHEN_SINGLE, XIUSHEN_MULTIPLE, GAIZU_STEM, UNRELATED]
    index = RelationIndex(bank)
    new = GAIZU_FILL
    incremental = reasons(index.relations_of(new))
    full = {t for t in reasons(find_relations([*bank, new])) if new.key in (t[0], t[1])}
    assert incremental == full and incremental
    # an edited question is compared with the others, not with its own old version
    edited = RelItem.of(
        "Q1", "single", XIUSHEN_SINGLE.stem, opts("思想道德境界", "甲", "乙", "丙"), "A"
    )
    again = index.relations_of(edited)
    assert ("Q1", "Q2", GIVES_AWAY) in reasons(again)
    assert all(r.first != r.second for r in again)


def test_relations_serialise_with_their_reason():
    (rel,) = [
        r for r in find_relations([XIUSHEN_SINGLE, XIUSHEN_MULTIPLE]) if r.reason == GIVES_AWAY
    ]
    data = rel.as_dict()
    assert data["reason"] == "gives_away" and "思想道德境界" in data["phrase"]
    assert "Q2" in rel.describe() and "Q1" in rel.describe()
