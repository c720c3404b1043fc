"""Score statistics over the response DataFrame (``analysis.loading``): pure functions.

Definitions follow ``shared/design/STATISTICS.md``. Every pass rate carries a Wilson
95 % interval; unit means are shrunk towards the grand mean before anyone ranks them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
#: groups smaller than this get a small-n flag (their figures are mostly noise)
SMALL_N = 10
#: a mastery sub-score built on fewer items than this is flagged as unreliable
FEW_ITEMS = 5


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (never the Wald interval)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def skewness(x) -> float:
    """Unbiased sample skewness k3 / k2^1.5 (scipy ``skew(bias=False)``)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 3:
        return math.nan
    d = x - x.mean()
    m2, m3 = (d**2).mean(), (d**3).mean()
    if m2 == 0:
        return math.nan
    g1 = m3 / m2**1.5
    return float(math.sqrt(n * (n - 1)) / (n - 2) * g1)


def kurtosis(x) -> float:
    """Unbiased excess kurtosis k4 / k2² (scipy ``kurtosis(bias=False)``)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 4:
        return math.nan
    d = x - x.mean()
    m2, m4 = (d**2).mean(), (d**4).mean()
    if m2 == 0:
        return math.nan
    g2 = m4 / m2**2 - 3
    return float(((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)))


def attempt_scores(responses: pd.DataFrame, pass_mark: float | None) -> pd.DataFrame:
    """One row per attempt: who, where, score, max, percentage, passed.

    ``pass_mark`` None: the scores are a part of the paper (one law source, one
    knowledge point), to which the paper's pass mark does not apply: ``passed`` is NA."""
    if responses.empty:
        return pd.DataFrame(
            columns=["attempt_id", "exam_id", "person_no", "person_name", "unit_name",
                     "top_unit_code", "top_unit_name", "top_unit_kind", "rank", "score",
                     "max_score", "pct", "passed"]
        )  # fmt: skip
    g = responses.groupby("attempt_id", sort=True, observed=True)
    scores = g.agg(score=("marks", "sum"), max_score=("max_marks", "sum"))
    first = g[
        ["exam_id", "person_no", "person_name", "unit_name", "top_unit_code", "top_unit_name",
         "top_unit_kind", "rank"]
    ].first()  # fmt: skip
    out = first.join(scores).reset_index()
    for c in ("person_no", "unit_name", "top_unit_code", "top_unit_name", "top_unit_kind", "rank"):
        out[c] = out[c].astype(str)
    out["score"] = out["score"].round(6)
    out["pct"] = 100.0 * out["score"] / out["max_score"].where(out["max_score"] > 0)
    if pass_mark is None:
        out["passed"] = pd.Series(pd.NA, index=out.index, dtype="boolean")
    else:
        out["passed"] = out["score"] >= pass_mark - 1e-9
    return out


