"""Bank lint: answer cues, referring options, explanations, number forms, related pairs."""

from __future__ import annotations

import csv
import io
import json

import pytest

from question_bank.lint import (
    ERROR,
    INFO,
    WARNING,
    LintItem,
    explanation_states_answer,
    file_items,
    has_absolute_word,
    lint,
)
from question_bank.options import (
    misplaced_referring_keys,
    pinned_option_keys,
    refers_by_letter,
    refers_to_others,
)
from question_bank.starter import starter_files
from question_bank.template import TEMPLATE_HEADERS

# ------------------------------------------------------------------ options


@pytest.mark.parametrize(
    "text",
    [
        "以上都对",
        "以上三种情形都要求数额较大",
        "都不对",
        "均不正确",
        "以上皆是",
        "以上皆非",
        "以上说法均正确",
        "上述各项均是",
        "以上全部",
        "全对",
        "三者都对",
        "两种情形均可",
        "其他选项都对",
        "前三项都正确",
        "所有选项均正确",
        "以上情况都有可能",
        "以上都不是",
    ],
)
def test_options_that_refer_to_the_others(text):
    assert refers_to_others(text)


@pytest.mark.parametrize(
    "text",
    [
        "十年以上有期徒刑",
        "县级以上监察机关",
        "其他有关人员",
        "全部参与者",
        "以其他手段非法占有",
        "均衡发展",
        "全面从严治党",
        "应当与其他班子成员同等问责",
        "前款规定的人员",
        "前三个月",
    ],
)
def test_ordinary_options_do_not_refer_to_the_others(text):
    assert not refers_to_others(text)


def test_options_that_name_others_by_letter():
    assert refers_by_letter("A和B") and refers_by_letter("ABC均正确")
    assert refers_by_letter("B项和C项")
    assert not refers_by_letter("GDP") and not refers_by_letter("A")


def test_pinned_option_keys_keep_the_generation_contract():
    opts = [
        {"key": k, "text": t}
        for k, t in zip("ABCD", ["甲", "乙", "丙", "以上三种情形都对"], strict=True)
    ]
    assert pinned_option_keys(opts) == ("D",)
    by_letter = [*opts[:3], {"key": "D", "text": "A和B"}]
    assert pinned_option_keys(by_letter) is None
    assert pinned_option_keys(opts[:3]) == ()
    assert misplaced_referring_keys(opts) == ()
    swapped = [opts[3], *opts[:3]]
    assert misplaced_referring_keys(swapped) == ("D",)


# ------------------------------------------------------------------ pure checks


def single(
    code, answer, source="s", explanation=None, texts=("甲方案", "乙方案", "丙方案", "丁方案")
):
    options = [{"key": k, "text": t} for k, t in zip("ABCD", texts, strict=True)]
    key_text = dict(zip("ABCD", texts, strict=True))[answer]
    return LintItem.of(
        code,
        "single",
        f"第{code}题（ ）。",
        options,
        answer,
        explanation or f"答案：{key_text}。",
        source,
    )


def multiple(code, answer, source="s"):
    texts = ["甲方案", "乙方案", "丙方案", "丁方案"]
    options = [{"key": k, "text": t} for k, t in zip("ABCD", texts, strict=True)]
    expl = "、".join(dict(zip("ABCD", texts, strict=True))[k] for k in answer)
    return LintItem.of(code, "multiple", f"多选{code}（ ）。", options, list(answer), expl, source)


def tf(code, stem, answer, source="s"):
    return LintItem.of(
        code, "true_false", stem, None, answer, "正确。" if answer else "错误。", source
    )


def checks(report, severity=None):
    return {f.check for f in report.findings if severity is None or f.severity == severity}


def test_a_balanced_bank_has_no_cue():
    items = [single(f"S{n}", "ABCD"[n % 4]) for n in range(24)]
    items += [multiple(f"M{n}", ["AB", "ABC", "ABCD", "BD"][n % 4]) for n in range(12)]
    items += [tf(f"T{n}", f"党员必须履行第{n}项义务。", n % 2 == 0) for n in range(10)]
    report = lint(items)
    assert report.cues() == [] and not report.has_errors
    assert report.figures["positions"]["shares"] == {k: 0.25 for k in "ABCD"}


def test_position_bias_names_the_questions_at_the_overused_position():
    items = [single(f"S{n}", "A" if n < 12 else "BCD"[n % 3]) for n in range(24)]
    report = lint(items)
    (finding,) = [f for f in report.findings if f.check == "position_bias"]
    assert finding.severity == ERROR and report.has_errors
    assert set(finding.codes) == {f"S{n}" for n in range(12)}
    assert "A 50%" in finding.message


