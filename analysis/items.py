"""Item analysis, option analysis and reliability: pure functions over responses.

With randomized papers every statistic of an item is computed over the attempts that
saw it (Moodle's per-question statistics). Sums are taken with groupby, never a Python
loop over responses.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from question_bank import kinds

#: thresholds from STATISTICS.md
FACILITY_LOW, FACILITY_HIGH = 0.05, 0.95
SD_LOW = 1 / 3  # of the max mark (see ``flags``: a 0/1 item's SD is at most 0.5)
GUESS_HIGH = 0.40
DISC_GOOD, DISC_OK, DISC_MARGINAL = 40, 30, 20
EFFICIENCY_LOW = 15
FEW_ATTEMPTS = 30
GROUP_FRACTION = 0.27


def guess_score(qtype: str, n_options: int) -> float:
    """Expected score fraction of a blind guess (the kind knows its odds)."""
    kind = kinds.KINDS.get(str(qtype))
    return kind.guess_score(n_options) if kind else 0.0


def discrimination_label(d: float) -> str:
    if d is None or not np.isfinite(d):
        return "—"
    if d < 0:
        return "负值（请核对答案）"
    if d >= DISC_GOOD:
        return "很好"
    if d >= DISC_OK:
        return "良好"
    if d >= DISC_MARGINAL:
        return "一般"
    return "差"


def _flags(row) -> str:
    out = []
    f = row["facility"]
    if f <= FACILITY_LOW:
        out.append("过难或答案有误")
    elif f >= FACILITY_HIGH:
        out.append("过易")
    if np.isfinite(row["sd_fraction"]) and row["sd_fraction"] < SD_LOW:
        out.append("标准差小，几乎不区分")
    if row["guess"] > GUESS_HIGH:
        out.append("易猜中")
    d = row["discrimination"]
    if np.isfinite(d):
        if d < 0:
            out.append("区分度为负，请核对答案")
        elif d < DISC_MARGINAL:
            out.append("区分度差")
    e = row["efficiency"]
    if np.isfinite(e) and e < EFFICIENCY_LOW:
        out.append("区分效率低，题目可疑")
    if row["n"] < FEW_ATTEMPTS:
        out.append("作答人数少")
    return "；".join(out)


def _moments(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per attempt x item: the mark x, the attempt's total t and the rest r = t - x,
    with their products (``work``), and their sums per item (``s``, with ``n`` and
    ``maxm`` columns)."""
    totals = df.groupby("attempt_id", sort=False)["marks"].transform("sum").to_numpy()
    x = df["marks"].to_numpy(dtype=float)
    rest = totals - x
    work = pd.DataFrame(
        {
            "version_id": df["version_id"].to_numpy(),
            "x": x,
            "t": totals,
            "r": rest,
            "xx": x * x,
            "tt": totals * totals,
            "rr": rest * rest,
            "xt": x * totals,
            "xr": x * rest,
            "m": df["max_marks"].to_numpy(dtype=float),
        }
    )
    g = work.groupby("version_id", sort=True)
    s = g.sum()
    s["n"] = g.size().astype(float)
    s["maxm"] = g["m"].max()
    return work, s


def _weights(df: pd.DataFrame, work: pd.DataFrame, cov_xt: pd.Series) -> tuple:
    """-> (intended, effective) weight per item: its share of the paper it sat on
    (averaged over the papers that carried it); equals Moodle's 100·max/Σmax when
    everyone has the same paper."""
    paper_total = df.groupby("attempt_id", sort=False)["max_marks"].transform("sum").to_numpy()
    sqrt_cov = np.sqrt(cov_xt.clip(lower=0)).where(cov_xt >= 0)
    item_sqrt = pd.Series(df["version_id"].to_numpy()).map(sqrt_cov.fillna(0)).to_numpy()
    paper_sqrt = pd.Series(item_sqrt).groupby(df["attempt_id"].to_numpy()).transform("sum")
    share = pd.DataFrame(
        {
            "version_id": df["version_id"].to_numpy(),
            "intended": 100 * work["m"].to_numpy() / paper_total,
            "psq": paper_sqrt.to_numpy(),
        }
    ).groupby("version_id")
    intended = share["intended"].mean()
    mean_psq = share["psq"].mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = (100 * sqrt_cov / mean_psq).where(cov_xt >= 0)
    return intended, effective


