"""Native Excel charts for the analysis workbook (``openpyxl.chart``).

Each chart refers to cells of the workbook (the tables, or a small data block beside
the chart), so an analyst can restyle it, and Excel or LibreOffice lists it as a chart.
Where Excel has no such chart (a box plot: openpyxl cannot write Excel 2016's box and
whisker chart) the workbook keeps the PNG picture. The funnel plot is a scatter chart
with its control limits as lines.
"""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.data_source import NumDataSource, NumRef
from openpyxl.chart.error_bar import ErrorBars
from openpyxl.chart.marker import Marker
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Font

WIDTH_CM, HEIGHT_CM = 17.0, 9.0
BLUE, GREEN, RED, GREY = "1F5FA8", "2E7D32", "B3261E", "777777"


def _axes(chart, x_title: str, y_title: str) -> None:
    chart.x_axis.title, chart.y_axis.title = x_title, y_title
    # openpyxl 3.1 leaves ``delete`` unset, which recent Excel reads as hidden axes
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend = None
    chart.width, chart.height = WIDTH_CM, HEIGHT_CM


def _fill(series, colour: str) -> None:
    series.graphicalProperties.solidFill = colour
    series.graphicalProperties.line.solidFill = colour


def score_histogram(ws, scores, step: float, total: float, pass_mark: float | None, *, col: int,
                    anchor: str) -> BarChart | None:  # fmt: skip
    """Score distribution: a bin table (score, count) at column ``col`` and a column chart
    of it; bins as in the PNG (``charts.histogram_bins``)."""
    from analysis.charts import histogram_bins

    if not len(scores):
        return None
    centres, counts, width = histogram_bins(scores["score"], step, total)
    ws.cell(row=1, column=col, value=f"得分（每格 {width:g} 分）").font = Font(bold=True)
    ws.cell(row=1, column=col + 1, value="人数").font = Font(bold=True)
    for i, (c, n) in enumerate(zip(centres, counts, strict=True), start=2):
        ws.cell(row=i, column=col, value=float(round(c, 6)))
        ws.cell(row=i, column=col + 1, value=int(n))
    last = len(centres) + 1
    chart = BarChart()
    chart.type, chart.grouping, chart.gapWidth = "col", "clustered", 10
    line = f"，及格线 {pass_mark:g} 分" if pass_mark is not None else ""
    chart.title = f"成绩分布（n = {len(scores)}{line}）"
    chart.add_data(Reference(ws, min_col=col + 1, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=col, min_row=2, max_row=last))
    _fill(chart.series[0], BLUE)
    _axes(chart, "得分", "人数")
    ws.add_chart(chart, anchor)
    return chart


def pass_rate_by_unit(ws, rows: int, *, cat_col: int, rate_col: int, minus_col: int,
                      plus_col: int, anchor: str) -> BarChart | None:  # fmt: skip
    """Pass rate by unit, horizontal bars with the Wilson interval as custom error bars
    (minus = rate − lower bound, plus = upper bound − rate, from the table's columns)."""
    if not rows:
        return None
    chart = BarChart()
    chart.type, chart.grouping = "bar", "clustered"
    chart.title = "各单位及格率（误差线为 95% Wilson 置信区间）"
    chart.add_data(Reference(ws, min_col=rate_col, min_row=1, max_row=rows + 1),
                   titles_from_data=True)  # fmt: skip
    chart.set_categories(Reference(ws, min_col=cat_col, min_row=2, max_row=rows + 1))
    series = chart.series[0]
    _fill(series, BLUE)

    def ref(col: int) -> NumDataSource:
        return NumDataSource(numRef=NumRef(f=str(Reference(ws, min_col=col, min_row=2,
                                                           max_row=rows + 1))))  # fmt: skip

    series.errBars = ErrorBars(errBarType="both", errValType="cust", noEndCap=False,
                               minus=ref(minus_col), plus=ref(plus_col))  # fmt: skip
    _axes(chart, "单位", "及格率")
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.y_axis.number_format = "0%"
    chart.height = max(HEIGHT_CM, 0.75 * rows + 3)  # room for every unit's label
    ws.add_chart(chart, anchor)
    return chart


def mastery_by_source(ws, rows: int, *, cat_col: int, value_col: int,
                      anchor: str) -> BarChart | None:  # fmt: skip
    """Mastery by law source: horizontal bars of the 法规掌握 table."""
    if not rows:
        return None
    chart = BarChart()
    chart.type, chart.grouping = "bar", "clustered"
    chart.title = "各法规掌握程度（题目平均通过率）"
    chart.add_data(Reference(ws, min_col=value_col, min_row=1, max_row=rows + 1),
                   titles_from_data=True)  # fmt: skip
    chart.set_categories(Reference(ws, min_col=cat_col, min_row=2, max_row=rows + 1))
    _fill(chart.series[0], GREEN)
    _axes(chart, "法规", "掌握程度")
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.y_axis.number_format = "0%"
    ws.add_chart(chart, anchor)
    return chart