def describe(values, passed=None) -> dict:
    """n, mean, median, SD (n-1), skewness, kurtosis, min, max; pass rate with Wilson."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    out = {
        "n": n,
        "mean": float(x.mean()) if n else math.nan,
        "median": float(np.median(x)) if n else math.nan,
        "sd": float(x.std(ddof=1)) if n > 1 else math.nan,
        "skewness": skewness(x),
        "kurtosis": kurtosis(x),
        "min": float(x.min()) if n else math.nan,
        "max": float(x.max()) if n else math.nan,
    }
    if passed is not None:
        k = int(np.asarray(passed, dtype=bool).sum())
        lo, hi = wilson_interval(k, n)
        out.update(passed=k, pass_rate=k / n if n else math.nan, pass_lo=lo, pass_hi=hi)
    return out


def shrinkage(groups: pd.DataFrame, grand_mean: float) -> pd.DataFrame:
    """Empirical-Bayes shrinkage of group means (columns n, mean, var).

    σ² is the pooled within-group variance, τ² the between-group variance of true means
    (method of moments, floored at 0); B = (σ²/n)/(σ²/n + τ²) and
    shrunk = B·grand + (1 − B)·mean.
    """
    g = groups.copy()
    n = g["n"].astype(float)
    dof = (n - 1).clip(lower=0)
    sigma2 = float((g["var"].fillna(0) * dof).sum() / dof.sum()) if dof.sum() > 0 else 0.0
    k = len(g)
    if k > 1:
        tau2 = float(g["mean"].var(ddof=1) - (sigma2 / n).mean())
    else:
        tau2 = 0.0
    tau2 = max(tau2, 0.0)
    noise = sigma2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(noise + tau2 > 0, noise / (noise + tau2), 0.0)
    g["B"] = b
    g["shrunk_mean"] = b * grand_mean + (1 - b) * g["mean"]
    g["se"] = np.sqrt(noise)
    # funnel: is the raw mean outside grand ± 1.96·σ/√n (beyond what chance explains)?
    g["funnel_lo"] = grand_mean - Z95 * np.sqrt(noise)
    g["funnel_hi"] = grand_mean + Z95 * np.sqrt(noise)
    g["beyond_noise"] = (g["mean"] < g["funnel_lo"]) | (g["mean"] > g["funnel_hi"])
    g.attrs.update(sigma2=sigma2, tau2=tau2)
    return g


def by_group(scores: pd.DataFrame, column: str, order: list[str] | None = None) -> pd.DataFrame:
    """n, mean, median, SD, pass rate with Wilson interval, shrunk mean and flags per group.
    Means are on the percentage scale (comparable across papers)."""
    if scores.empty:
        return pd.DataFrame(
            columns=[column, "n", "mean", "median", "sd", "passed", "pass_rate", "pass_lo",
                     "pass_hi", "B", "shrunk_mean", "small_n", "beyond_noise"]
        )  # fmt: skip
    g = scores.groupby(column, observed=True, sort=True)
    t = g.agg(
        n=("pct", "size"),
        mean=("pct", "mean"),
        median=("pct", "median"),
        sd=("pct", "std"),
        var=("pct", "var"),
        passed=("passed", "sum"),
    ).reset_index()
    if scores["passed"].isna().all():  # a part of the paper: no pass rate (attempt_scores)
        for c in ("passed", "pass_rate", "pass_lo", "pass_hi"):
            t[c] = math.nan
    else:
        t["passed"] = t["passed"].astype(int)
        t["pass_rate"] = t["passed"] / t["n"]
        ci = [wilson_interval(k, n) for k, n in zip(t["passed"], t["n"], strict=True)]
        t["pass_lo"] = [c[0] for c in ci]
        t["pass_hi"] = [c[1] for c in ci]
    t = shrinkage(t, float(scores["pct"].mean()))
    t["small_n"] = t["n"] < SMALL_N
    if order:
        t["_o"] = t[column].map({v: i for i, v in enumerate(order)}).fillna(len(order))
        t = t.sort_values(["_o", column]).drop(columns="_o")
    else:
        t = t.sort_values("shrunk_mean", ascending=False)
    return t.drop(columns=["var"]).reset_index(drop=True)


def item_facilities(responses: pd.DataFrame, extra: list[str] | None = None) -> pd.DataFrame:
    """Facility per item (question version), optionally within extra grouping columns."""
    keys = (extra or []) + ["version_id"]
    g = responses.groupby(keys, observed=True, sort=False)
    t = g.agg(marks=("marks", "sum"), max_marks=("max_marks", "sum"), n=("marks", "size"))
    t["facility"] = t["marks"] / t["max_marks"]
    return t.reset_index()


def mastery(responses: pd.DataFrame, by: str) -> pd.DataFrame:
    """Item-weighted facility (mean of the item facilities, each item counted once) per
    category, with the number of items, attempts and responses, and an unreliability flag.

    ``by`` is a response column: ``source_name``, ``type`` or ``knowledge_points`` (the
    last is split on 、 so a question with two points counts for both)."""
    df = responses
    if by == "knowledge_points":
        df = responses[
            ["attempt_id", "version_id", "marks", "max_marks", "knowledge_points"]
        ].copy()
        df["knowledge_points"] = df["knowledge_points"].astype(str).str.split("、")
        df = df.explode("knowledge_points")
        df = df[df["knowledge_points"].fillna("") != ""]
    cols = ["category", "facility", "n_items", "n_attempts", "n_responses", "unreliable"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    items = item_facilities(df, [by])
    g = items.groupby(by, observed=True)
    t = g.agg(facility=("facility", "mean"), n_items=("version_id", "nunique"),
              n_responses=("n", "sum")).reset_index()  # fmt: skip
    attempts = df.groupby(by, observed=True)["attempt_id"].nunique()
    t["n_attempts"] = t[by].map(attempts).astype(int)
    t["unreliable"] = t["n_items"] < FEW_ITEMS
    t = t.rename(columns={by: "category"})
    t["category"] = t["category"].astype(str)
    return t[cols].sort_values("facility").reset_index(drop=True)


def unit_source_matrix(responses: pd.DataFrame) -> pd.DataFrame:
    """Item-weighted facility (%) per top-level unit × law source (the heat map)."""
    if responses.empty:
        return pd.DataFrame()
    items = item_facilities(responses, ["top_unit_name", "source_name"])
    t = items.groupby(["top_unit_name", "source_name"], observed=True)["facility"].mean()
    return (100 * t).unstack("source_name").sort_index()


def self_vs_centralized(
    scores: pd.DataFrame, self_reported: pd.DataFrame, z: float = Z95
) -> pd.DataFrame:
    """Per top-level unit: mean self-reported % against mean centralized %, the gap
    (self − centralized) with its standard error √(s₁²/n₁ + s₂²/n₂) and 95 % interval,
    flagged when the interval excludes 0 (beyond noise)."""
    cols = ["unit", "n_self", "self_mean", "n_central", "central_mean", "gap", "gap_se",
            "gap_lo", "gap_hi", "beyond_noise"]  # fmt: skip
    if scores.empty or self_reported is None or self_reported.empty:
        return pd.DataFrame(columns=cols)
    s = self_reported.groupby("top_unit_name", observed=True)["pct"].agg(["size", "mean", "var"])
    c = scores.groupby("top_unit_name", observed=True)["pct"].agg(["size", "mean", "var"])
    j = s.add_suffix("_s").join(c.add_suffix("_c"), how="inner")
    out = pd.DataFrame(
        {
            "unit": j.index.astype(str),
            "n_self": j["size_s"].astype(int).values,
            "self_mean": j["mean_s"].values,
            "n_central": j["size_c"].astype(int).values,
            "central_mean": j["mean_c"].values,
        }
    )
    out["gap"] = out["self_mean"] - out["central_mean"]
    se = np.sqrt(j["var_s"].values / j["size_s"].values + j["var_c"].values / j["size_c"].values)
    out["gap_se"] = se
    out["gap_lo"] = out["gap"] - z * se
    out["gap_hi"] = out["gap"] + z * se
    out["beyond_noise"] = (out["gap_lo"] > 0) | (out["gap_hi"] < 0)
    return out.sort_values("gap", ascending=False).reset_index(drop=True)


def score_step(responses: pd.DataFrame) -> float:
    """The resolution of total scores: the gcd of all marks (in hundredths)."""
    vals = pd.unique(pd.concat([responses["marks"], responses["max_marks"]]).round(2))
    ints = [int(round(abs(v) * 100)) for v in vals if v]
    if not ints:
        return 1.0
    step = 0
    for v in ints:
        step = math.gcd(step, v)
    return step / 100