def test_position_bias_is_checked_per_source_too():
    # balanced over the bank, biased within each source
    items = [single(f"X{n}", "AB"[n % 2], source="x") for n in range(20)]
    items += [single(f"Y{n}", "CD"[n % 2], source="y") for n in range(20)]
    report = lint(items)
    scopes = {f.scope for f in report.findings if f.check == "position_bias"}
    assert scopes == {"x", "y"}


def test_too_few_items_are_not_judged():
    assert lint([single(f"S{n}", "A") for n in range(5)]).cues() == []


def test_key_size_bias():
    items = [multiple(f"M{n}", "ABC" if n < 7 else "AB") for n in range(12)]
    (finding,) = [f for f in lint(items).findings if f.check == "key_size_bias"]
    assert set(finding.codes) == {f"M{n}" for n in range(7)}
    assert lint([multiple(f"M{n}", "ABC" if n < 6 else "AB") for n in range(12)]).cues() == []


def test_absolute_words_that_always_mean_false():
    items = [tf(f"T{n}", f"党员一律不得从事第{n}类活动。", False) for n in range(6)]
    items += [tf(f"U{n}", f"党员应当参加第{n}次组织生活。", n % 2 == 0) for n in range(6)]
    report = lint(items)
    (finding,) = [f for f in report.findings if f.check == "absolute_words"]
    assert set(finding.codes) == {f"T{n}" for n in range(6)}
    # some of them true (as the text says): no cue
    items[0] = tf("T0", "党员必须履行党章规定的义务。", True)
    items[1] = tf("T1", "任何党员不得凌驾于组织之上。", True)
    assert "absolute_words" not in checks(lint(items))


def test_absolute_word_detection():
    assert has_absolute_word("一律给予开除党籍处分")
    assert has_absolute_word("所有党员都应当参加")
    assert has_absolute_word("监察机关只能采取留置措施")
    assert not has_absolute_word("首都的平均水平")
    assert not has_absolute_word("党员应当参加组织生活")


def test_true_false_balance():
    items = [tf(f"T{n}", f"陈述{n}。", n < 8) for n in range(10)]
    (finding,) = [f for f in lint(items).findings if f.check == "true_false_balance"]
    assert finding.severity == WARNING and len(finding.codes) == 8


def test_an_option_that_refers_to_the_others_must_be_last():
    texts = (
        "以上三种情形都要求数额较大",
        "挪用公款进行非法活动",
        "挪用公款进行营利活动",
        "超过三个月未还",
    )
    item = single("Q1", "B", texts=texts)
    (finding,) = [f for f in lint([item]).findings if f.check == "referring_option_not_last"]
    assert finding.severity == ERROR and finding.codes == ("Q1",) and "A" in finding.message
    fixed = single("Q1", "A", texts=(*texts[1:], texts[0]))
    assert "referring_option_not_last" not in checks(lint([fixed]))


def test_fill_in_numbers_without_equivalent_forms():
    ok = LintItem.of("F1", "fill_blank", "超过____未还", None, [["三个月"]], "超过三个月未还")
    bad = LintItem.of("F2", "fill_blank", "约____人", None, [["三四十"]], "约三四十人")
    report = lint([ok, bad])
    (finding,) = [f for f in report.findings if f.check == "fill_number_forms"]
    assert finding.codes == ("F2",) and "三四十" in finding.message


def test_explanations_must_state_the_answer():
    texts = ("党委（党组）", "纪委", "组织部门", "宣传部门")
    stated = single(
        "S1", "A", texts=texts, explanation="问责条例规定，党委（党组）应当履行主体责任。"
    )
    silent = single("S2", "A", texts=texts, explanation="问责条例第四条作了规定。")
    assert explanation_states_answer(stated) and not explanation_states_answer(silent)
    fill = LintItem.of(
        "F", "fill_blank", "超过____未还", None, [["三个月", "3个月"]], "超过3个月未还的"
    )
    assert explanation_states_answer(fill)  # any accepted form, any way of writing numbers
    assert not explanation_states_answer(
        LintItem.of("F", "fill_blank", "超过____未还", None, [["三个月"]], "超过一年未还的")
    )
    false_tf = LintItem.of(
        "T",
        "true_false",
        "改组是对党的领导干部的问责方式。",
        None,
        False,
        "问责条例第八条规定，改组是对党组织的问责方式。",
    )
    assert not explanation_states_answer(false_tf)
    assert explanation_states_answer(
        LintItem.of(
            "T", "true_false", false_tf.stem, None, False, "错误。改组是对党组织的问责方式。"
        )
    )
    two_blanks = single(
        "S3",
        "A",
        texts=("领导；指导", "指导；领导", "领导；领导", "指导；指导"),
        explanation="国家监察委员会领导地方各级监察委员会的工作，上级监察委员会指导……",
    )
    assert explanation_states_answer(two_blanks)
    report = lint([silent])
    assert [f.codes for f in report.findings if f.check == "explanation_without_answer"] == [
        ("S2",)
    ]


