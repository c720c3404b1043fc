"""Charts with Chinese labels, rendered to PNG bytes (matplotlib, Agg, no pyplot state).

The CJK font comes with the install: the ``mplfonts`` wheel ships Noto Sans CJK SC. If it
is missing, Debian's ``fonts-noto-cjk`` is used. A missing glyph would be a warning, and
the test suite turns warnings into failures.
"""

from __future__ import annotations

import importlib.util
import io
import math
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
COLOURS = {"main": "#b3261e", "ok": "#2e7d32", "grey": "#777777", "blue": "#1f5fa8"}

CHART_TITLES = {
    "histogram": "成绩分布",
    "pass_rate_by_unit": "各单位及格率（95% 置信区间）",
    "funnel": "各单位平均得分率漏斗图",
    "mastery_by_source": "各法规掌握程度",
    "unit_source_heatmap": "单位 × 法规 掌握程度热力图",
    "difficulty_discrimination": "难度与区分度",
    "box_by_rank": "各职级得分分布",
}

#: what each chart shows and how to read it (the page's captions: the title is in the
#: picture already)
CHART_NOTES = {
    "histogram": "横轴为得分，纵轴为人数；虚线为整卷及格线（按法规或知识点筛选时不画）。",
    "pass_rate_by_unit": "横线为 95% 置信区间，区间越长人数越少；灰色条为人数过少的单位。",
    "funnel": "落在虚线（95%）或点线（99.8%）之外的单位，差异超出随机波动。",
    "mastery_by_source": "每部法规的题目平均通过率，题目数少的法规误差较大。",
    "unit_source_heatmap": "红色偏低、绿色偏高，格中数字为得分率；按行比较同一单位的各部法规。",
    "difficulty_discrimination": "每点一题；红线以下的题目区分度差，靠左的偏难，宜优先复核。",
    "box_by_rank": "箱体为中间一半人的得分范围，横线为中位数。",
}


def _candidate_paths() -> list[Path]:
    paths = []
    spec = importlib.util.find_spec("mplfonts")
    if spec and spec.submodule_search_locations:
        base = Path(next(iter(spec.submodule_search_locations))) / "fonts"
        paths += [base / "NotoSansCJKsc-Regular.otf", base / "SimHei.ttf"]
    paths += [Path(p) for p in SYSTEM_FONTS]
    return [p for p in paths if p.exists()]


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, str]:
    """(family name, file) of the CJK font registered with matplotlib."""
    for path in _candidate_paths():
        font_manager.fontManager.addfont(str(path))
        name = font_manager.FontProperties(fname=str(path)).get_name()
        return name, str(path)
    raise RuntimeError("找不到中文字体：请安装 mplfonts（pip install mplfonts）或 fonts-noto-cjk。")