def item_analysis(responses: pd.DataFrame) -> pd.DataFrame:
    """All item statistics of STATISTICS.md, one row per question version drawn."""
    cols = ["version_id", "question_code", "type", "source_name", "knowledge_points", "n",
            "max_marks", "facility", "sd", "sd_fraction", "guess", "intended_weight",
            "effective_weight", "discrimination", "discrimination_label", "efficiency", "flags"]  # fmt: skip
    if responses.empty:
        return pd.DataFrame(columns=cols)
    df = responses[["attempt_id", "version_id", "marks", "max_marks"]]
    work, s = _moments(df)
    n, maxm = s["n"], s["maxm"]

    def cov(sxy, sx, sy):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (sxy - sx * sy / n) / (n - 1)

    var_x = cov(s["xx"], s["x"], s["x"])
    var_r = cov(s["rr"], s["r"], s["r"])
    cov_xt = cov(s["xt"], s["x"], s["t"])
    cov_xr = cov(s["xr"], s["x"], s["r"])
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = 100 * cov_xr / np.sqrt(var_x * var_r)
    # maximum covariance reachable with these marginals: both sorted the same way
    xs = work.sort_values(["version_id", "x"], kind="stable")["x"].to_numpy()
    rs = work.sort_values(["version_id", "r"], kind="stable")["r"].to_numpy()
    ids = work.sort_values(["version_id"], kind="stable")["version_id"].to_numpy()
    sxr_max = pd.Series(xs * rs).groupby(ids).sum()
    cov_max = cov(sxr_max.reindex(s.index).to_numpy(), s["x"], s["r"])
    with np.errstate(divide="ignore", invalid="ignore"):
        eff = 100 * cov_xr / cov_max
    eff = eff.where(cov_max > 0)
    intended, effective = _weights(df, work, cov_xt)
    meta = (
        responses.drop_duplicates("version_id").set_index("version_id")[
            ["question_code", "type", "source_name", "knowledge_points", "n_options"]
        ]  # fmt: skip
    )
    out = pd.DataFrame(
        {
            "n": n.astype(int),
            "max_marks": maxm,
            "facility": s["x"] / n / maxm,
            "sd": np.sqrt(var_x),
            "sd_fraction": np.sqrt(var_x) / maxm,
            "intended_weight": intended,
            "effective_weight": effective,
            "discrimination": disc,
            "efficiency": eff,
        }
    ).join(meta)
    return _finish(out, cols)


