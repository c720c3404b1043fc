"""Every statistic against a tiny hand-computed fixture (no database)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import items, report, stats

# 5 attempts × 3 one-point items (same paper):
#   A1: 1 1 1 | A2: 1 1 0 | A3: 1 0 0 | A4: 0 1 0 | A5: 0 0 0
MATRIX = [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]]
UNITS = ["甲镇", "甲镇", "乙局", "乙局", "乙局"]
RANKS = ["乡科级", "乡科级", "乡科级", "一般干部", "一般干部"]
SOURCES = ["刑法", "刑法", "监察法"]
KPS = ["受贿罪", "受贿罪、留置", "留置"]
# chosen authored option per attempt × item (key of items 1 and 2: "A"; item 3 true/false)
CHOSEN = [["A", "A", "对"], ["A", "A", "错"], ["A", "B", "错"], ["C", "A", "错"], ["B", "", "错"]]


def frame() -> pd.DataFrame:
    rows = []
    for a, marks in enumerate(MATRIX, start=1):
        for i, m in enumerate(marks, start=1):
            rows.append(
                {
                    "exam_id": 1, "attempt_id": a, "person_no": f"P{a}", "person_name": f"张三{a}",
                    "unit_code": "u", "unit_name": UNITS[a - 1], "unit_kind": "镇",
                    "top_unit_code": UNITS[a - 1], "top_unit_name": UNITS[a - 1],
                    "top_unit_kind": "镇" if UNITS[a - 1] == "甲镇" else "部门",
                    "rank": RANKS[a - 1], "position": i, "question_id": i, "version_id": 10 + i,
                    "question_code": f"Q{i}", "source_code": "", "source_name": SOURCES[i - 1],
                    "knowledge_points": KPS[i - 1], "type": "true_false" if i == 3 else "single",
                    "n_options": 0 if i == 3 else 4, "marks": float(m), "max_marks": 1.0,
                    "response": "", "chosen": CHOSEN[a - 1][i - 1],
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_wilson_matches_closed_form():
    z = 1.959963984540054
    for k, n in [(8, 10), (0, 7), (7, 7), (33, 120)]:
        p = k / n
        # roots of (1 + z²/n)π² − (2p + z²/n)π + p² = 0 (|p − π| = z·sqrt(π(1−π)/n))
        a, b, c = 1 + z * z / n, -(2 * p + z * z / n), p * p
        disc = math.sqrt(b * b - 4 * a * c)
        lo, hi = (-b - disc) / (2 * a), (-b + disc) / (2 * a)
        got = stats.wilson_interval(k, n)
        assert got == pytest.approx((lo, hi), abs=1e-12)
    assert stats.wilson_interval(8, 10) == pytest.approx((0.4901625, 0.9433178), abs=1e-6)
    assert all(math.isnan(v) for v in stats.wilson_interval(0, 0))


def test_skewness_kurtosis_are_the_unbiased_k_statistics():
    x = np.array([2.0, 3.0, 3.0, 5.0, 8.0, 13.0, 1.0])
    n = len(x)
    d = x - x.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    k2 = n / (n - 1) * m2
    k3 = n * n / ((n - 1) * (n - 2)) * m3
    k4 = n * n * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3))
    assert stats.skewness(x) == pytest.approx(k3 / k2**1.5, rel=1e-12)
    assert stats.kurtosis(x) == pytest.approx(k4 / k2**2, rel=1e-12)
    assert math.isnan(stats.skewness([1, 2])) and math.isnan(stats.kurtosis([1, 2, 3]))


def test_overall_figures_by_hand():
    r = report.compute(frame(), pass_mark=2, total_points=3)
    o = r.overall
    assert o["n"] == 5 and o["mean"] == pytest.approx(1.4) and o["median"] == 1
    assert o["sd"] == pytest.approx(math.sqrt(1.3))
    assert o["passed"] == 2 and o["pass_rate"] == pytest.approx(0.4)
    assert (o["pass_lo"], o["pass_hi"]) == pytest.approx(stats.wilson_interval(2, 5))


def test_cronbach_alpha_by_hand():
    # item variances 0.3, 0.3, 0.2; total variance 1.3: alpha = 3/2 · (1 − 0.8/1.3) = 15/26
    r = report.compute(frame(), pass_mark=2)
    assert r.reliability["alpha"] == pytest.approx(15 / 26)
    assert r.reliability["method"] == "KR-20"
    assert r.reliability["error_ratio"] == pytest.approx(math.sqrt(1 - 15 / 26))
    assert r.reliability["sem"] == pytest.approx(math.sqrt(1 - 15 / 26) * math.sqrt(1.3))
    # independent check: alpha from the covariance matrix
    m = np.array(MATRIX, dtype=float)
    cov = np.cov(m, rowvar=False)
    p = m.shape[1]
    assert items.cronbach_alpha(pd.DataFrame(m)) == pytest.approx(
        p / (p - 1) * (1 - np.trace(cov) / cov.sum())
    )


def test_item_analysis_by_hand():
    t = items.item_analysis(frame()).set_index("version_id")
    assert t.loc[11, "facility"] == pytest.approx(0.6)
    assert t.loc[13, "facility"] == pytest.approx(0.2)
    assert t.loc[11, "sd"] == pytest.approx(math.sqrt(0.3))
    # corrected point-biserial: corr(x, T − x) by hand = 0.15 / sqrt(0.3 · 0.7)
    assert t.loc[11, "discrimination"] == pytest.approx(100 * 0.15 / math.sqrt(0.21))
    m = np.array(MATRIX, dtype=float)
    for i, vid in enumerate([11, 12, 13]):
        rest = m.sum(axis=1) - m[:, i]
        assert t.loc[vid, "discrimination"] == pytest.approx(100 * np.corrcoef(m[:, i], rest)[0, 1])
    # discriminative efficiency: cov 0.15 against the sorted maximum 0.4
    assert t.loc[11, "efficiency"] == pytest.approx(37.5)
    # weights: cov(x, T) = 0.45, 0.45, 0.40
    root = 2 * math.sqrt(0.45) + math.sqrt(0.4)
    assert t.loc[11, "effective_weight"] == pytest.approx(100 * math.sqrt(0.45) / root)
    assert t.loc[13, "effective_weight"] == pytest.approx(100 * math.sqrt(0.4) / root)
    assert t.loc[11, "intended_weight"] == pytest.approx(100 / 3)
    assert t.loc[11, "guess"] == pytest.approx(0.25)
    assert t.loc[13, "guess"] == pytest.approx(0.5)
    assert "易猜中" in t.loc[13, "flags"] and "作答人数少" in t.loc[11, "flags"]


def test_guess_scores():
    assert items.guess_score("multiple", 4) == pytest.approx(1 / 15)
    assert items.guess_score("fill_blank", 0) == 0
    assert items.discrimination_label(45) == "很好" and items.discrimination_label(-3).startswith(
        "负"
    )


def test_option_analysis_top_and_bottom_groups():
    r = report.compute(frame(), pass_mark=2)
    # 27 % of 5 attempts = 1: top A1 (score 3), bottom A5 (score 0)
    o = r.option_table.set_index(["version_id", "option"])
    assert o.loc[(11, "A"), "top"] == 1.0 and o.loc[(11, "A"), "bottom"] == 0.0
    assert o.loc[(11, "B"), "bottom"] == 1.0
    assert o.loc[(11, "A"), "all"] == pytest.approx(0.6)
    assert bool(o.loc[(11, "A"), "is_key"]) and not bool(o.loc[(11, "C"), "is_key"])
    assert o.loc[(12, "未答"), "bottom"] == 1.0
    assert o.loc[(13, "对"), "top"] == 1.0


def test_mastery_item_weighted_with_reliability_flag():
    src = stats.mastery(frame(), "source_name").set_index("category")
    assert src.loc["刑法", "facility"] == pytest.approx(0.6)  # mean of 0.6 and 0.6
    assert src.loc["监察法", "facility"] == pytest.approx(0.2)
    assert src.loc["刑法", "n_items"] == 2 and src.loc["刑法", "n_attempts"] == 5
    assert bool(src.loc["刑法", "unreliable"])  # fewer than 5 items
    kp = stats.mastery(frame(), "knowledge_points").set_index("category")
    assert kp.loc["留置", "facility"] == pytest.approx((0.6 + 0.2) / 2)  # items 2 and 3
    assert kp.loc["受贿罪", "n_items"] == 2
    assert list(src.index) == ["监察法", "刑法"]  # weakest first


def test_shrunk_unit_means_by_hand():
    scores = pd.DataFrame(
        {"attempt_id": range(5), "top_unit_name": ["U1", "U1", "U2", "U2", "U2"],
         "pct": [50.0, 70.0, 80.0, 90.0, 100.0], "passed": [False, True, True, True, True]}
    )  # fmt: skip
    t = stats.by_group(scores, "top_unit_name").set_index("top_unit_name")
    sigma2 = (200 * 1 + 100 * 2) / 3
    tau2 = np.var([60, 90], ddof=1) - (sigma2 / 2 + sigma2 / 3) / 2
    b1 = (sigma2 / 2) / (sigma2 / 2 + tau2)
    assert t.loc["U1", "B"] == pytest.approx(b1)
    assert t.loc["U1", "shrunk_mean"] == pytest.approx(b1 * 78 + (1 - b1) * 60)
    assert bool(t.loc["U1", "small_n"])
    assert t.loc["U2", "pass_rate"] == 1.0 and t.loc["U2", "pass_lo"] < 1.0
    # no real difference between units: tau² = 0, every mean shrinks to the grand mean
    same = pd.DataFrame({"attempt_id": range(4), "top_unit_name": ["a", "a", "b", "b"],
                         "pct": [0.0, 100.0, 0.0, 100.0], "passed": [False, True] * 2})  # fmt: skip
    s = stats.by_group(same, "top_unit_name")
    assert s["B"].tolist() == [1.0, 1.0] and s["shrunk_mean"].tolist() == [50.0, 50.0]


def test_self_vs_centralized_gap_and_noise():
    scores = pd.DataFrame({"top_unit_name": ["U1"] * 4 + ["U2"] * 4,
                           "pct": [60, 62, 58, 60, 80, 70, 90, 60.0]})  # fmt: skip
    selfr = pd.DataFrame({"top_unit_name": ["U1"] * 4 + ["U2"] * 3,
                          "pct": [95, 97, 93, 95, 85, 65, 75.0]})  # fmt: skip
    t = stats.self_vs_centralized(scores, selfr).set_index("unit")
    se1 = math.sqrt(np.var([95, 97, 93, 95], ddof=1) / 4 + np.var([60, 62, 58, 60], ddof=1) / 4)
    assert t.loc["U1", "gap"] == pytest.approx(35) and t.loc["U1", "gap_se"] == pytest.approx(se1)
    assert bool(t.loc["U1", "beyond_noise"])
    assert not bool(t.loc["U2", "beyond_noise"])  # 75 vs 75: within noise


def test_score_step_and_unit_source_matrix():
    df = frame()
    assert stats.score_step(df) == 1.0
    df2 = df.assign(marks=df["marks"] * 2.5, max_marks=5.0)
    assert stats.score_step(df2) == 2.5
    m = stats.unit_source_matrix(df)
    assert m.loc["甲镇", "刑法"] == pytest.approx(100.0)  # A1, A2 got both criminal-law items
    assert m.loc["乙局", "监察法"] == pytest.approx(0.0)


def test_report_json_has_no_nan():
    import json

    data = report.compute(frame(), pass_mark=2).to_json()
    text = json.dumps(data, allow_nan=False, ensure_ascii=False)
    assert "by_unit" in data and "items" in data and "NaN" not in text