def test_explanations_naming_option_letters_are_flagged():
    item = single("S1", "A", explanation="甲方案正确，B项错误。")
    assert "explanation_names_letter" in checks(lint([item]), WARNING)


def test_related_pairs_are_listed_as_information():
    a = LintItem.of(
        "Q1",
        "fill_blank",
        "对于不能纠正的党组织，可以予以____或者解散。",
        None,
        [["改组"]],
        "可以予以改组或者解散。",
        "p",
    )
    b = LintItem.of(
        "Q2",
        "true_false",
        "对于不能纠正的党组织，上级党委可以予以改组或者解散。",
        None,
        True,
        "正确。",
        "p",
    )
    report = lint([a, b])
    related = [f for f in report.findings if f.check == "related_pair"]
    assert related and all(f.severity == INFO for f in related)
    assert {"Q1", "Q2"} == set(related[0].codes)
    assert report.figures["related"]["pairs"] == 1
    assert not report.has_errors


# ------------------------------------------------------------------ CLI and files


def _add_biased_bank(make_question, n=20):
    versions = []
    for i in range(n):
        texts = [f"第{i}题的第{k}个选项" for k in range(4)]
        v = make_question(
            type="single",
            options=[{"key": k, "text": t} for k, t in zip("ABCD", texts, strict=True)],
            answer="A",
            stem=f"第{i}题问的是（ ）。",
        )
        v.explanation = f"答案：{texts[0]}。"
        versions.append(v)
    return versions


def test_cli_lint_names_the_questions_and_fails_on_errors(runner, session, make_question):
    versions = _add_biased_bank(make_question)
    result = runner.invoke(["bank", "lint", "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    (finding,) = [f for f in data["findings"] if f["check"] == "position_bias"]
    assert set(finding["codes"]) == {v.question.code for v in versions}
    assert data["figures"]["positions"]["counts"] == {"A": 20, "B": 0, "C": 0, "D": 0}
    text = runner.invoke(["bank", "lint"])
    assert text.exit_code == 1 and "答案位置偏倚" in text.output
    assert versions[0].question.code in text.output


def test_cli_lint_passes_a_bank_without_errors(runner, session, make_question):
    for i in range(8):
        v = make_question(type="true_false", stem=f"第{i}条陈述。", answer=i % 2 == 0)
        v.explanation = "正确。" if i % 2 == 0 else "错误。"
    result = runner.invoke(["bank", "lint"])
    assert result.exit_code == 0, result.output
    assert "错误 0 项" in result.output


def _csv(rows) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(TEMPLATE_HEADERS)
    for row in rows:
        writer.writerow([row.get(h, "") for h in TEMPLATE_HEADERS])
    return buf.getvalue().encode("utf-8-sig")


def test_cli_lint_a_file_before_importing_it(runner, tmp_path, sources):
    rows = [
        {
            "题型": "判断",
            "题干": f"党员一律不得从事第{i}类经营活动。",
            "答案": "错",
            "解析": "错误。",
            "出处": "纪律处分条例",
        }
        for i in range(6)
    ]
    rows.append({"题型": "单选", "题干": "坏行（ ）", "答案": "E", "选项A": "甲", "选项B": "乙"})
    path = tmp_path / "bank.csv"
    path.write_bytes(_csv(rows))
    result = runner.invoke(["bank", "lint", str(path), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    (finding,) = [f for f in data["findings"] if f["check"] == "absolute_words"]
    assert finding["codes"] == [f"第{n}行" for n in range(2, 8)]
    assert len(data["rejected_rows"]) == 1 and "第8行" in data["rejected_rows"][0]


def test_the_starter_bank_has_no_cue(session, sources):
    items = []
    for path in starter_files():
        found, rejected = file_items(session, path)
        assert rejected == []
        items += [
            LintItem(
                f"{path.stem}:{i.code}",
                i.type,
                i.stem,
                i.options,
                i.answer,
                i.explanation,
                i.source,
            )
            for i in found
        ]
    report = lint(items)
    assert [f"{f.check} {f.scope} {f.message}" for f in report.cues()] == []
    shares = report.figures["positions"]["shares"]
    assert all(0.15 <= s <= 0.35 for s in shares.values())
