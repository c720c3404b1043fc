"""Which law sources and knowledge points a notice may call weak (薄弱).

A category (a law source or a knowledge point) is *weak* only when both hold:

- **enough behind it**: at least ``MIN_ITEMS`` questions and ``MIN_ANSWERS`` answers;
- **clearly below the overall mastery**: the upper end of its 95 % interval lies below
  the overall mastery.

Mastery follows STATISTICS.md: the item-weighted facility, i.e. the mean of the item
facilities of the category (each question counted once). The overall mastery is the same
figure over every item, so the two are comparable.

The interval is the Wilson score interval (STATISTICS.md: never the Wald interval) at an
*effective* sample size. A category's questions are a sample of what its law asks, and
answers to one question are not independent draws of the law's mastery: the variance of
the mean of J item facilities is estimated by v = s²/J (s the sample SD of the item
facilities, which also carries each facility's answer-level noise). The effective sample
size is n_eff = m(1 − m)/v (Kish's design effect; Korn & Graubard use the same
substitution for binomial intervals from clustered samples), never more than the number
of answers N. With many answers and few questions the interval stays wide, so six laws at
69–71 % are not called weak because tens of thousands of answers make a 1-point gap
"significant".
"""

from __future__ import annotations

import math

import pandas as pd

from analysis import stats

MIN_ITEMS = 3
MIN_ANSWERS = 30

COLUMNS = ["category", "facility", "n_items", "n_answers", "n_eff", "lo", "hi", "enough", "weak"]


def _items(responses: pd.DataFrame, by: str) -> pd.DataFrame:
    """Item facilities per category: each item (question version) once, under each of its
    categories (knowledge points split on 、, as ``stats.mastery``)."""
    items = stats.item_facilities(responses)
    category = responses.groupby("version_id", observed=True)[by].first()
    items[by] = items["version_id"].map(category).fillna("").astype(str)
    if by == "knowledge_points":
        items[by] = items[by].str.split("、")
        items = items.explode(by)
    return items[items[by].fillna("") != ""]


def overall_mastery(responses: pd.DataFrame) -> float:
    """The mean of all item facilities (every question counted once)."""
    if responses.empty:
        return math.nan
    return float(stats.item_facilities(responses)["facility"].mean())


def interval(facilities, n_answers: int) -> tuple[float, float, float]:
    """(lo, hi, n_eff): the Wilson interval of the mean of ``facilities`` at the
    effective sample size described in the module docstring."""
    f = pd.Series(facilities, dtype=float)
    m = float(f.mean())
    j = len(f)
    v = float(f.var(ddof=1)) / j if j > 1 else math.nan
    if not (v > 0):  # one item, or identical facilities: only the answers bound it
        n_eff = float(n_answers)
    else:
        n_eff = min(float(n_answers), m * (1 - m) / v)
    if n_eff <= 0:
        return (math.nan, math.nan, 0.0)
    lo, hi = stats.wilson_interval(m * n_eff, n_eff)
    return (lo, hi, n_eff)


def assess(responses: pd.DataFrame, by: str, overall: float | None = None) -> pd.DataFrame:
    """One row per category of ``by`` (``source_name`` or ``knowledge_points``), weakest
    first: mastery, counts, the interval, whether there is enough data and whether it is
    weak against ``overall`` (default: the overall mastery of ``responses``)."""
    if responses.empty:
        return pd.DataFrame(columns=COLUMNS)
    if overall is None:
        overall = overall_mastery(responses)
    items = _items(responses, by)
    rows = []
    for category, g in items.groupby(by, observed=True, sort=True):
        n_answers = int(g["n"].sum())
        lo, hi, n_eff = interval(g["facility"], n_answers)
        enough = len(g) >= MIN_ITEMS and n_answers >= MIN_ANSWERS
        rows.append(
            {
                "category": str(category),
                "facility": float(g["facility"].mean()),
                "n_items": int(len(g)),
                "n_answers": n_answers,
                "n_eff": n_eff,
                "lo": lo,
                "hi": hi,
                "enough": enough,
                "weak": bool(enough and math.isfinite(hi) and hi < overall),
            }
        )
    t = pd.DataFrame(rows, columns=COLUMNS)
    return t.sort_values(["facility", "category"]).reset_index(drop=True)