def _finish(out: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Guessing odds, labels and flags; plain text columns in ``cols`` order."""
    out["type"] = out["type"].astype(str)
    out["guess"] = [
        guess_score(t, int(k)) for t, k in zip(out["type"], out["n_options"], strict=True)
    ]
    out["discrimination_label"] = out["discrimination"].map(discrimination_label)
    out = out.replace([np.inf, -np.inf], np.nan)
    out["flags"] = out.apply(_flags, axis=1) if len(out) else ""
    out = out.reset_index().rename(columns={"index": "version_id"})
    for c in ("question_code", "source_name", "knowledge_points"):
        out[c] = out[c].astype(str)
    return out[cols]


def score_groups(scores: pd.DataFrame, fraction: float = GROUP_FRACTION) -> pd.DataFrame:
    """Top and bottom ``fraction`` of attempts by percentage score (ties broken by
    attempt id, so the groups have exactly round(fraction·n) attempts each)."""
    s = scores.sort_values(["pct", "attempt_id"], ascending=[False, True])
    k = max(1, int(round(fraction * len(s)))) if len(s) else 0
    top = s["attempt_id"].iloc[:k]
    bottom = s["attempt_id"].iloc[len(s) - k :]
    out = pd.Series("middle", index=s["attempt_id"].to_numpy())
    out.loc[bottom.to_numpy()] = "bottom"
    out.loc[top.to_numpy()] = "top"
    return out.rename("group")


def option_analysis(responses: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """For each choice item and option (authored key; 对/错; 未答): the share of the top
    27 %, the bottom 27 % and everyone who chose it, and whether it is the key."""
    cols = ["version_id", "question_code", "type", "option", "is_key", "top", "bottom",
            "all", "n_top", "n_bottom", "n"]  # fmt: skip
    by_option = [code for code, kind in kinds.KINDS.items() if kind.analysed_by_option]
    choice = responses[responses["type"].astype(str).isin(by_option)]
    if choice.empty:
        return pd.DataFrame(columns=cols)
    groups = score_groups(scores)
    df = choice[["attempt_id", "version_id", "question_code", "type", "chosen", "marks",
                 "max_marks", "n_options"]].copy()  # fmt: skip
    df["group"] = df["attempt_id"].map(groups).to_numpy()
    df["chosen"] = df["chosen"].astype(str).replace("", "未答")
    df["option"] = df["chosen"].str.split(",")
    df = df.explode("option")
    per_item = df.drop_duplicates(["attempt_id", "version_id"]).groupby(
        ["version_id", "group"], observed=True
    ).size().unstack("group", fill_value=0)  # fmt: skip
    counts = df.groupby(["version_id", "option", "group"], observed=True).size().unstack(
        "group", fill_value=0
    )  # fmt: skip
    for gname in ("top", "bottom", "middle"):
        if gname not in counts:
            counts[gname] = 0
        if gname not in per_item:
            per_item[gname] = 0
    counts = counts.reset_index()
    tot = per_item.sum(axis=1)
    counts["n_top"] = counts["version_id"].map(per_item["top"]).astype(int)
    counts["n_bottom"] = counts["version_id"].map(per_item["bottom"]).astype(int)
    counts["n"] = counts["version_id"].map(tot).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        counts["top"] = counts["top"] / counts["n_top"].replace(0, np.nan)
        counts["bottom"] = counts["bottom"] / counts["n_bottom"].replace(0, np.nan)
    chosen_all = df.groupby(["version_id", "option"], observed=True).size()
    counts["all"] = (
        chosen_all.reindex(pd.MultiIndex.from_frame(counts[["version_id", "option"]])).to_numpy()
        / counts["n"]
    )
    # the key: options chosen in full-mark responses
    full = df[df["marks"] >= df["max_marks"] - 1e-9]
    keys = set(zip(full["version_id"], full["option"], strict=True))
    counts["is_key"] = [
        (v, o) in keys for v, o in zip(counts["version_id"], counts["option"], strict=True)
    ]
    meta = choice.drop_duplicates("version_id").set_index("version_id")
    counts["question_code"] = counts["version_id"].map(meta["question_code"]).astype(str)
    counts["type"] = counts["version_id"].map(meta["type"]).astype(str)
    return counts.sort_values(["version_id", "option"]).reset_index(drop=True)[cols]


def cronbach_alpha(matrix: pd.DataFrame) -> float:
    """p/(p−1)·(1 − Σ var x_i / var T) over a complete attempts × items matrix (KR-20
    when every item is 0/1)."""
    m = matrix.dropna()
    p = m.shape[1]
    if p < 2 or len(m) < 2:
        return math.nan
    var_items = m.var(ddof=1).sum()
    var_total = m.sum(axis=1).var(ddof=1)
    if var_total == 0:
        return math.nan
    return float(p / (p - 1) * (1 - var_items / var_total))


def reliability(responses: pd.DataFrame, scores: pd.DataFrame) -> dict:
    """Alpha over paper positions (with randomized papers, a position is the "slot"
    every candidate answers: Moodle's per-slot reliability), error ratio and SEM."""
    if responses.empty:
        return {"alpha": math.nan, "method": "", "error_ratio": math.nan, "sem": math.nan}
    matrix = responses.pivot_table(
        index="attempt_id", columns="position", values="marks", aggfunc="sum", observed=True
    )
    alpha = cronbach_alpha(matrix)
    norm = (responses["marks"] / responses["max_marks"]).round(9)
    dichotomous = bool(norm.isin([0.0, 1.0]).all())
    sd = float(scores["score"].std(ddof=1)) if len(scores) > 1 else math.nan
    er = math.sqrt(1 - alpha) if np.isfinite(alpha) and alpha <= 1 else math.nan
    return {
        "alpha": alpha,
        "method": "KR-20" if dichotomous else "Cronbach α",
        "items": int(matrix.shape[1]),
        "complete_attempts": int(len(matrix.dropna())),
        "error_ratio": er,
        "sem": er * sd if np.isfinite(er) else math.nan,
        "reading": ("满意" if alpha > 0.75 else "不满意" if alpha < 0.64 else "尚可")
        if np.isfinite(alpha)
        else "—",
    }


#: the item table's orders: key -> (columns, ascending), flagged items first by default
ITEM_SORTS = {
    "flags": (["_flagged", "facility"], [False, True]),
    "facility": (["facility"], [True]),
    "facility_desc": (["facility"], [False]),
    "discrimination": (["discrimination"], [True]),
    "code": (["question_code"], [True]),
    "n": (["n"], [False]),
}
ITEM_PAGE_SIZE = 50


def item_page(
    item_table: pd.DataFrame,
    *,
    sort: str = "",
    text: str = "",
    flagged_only: bool = False,
    page: int | str = 1,
    size: int = ITEM_PAGE_SIZE,
) -> dict:
    """One page of the item table: filtered (code, law source or knowledge point
    containing ``text``; only flagged items), sorted (``ITEM_SORTS``; flagged items first
    by default, the hardest first among them) and cut into pages of ``size``.

    Returns rows (a frame), the sort and page used, the page count and the row counts."""
    sort = sort if sort in ITEM_SORTS else "flags"
    t = item_table.copy()
    t["_flagged"] = t["flags"].fillna("").astype(str).str.strip() != ""
    flagged = int(t["_flagged"].sum())
    text = (text or "").strip()
    if text:
        hay = t["question_code"] + " " + t["source_name"] + " " + t["knowledge_points"]
        t = t[hay.str.contains(text, case=False, regex=False)]
    if flagged_only:
        t = t[t["_flagged"]]
    columns, ascending = ITEM_SORTS[sort]
    t = t.sort_values(
        columns + ["question_code"], ascending=ascending + [True], kind="stable",
        na_position="last",
    )  # fmt: skip
    pages = max(1, -(-len(t) // size))
    try:
        number = min(max(1, int(page)), pages)
    except (TypeError, ValueError):
        number = 1
    rows = t.iloc[(number - 1) * size : number * size].drop(columns="_flagged")
    return {
        "rows": rows,
        "sort": sort,
        "text": text,
        "flagged_only": flagged_only,
        "page": number,
        "pages": pages,
        "matched": len(t),
        "total": len(item_table),
        "flagged": flagged,
    }