def difficulty_discrimination(ws, rows: int, *, x_col: int, y_col: int,
                              anchor: str) -> ScatterChart | None:  # fmt: skip
    """Difficulty (facility) against the discrimination index, one marker per item."""
    if not rows:
        return None
    chart = ScatterChart()
    chart.title = "难度与区分度（区分度 20 以下为差）"
    chart.scatterStyle = "marker"
    xs = Reference(ws, min_col=x_col, min_row=2, max_row=rows + 1)
    ys = Reference(ws, min_col=y_col, min_row=1, max_row=rows + 1)
    series = Series(ys, xs, title_from_data=True)
    series.marker = Marker(symbol="circle", size=5)
    series.marker.graphicalProperties = GraphicalProperties(solidFill=BLUE)
    series.marker.graphicalProperties.line.solidFill = BLUE
    series.graphicalProperties.line.noFill = True
    chart.series.append(series)
    _axes(chart, "通过率", "区分度指数")
    chart.x_axis.scaling.min, chart.x_axis.scaling.max = 0, 1
    chart.x_axis.number_format = "0%"
    chart.x_axis.tickLblPos = "low"  # labels at the bottom, not across y = 0
    ws.add_chart(chart, anchor)
    return chart


FUNNEL_POINTS = 30
Z95, Z998 = 1.959963984540054, 3.0


def funnel(ws, rows: int, *, n_col: int, mean_col: int, data_col: int, grand_mean: float,
           sigma2: float, anchor: str) -> ScatterChart | None:  # fmt: skip
    """Unit mean score (%) against the number of candidates, with the grand mean and the
    95 % and 99.8 % control limits grand ± z·√(σ²/n) (σ² the pooled within-unit variance,
    as in the PNG), written as a table at ``data_col``."""
    if not rows:
        return None
    ns = [ws.cell(row=r, column=n_col).value for r in range(2, rows + 2)]
    lo_n, hi_n = max(1, min(ns)), max(2, max(ns))
    heads = ["人数", "全区均值", "95%下限", "95%上限", "99.8%下限", "99.8%上限"]
    for j, h in enumerate(heads):
        ws.cell(row=1, column=data_col + j, value=h).font = Font(bold=True)
    for i in range(FUNNEL_POINTS):
        n = lo_n + (hi_n - lo_n) * i / (FUNNEL_POINTS - 1)
        half95, half998 = (z * (sigma2 / n) ** 0.5 for z in (Z95, Z998))
        values = [round(n, 3), grand_mean, grand_mean - half95, grand_mean + half95,
                  grand_mean - half998, grand_mean + half998]  # fmt: skip
        for j, v in enumerate(values):
            ws.cell(row=2 + i, column=data_col + j, value=v).number_format = "0.0"
    chart = ScatterChart()
    chart.title = "各单位平均得分率漏斗图（虚线 95%，点线 99.8%）"
    chart.scatterStyle = "lineMarker"
    units = Series(Reference(ws, min_col=mean_col, min_row=2, max_row=rows + 1),
                   Reference(ws, min_col=n_col, min_row=2, max_row=rows + 1),
                   title="各单位")  # fmt: skip
    units.marker = Marker(symbol="circle", size=6)
    units.marker.graphicalProperties = GraphicalProperties(solidFill=BLUE)
    units.graphicalProperties.line.noFill = True
    chart.series.append(units)
    xs = Reference(ws, min_col=data_col, min_row=2, max_row=FUNNEL_POINTS + 1)
    for j, (colour, dash) in enumerate(
        [(RED, "solid"), (GREY, "dash"), (GREY, "dash"), (GREY, "sysDot"), (GREY, "sysDot")],
        start=1,
    ):
        line = Series(Reference(ws, min_col=data_col + j, min_row=1, max_row=FUNNEL_POINTS + 1),
                      xs, title_from_data=True)  # fmt: skip
        line.marker = Marker(symbol="none")
        line.graphicalProperties.line.solidFill = colour
        line.graphicalProperties.line.dashStyle = dash
        line.smooth = True
        chart.series.append(line)
    _axes(chart, "参测人数", "平均得分率 %")
    chart.legend = None
    ws.add_chart(chart, anchor)
    return chart
