"""The notice's 'weak' rule against hand-computed fixtures (issue 12, item 6)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import stats
from analysis.notice import content, weak

#: six laws at 69–71 %, five questions each, 2,000 answers a question
SIX_LAWS = {
    "甲法": [0.59, 0.64, 0.69, 0.74, 0.79],  # 69 %
    "乙法": [0.60, 0.65, 0.70, 0.75, 0.80],  # 70 %
    "丙法": [0.60, 0.65, 0.70, 0.75, 0.80],  # 70 %
    "丁法": [0.61, 0.66, 0.71, 0.76, 0.81],  # 71 %
    "戊法": [0.61, 0.66, 0.71, 0.76, 0.81],  # 71 %
    "己法": [0.60, 0.65, 0.70, 0.75, 0.80],  # 70 %
}


def responses(laws: dict[str, list[float]], answers: dict[str, int] | int, kps=None):
    """One row per answer: question j of law L answered ``answers`` times, the first
    round(f·n) answers right (1 mark of 1)."""
    rows = []
    version = 0
    for law, facilities in laws.items():
        n = answers if isinstance(answers, int) else answers[law]
        for f in facilities:
            version += 1
            right = round(f * n)
            marks = np.r_[np.ones(right), np.zeros(n - right)]
            rows.append(
                pd.DataFrame(
                    {
                        "attempt_id": np.arange(n),
                        "version_id": version,
                        "marks": marks,
                        "max_marks": 1.0,
                        "source_name": law,
                        "knowledge_points": (kps or {}).get(law, law + "要点"),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_six_laws_between_69_and_71_percent_are_not_weak():
    df = responses(SIX_LAWS, 2000)
    overall = weak.overall_mastery(df)
    # by hand: the mean of the 30 item facilities
    assert overall == pytest.approx(np.mean([f for v in SIX_LAWS.values() for f in v]))
    assert overall == pytest.approx(0.70166667, abs=1e-6)
    t = weak.assess(df, "source_name")
    assert list(t["category"])[0] == "甲法" and t.loc[0, "facility"] == pytest.approx(0.69)
    assert t["enough"].all() and not t["weak"].any()
    # the fixture matters: a Wilson interval on the 10,000 answers alone would have called
    # 甲法 weak (its upper end 69.9 % is below 70.17 %)
    lo, hi = stats.wilson_interval(0.69 * 10000, 10000)
    assert hi < overall
    # by hand for 甲法: s² = (0.01 + 0.0025 + 0 + 0.0025 + 0.01) / 4 = 0.00625, v = s²/5 =
    # 0.00125, n_eff = 0.69 · 0.31 / 0.00125 = 171.12 (< 10,000 answers)
    row = t.iloc[0]
    assert row["n_eff"] == pytest.approx(171.12)
    assert row["hi"] > overall


def test_one_law_clearly_below_with_enough_data_is_weak_and_small_ones_are_not():
    laws = dict(SIX_LAWS)
    laws["庚法"] = [0.30, 0.40, 0.45, 0.50, 0.35]  # 40 %, 5 questions, 500 answers
    laws["辛法"] = [0.10, 0.10]  # 10 %, but only 2 questions
    laws["壬法"] = [0.25, 0.125, 0.25]  # 20.8 %, 3 questions but 8 answers each (24 < 30)
    answers = {k: 2000 for k in SIX_LAWS} | {"庚法": 100, "辛法": 100, "壬法": 8}
    df = responses(laws, answers)
    t = weak.assess(df, "source_name").set_index("category")
    assert list(t.index[t["weak"]]) == ["庚法"]
    assert not t.loc["辛法", "enough"] and not t.loc["壬法", "enough"]
    assert t.loc["壬法", "n_answers"] == 24 and t.loc["辛法", "n_items"] == 2
    # by hand for 庚法: s² = 0.025 / 4 = 0.00625, v = 0.00125, n_eff = 0.24 / 0.00125 = 192;
    # Wilson(0.4, 192): centre 0.401962, half-width 0.068642 -> 33.33 %–47.06 %
    g = t.loc["庚法"]
    assert g["n_eff"] == pytest.approx(192)
    assert g["lo"] == pytest.approx(0.33332, abs=2e-4)
    assert g["hi"] == pytest.approx(0.47060, abs=2e-4)
    overall = weak.overall_mastery(df)
    n_items = sum(len(v) for v in laws.values())
    assert overall == pytest.approx(sum(f for v in laws.values() for f in v) / n_items)
    assert g["hi"] < overall


def test_knowledge_point_on_one_question_is_never_weak():
    laws = dict(SIX_LAWS) | {"庚法": [0.10]}
    df = responses(laws, 2000, kps={"庚法": "单题要点"})
    t = weak.assess(df, "knowledge_points").set_index("category")
    assert t.loc["单题要点", "facility"] == pytest.approx(0.10)
    assert not t.loc["单题要点", "enough"] and not t.loc["单题要点", "weak"]


def test_interval_of_identical_facilities_is_bounded_by_the_answers():
    lo, hi, n_eff = weak.interval([0.4, 0.4, 0.4], 30)
    assert n_eff == 30
    assert (lo, hi) == pytest.approx(stats.wilson_interval(12, 30))
    assert math.isnan(weak.overall_mastery(pd.DataFrame()))


def test_sentences_name_only_the_weak_ones():
    rows = [
        {"name": "庚法", "value": 0.4, "facility": "40.0%", "interval": "33.3%–47.1%",
         "n_items": 5, "n_answers": 500, "enough": True, "weak": True},
        {"name": "甲法", "value": 0.69, "facility": "69.0%", "interval": "60.0%–76.0%",
         "n_items": 5, "n_answers": 10000, "enough": True, "weak": False},
    ]  # fmt: skip
    s = content._weak_sentence(rows, "法规", "66.0%")
    assert "庚法" in s and "甲法" not in s and "明显低于总体水平（66.0%）" in s
    rows[0]["weak"] = False
    s = content._weak_sentence(rows, "法规", "66.0%")
    assert "均未明显低于" in s and "40.0%–69.0%" in s
    assert "不足以判断" in content._weak_sentence([dict(rows[0], enough=False)], "知识点", "66.0%")


@pytest.mark.parametrize("by", ["source_name", "knowledge_points"])
def test_mastery_figures_agree_with_the_report(by):
    from tests.analysis.test_stats import frame

    df = frame()
    mine = weak.assess(df, by).set_index("category")
    theirs = stats.mastery(df, by).set_index("category")
    assert set(mine.index) == set(theirs.index)
    for cat, row in theirs.iterrows():
        assert mine.loc[cat, "facility"] == pytest.approx(row["facility"])
        assert mine.loc[cat, "n_items"] == row["n_items"]
        assert mine.loc[cat, "n_answers"] == row["n_responses"]