def _rc() -> dict:
    family, _ = cjk_font()
    return {
        "font.family": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def histogram_bins(x, step: float, total: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(bin centres, counts, width): bins centred on the reachable scores, one score step
    wide (doubled until there are at most 60), shared by the PNG and the workbook chart."""
    width = step
    nbins = int(math.ceil(total / width)) + 1
    while nbins > 60:
        width *= 2
        nbins = int(math.ceil(total / width)) + 1
    edges = np.arange(nbins + 1) * width - width / 2
    counts, _ = np.histogram(np.asarray(x, dtype=float), bins=edges)
    return edges[:-1] + width / 2, counts, width


def histogram(scores: pd.DataFrame, step: float, pass_mark: float | None, total: float) -> Figure:
    """Score distribution; the pass line only for whole papers (``pass_mark`` not None)."""
    fig = _figure(7, 4)
    ax = fig.add_subplot()
    x = scores["score"].to_numpy(dtype=float)
    centres, counts, width = histogram_bins(x, step, total)
    ax.bar(centres, counts, width=width, color=COLOURS["blue"], edgecolor="white")
    if pass_mark is not None:
        ax.axvline(pass_mark, color=COLOURS["main"], linestyle="--", linewidth=1.5)
        ax.text(pass_mark, ax.get_ylim()[1] * 0.95, f" 及格线 {pass_mark:g} 分",
                color=COLOURS["main"])  # fmt: skip
    ax.set_xlabel(f"得分（每格 {width:g} 分）")
    ax.set_ylabel("人数")
    ax.set_title(f"{CHART_TITLES['histogram']}（n = {len(x)}）")
    return fig


def pass_rate_by_unit(by_unit: pd.DataFrame) -> Figure:
    t = by_unit.sort_values("pass_rate")
    fig = _figure(7, max(3, 0.35 * len(t) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(t))
    rate = 100 * t["pass_rate"].to_numpy()
    lo = 100 * t["pass_lo"].to_numpy()
    hi = 100 * t["pass_hi"].to_numpy()
    colours = [COLOURS["grey"] if s else COLOURS["blue"] for s in t["small_n"]]
    ax.barh(y, rate, color=colours, alpha=0.8)
    ax.errorbar(rate, y, xerr=[rate - lo, hi - rate], fmt="none", ecolor="black", capsize=3)
    ax.set_yticks(y, [f"{u}（{n}人）" for u, n in zip(t["top_unit_name"], t["n"], strict=True)])
    ax.set_xlim(0, 100)
    ax.set_xlabel("及格率 %（横线为 95% Wilson 置信区间；灰色为人数过少）")
    ax.set_title(CHART_TITLES["pass_rate_by_unit"])
    return fig


def funnel(by_unit: pd.DataFrame, grand_mean: float, sigma2: float) -> Figure:
    fig = _figure(7, 4.5)
    ax = fig.add_subplot()
    n = by_unit["n"].to_numpy(dtype=float)
    ax.scatter(n, by_unit["mean"], color=COLOURS["blue"], zorder=3)
    for u, xx, yy in zip(by_unit["top_unit_name"], n, by_unit["mean"], strict=True):
        ax.annotate(str(u), (xx, yy), fontsize=8, xytext=(3, 3), textcoords="offset points")
    grid = np.linspace(max(1, n.min() if len(n) else 1), max(2, n.max() if len(n) else 2), 100)
    for z, style in ((1.96, "--"), (3.0, ":")):
        half = z * np.sqrt(sigma2 / grid)
        ax.plot(grid, grand_mean + half, color=COLOURS["grey"], linestyle=style)
        ax.plot(grid, grand_mean - half, color=COLOURS["grey"], linestyle=style)
    ax.axhline(grand_mean, color=COLOURS["main"])
    ax.set_xlabel("参测人数")
    ax.set_ylabel("平均得分率 %")
    ax.set_title(CHART_TITLES["funnel"] + "（虚线 95%，点线 99.8%）")
    return fig


def mastery_by_source(by_source: pd.DataFrame) -> Figure:
    t = by_source.sort_values("facility", ascending=False)
    fig = _figure(7, max(3, 0.45 * len(t) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(t))
    vals = 100 * t["facility"].to_numpy()
    ax.barh(y, vals, color=[COLOURS["grey"] if u else COLOURS["ok"] for u in t["unreliable"]])
    for yy, v, k in zip(y, vals, t["n_items"], strict=True):
        ax.text(v + 1, yy, f"{v:.1f}%（{k}题）", va="center", fontsize=8)
    ax.set_yticks(y, list(t["category"]))
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("掌握程度（题目平均通过率 %；灰色为题目过少，仅供参考）")
    ax.set_title(CHART_TITLES["mastery_by_source"])
    return fig


def unit_source_heatmap(matrix: pd.DataFrame) -> Figure:
    fig = _figure(max(6, 1.1 * matrix.shape[1] + 3), max(3, 0.4 * matrix.shape[0] + 1.8))
    ax = fig.add_subplot()
    data = matrix.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], rotation=30, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
    for (i, j), v in np.ndenumerate(data):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="掌握程度 %")
    ax.set_title(CHART_TITLES["unit_source_heatmap"])
    return fig


def difficulty_discrimination(item_table: pd.DataFrame) -> Figure:
    fig = _figure(7, 4.5)
    ax = fig.add_subplot()
    t = item_table.dropna(subset=["discrimination"])
    ax.scatter(100 * t["facility"], t["discrimination"], s=14, color=COLOURS["blue"], alpha=0.7)
    ax.axhline(20, color=COLOURS["main"], linestyle="--", linewidth=1)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvspan(35, 64, color=COLOURS["ok"], alpha=0.08)
    ax.set_xlim(0, 100)
    ax.set_xlabel("通过率 %（绿色区间 35–64% 难度适中）")
    ax.set_ylabel("区分度指数（红线 20 以下为差）")
    ax.set_title(CHART_TITLES["difficulty_discrimination"] + f"（{len(t)} 题）")
    return fig


def box_by_rank(scores: pd.DataFrame, order: list[str]) -> Figure:
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    ranks = [r for r in order if (scores["rank"] == r).any()]
    data = [scores.loc[scores["rank"] == r, "pct"].to_numpy() for r in ranks]
    if data:
        ax.boxplot(
            data, tick_labels=[f"{r}\n（{len(d)}人）" for r, d in zip(ranks, data, strict=True)]
        )
    ax.set_ylabel("得分率 %")
    ax.set_title(CHART_TITLES["box_by_rank"])
    return fig


def render_all(rep) -> dict[str, bytes]:
    """All charts of a report (``analysis.report.Report``) as PNG bytes, by name."""
    from analysis import loading

    with matplotlib.rc_context(_rc()):
        figs: dict[str, Figure] = {}
        if len(rep.scores):
            figs["histogram"] = histogram(
                rep.scores,
                rep.score_step,
                rep.pass_mark,
                max(rep.total_points, rep.scores["score"].max()),
            )
            if rep.pass_mark is not None:  # a part of the paper has no pass rate
                figs["pass_rate_by_unit"] = pass_rate_by_unit(rep.by_unit)
            figs["funnel"] = funnel(
                rep.by_unit, float(rep.scores["pct"].mean()), pooled_variance(rep.scores)
            )
            figs["box_by_rank"] = box_by_rank(rep.scores, loading.rank_order())
        if len(rep.by_source):
            figs["mastery_by_source"] = mastery_by_source(rep.by_source)
        if rep.unit_source.size:
            figs["unit_source_heatmap"] = unit_source_heatmap(rep.unit_source)
        if len(rep.item_table):
            figs["difficulty_discrimination"] = difficulty_discrimination(rep.item_table)
        return {name: _png(fig) for name, fig in figs.items()}


def pooled_variance(scores: pd.DataFrame) -> float:
    """Pooled within-unit variance of the percentage score."""
    g = scores.groupby("top_unit_name", observed=True)["pct"]
    n, var = g.size(), g.var(ddof=1).fillna(0)
    dof = (n - 1).clip(lower=0)
    return float((var * dof).sum() / dof.sum()) if dof.sum() else 0.0
