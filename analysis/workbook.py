"""The analyst's Excel workbook (STATISTICS.md, "What an analyst expects to receive").

Numbers are written as computed values (openpyxl would save formulas without values),
text cells are neutralised against formula injection, every table has a frozen header
and a filter. The charts are native Excel charts on the tables (``xlsx_charts``), beside
the colour scales and the unit × source heat map; only the box plot by rank is a
picture (openpyxl cannot write Excel's box-and-whisker chart).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.formatting.rule import ColorScaleRule, DataBarRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analysis import items, stats, xlsx_charts
from analysis.charts import pooled_variance
from analysis.loading import type_label
from analysis.notice import mask_name, weak
from analysis.report import NO_PASS_RATE
from core.excel import neutralise

SHEETS = [
    "说明与口径",
    "抽样审计",
    "总体概况",
    "单位排名",
    "职级对比",
    "法规掌握",
    "知识点",
    "题目分析",
    "选项分析",
    "个人明细",
]
PCT, NUM1, NUM2, NUM3, INT = "0.0%", "0.0", "0.00", "0.000", "0"
ROW_CM = 0.53  # default row height (15 pt), to place a chart below another
FUNNEL_COL = 30  # column AD: the funnel plot's control limits, right of the charts
HEADER_FILL = PatternFill("solid", fgColor="F2DCDB")
RED_GREEN = {"start_type": "num", "start_value": 0, "start_color": "F8696B",
             "mid_type": "num", "mid_value": 0.5, "mid_color": "FFEB84",
             "end_type": "num", "end_value": 1, "end_color": "63BE7B"}  # fmt: skip


def _value(v):
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bool):
        return "是" if v else ""
    return neutralise(v)


def _table(
    wb: Workbook,
    title: str,
    headers: Sequence[str],
    rows,
    formats: dict[int, str] | None = None,
    widths: dict[int, int] | None = None,
):
    ws = wb.create_sheet(title)
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    count = 0
    for row in rows:
        ws.append([_value(v) for v in row])
        count += 1
    ws.freeze_panes = "B2" if len(headers) > 4 else "A2"
    if count:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    for idx, fmt in (formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=2, max_row=count + 1, min_col=idx, max_col=idx):
            cell.number_format = fmt
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(
            i, max(9, min(30, len(str(h)) * 2 + 2))
        )
    ws.print_title_rows = "1:1"
    ws.sheet_properties.tabColor = "B3261E"
    ws._jifa_rows = count  # noqa: SLF001 - used by the callers below
    return ws


def _col_range(ws, col: int) -> str:
    letter = get_column_letter(col)
    return f"{letter}2:{letter}{max(2, ws._jifa_rows + 1)}"  # noqa: SLF001


def _scale(ws, col: int) -> None:
    if ws._jifa_rows:  # noqa: SLF001
        ws.conditional_formatting.add(_col_range(ws, col), ColorScaleRule(**RED_GREEN))


def _bar(ws, col: int, colour: str = "638EC6") -> None:
    if ws._jifa_rows:  # noqa: SLF001
        ws.conditional_formatting.add(
            _col_range(ws, col),
            DataBarRule(start_type="min", end_type="max", color=colour, showValue=True),
        )


def _image(ws, png: bytes | None, anchor: str, width: int = 640) -> None:
    if not png:
        return
    img = Image(io.BytesIO(png))
    ratio = width / img.width
    img.width, img.height = width, int(img.height * ratio)
    ws.add_image(img, anchor)


def _flag(v) -> str:
    return "是" if bool(v) else ""


NOTES = [
    (
        "统计口径",
        "仅统计已交卷的作答；未作答的题目记 0 分；单位指作答时所在的区直属单位（镇/街道/区园、部门/单位）。",
    ),
    ("得分率", "得分 ÷ 试卷满分 × 100%，用于不同试卷之间的比较。"),
    ("及格率区间", "Wilson 95% 置信区间（不使用 Wald 区间）。"),
    (
        "收缩均值",
        "B·全区均值 + (1−B)·单位均值，B = (σ²/n)/(σ²/n + τ²)；人数少的单位向全区均值收缩，排名依据收缩均值。",
    ),
    (
        "人数过少",
        f"参测人数少于 {stats.SMALL_N} 人的单位标注“人数过少”，其数据主要反映偶然因素，不宜据此排名。",
    ),
    (
        "掌握程度",
        "某法规或知识点下各题通过率的平均值（每题权重相同），同时列出题数和作答人数；"
        f"少于 {stats.FEW_ITEMS} 题的分项标注“题目过少”，仅供参考。",
    ),
    (
        "明显偏弱",
        "掌握程度的 95% 区间（Wilson 区间，样本量取作答人次与按各题通过率离散程度折算的有效样本量"
        "中的较小者）整体低于全部题目的平均通过率，且至少有 "
        f"{weak.MIN_ITEMS} 道题、{weak.MIN_ANSWERS} 人次作答；通报只把这样的法规和知识点称为薄弱。",
    ),
    (
        "通过率（难度）",
        "题目平均得分 ÷ 题目分值；≤5% 过难或答案有误，35%–64% 适中，≥95% 过易。",
    ),
    (
        "区分度指数",
        "100 × 题目得分与其余题目总分的相关系数（校正点二列相关）；≥40 很好，30–39 良好，20–29 一般，<20 差，负值请核对答案。",
    ),
    (
        "区分效率",
        f"100 × cov(x, T−x) / 两者分别排序后可达到的最大协方差；低于 {items.EFFICIENCY_LOW} 题目可疑。",
    ),
    ("随机猜测得分", "单选 1/选项数，判断 0.5，多选（全对才得分）1/(2^k−1)；高于 40% 易猜中。"),
    (
        "预期权重 / 有效权重",
        "题目分值占所在试卷总分的比例；有效权重按 √cov(题目得分, 总分) 计算（随机组卷时按所在试卷平均），协方差为负时不计。",
    ),
    (
        "信度",
        "Cronbach α（全部为 0/1 计分时即 KR-20），按试卷题位计算；>0.75 满意，<0.64 不满意。误差比 = √(1−α)，测量标准误 = 误差比 × 总分标准差。",
    ),
    (
        "选项分析",
        f"按得分率排序的前 {int(items.GROUP_FRACTION * 100)}% 与后 {int(items.GROUP_FRACTION * 100)}% 考生分别选择各选项的比例。",
    ),
    (
        "自报与集中测试对比",
        "各单位自报成绩均分与其被抽中干部集中测试均分之差，标准误 √(s₁²/n₁ + s₂²/n₂)；95% 区间不含 0 时标注“超出随机波动”。",
    ),
    (
        "图表",
        "成绩分布、各单位及格率（误差线为 Wilson 区间）、漏斗图（控制线数据在单位排名表右侧）、"
        "各法规掌握程度、难度与区分度为 Excel 原生图表，可直接修改样式；职级箱线图为图片"
        "（Excel 的箱线图无法由程序写入）。",
    ),
]


def _notes_sheet(wb: Workbook, rep) -> None:
    head = [
        ("分析对象", rep.title),
        ("考试编号", "、".join(str(i) for i in rep.exam_ids)),
        ("数据截止", rep.cutoff or "—"),
        ("满分 / 及格线", f"{rep.total_points:g} / {rep.pass_mark:g}" if rep.has_pass_rate
         else f"{rep.total_points:g} / 不适用（{rep.part}）：{NO_PASS_RATE}"),
    ]
    ws = _table(wb, SHEETS[0], ["项目", "说明"], head + NOTES, widths={1: 18, 2: 110})
    for row in ws.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")


def _audit_sheet(wb: Workbook, rep) -> None:
    d = rep.draw or {}
    audit_rows = [
        ("抽样名称", d.get("name", "（本考试不是抽样集中测试）"), "", "", ""),
        ("名册 SHA-256", d.get("roster_sha256", ""), "", "", ""),
        ("抽样规则", d.get("quota_rule", ""), "", "", ""),
        ("算法版本", d.get("algorithm_version", ""), "", "", ""),
        ("公开随机数", d.get("entropy", ""), "", "", ""),
        ("种子", d.get("seed", ""), "", "", ""),
    ]
    for code, c in (d.get("strata") or {}).items():
        audit_rows.append(("分层", code, c.get("name"), c.get("n"), c.get("quota")))
    for t in d.get("tickets", []):
        audit_rows.append(
            ("签号", t["stratum"], t["person_no"], t["rank"],
             ("抽中 " if t["role"] == "selected" else "替补 ") + t["ticket"])
        )  # fmt: skip
    for r in d.get("replacements", []):
        audit_rows.append(
            ("替补记录", r["stratum"], r["excused"], r["replacement"] or "（无替补）", r["reason"])
        )
    _table(wb, SHEETS[1], ["类别", "层/项目", "人员编号/名称", "序号/人数", "签号/抽取数/原因"],
           audit_rows, widths={1: 12, 2: 70, 3: 18, 4: 12, 5: 80})  # fmt: skip


def _overview_sheet(wb: Workbook, rep) -> None:
    o, rel = rep.overall, rep.reliability
    part = rep.participation or {}
    overview = [
        ("应参测人数", part.get("enrolled"), INT),
        ("实际交卷", o.get("n"), INT),
        ("平均分", o.get("mean"), NUM2),
        ("平均得分率", (o.get("mean_pct") or math.nan) / 100, PCT),
        ("中位数", o.get("median"), NUM2),
        ("标准差", o.get("sd"), NUM2),
        ("偏度", o.get("skewness"), NUM3),
        ("峰度", o.get("kurtosis"), NUM3),
        ("最低分", o.get("min"), NUM1),
        ("最高分", o.get("max"), NUM1),
        *(
            [("及格人数", o.get("passed"), INT),
             ("及格率", o.get("pass_rate"), PCT),
             ("及格率 95% 区间下限", o.get("pass_lo"), PCT),
             ("及格率 95% 区间上限", o.get("pass_hi"), PCT)]
            if rep.has_pass_rate else [("及格率", "不适用：" + NO_PASS_RATE, "@")]
        ),  # fmt: skip
        (f"信度（{rel.get('method', '')}）", rel.get("alpha"), NUM3),
        ("误差比", rel.get("error_ratio"), PCT),
        ("测量标准误（分）", rel.get("sem"), NUM2),
    ]
    ws = _table(
        wb, SHEETS[2], ["指标", "数值"], [(a, b) for a, b, _ in overview], widths={1: 24, 2: 16}
    )
    for i, (_, _, fmt) in enumerate(overview, start=2):
        ws.cell(row=i, column=2).number_format = fmt
    ws.column_dimensions["D"].width = 16
    total = max(rep.total_points, rep.scores["score"].max()) if len(rep.scores) else 0
    xlsx_charts.score_histogram(ws, rep.scores, rep.score_step, total, rep.pass_mark,
                                col=4, anchor="G2")  # fmt: skip


def _units_sheet(wb: Workbook, rep) -> None:
    u = rep.by_unit.sort_values("shrunk_mean", ascending=False) if len(rep.by_unit) else rep.by_unit
    ws = _table(
        wb, SHEETS[3],
        ["排名（按收缩均值）", "单位", "参测人数", "平均得分率%", "中位数%", "标准差", "及格率",
         "区间下限", "区间上限", "收缩系数B", "收缩均值%", "人数过少", "超出随机波动",
         "误差线（下）", "误差线（上）"],
        [(i, r.top_unit_name, r.n, r.mean, r.median, r.sd, r.pass_rate, r.pass_lo, r.pass_hi,
          r.B, r.shrunk_mean, _flag(r.small_n), _flag(r.beyond_noise),
          r.pass_rate - r.pass_lo, r.pass_hi - r.pass_rate)
         for i, r in enumerate(u.itertuples(), start=1)],
        {1: INT, 3: INT, 4: NUM1, 5: NUM1, 6: NUM1, 7: PCT, 8: PCT, 9: PCT, 10: NUM3, 11: NUM1,
         14: PCT, 15: PCT},
        widths={2: 22},
    )  # fmt: skip
    _bar(ws, 11)
    _scale(ws, 7)
    chart = None
    if rep.has_pass_rate:  # a part of the paper has no pass rate
        chart = xlsx_charts.pass_rate_by_unit(ws, ws._jifa_rows, cat_col=2, rate_col=7,  # noqa: SLF001
                                              minus_col=14, plus_col=15, anchor="Q2")  # fmt: skip
    below = 2 + (int(chart.height / ROW_CM) + 2 if chart else 0)
    if len(rep.scores):
        xlsx_charts.funnel(ws, ws._jifa_rows, n_col=3, mean_col=4, data_col=FUNNEL_COL,  # noqa: SLF001
                           grand_mean=float(rep.scores["pct"].mean()),
                           sigma2=pooled_variance(rep.scores), anchor=f"Q{below}")  # fmt: skip
    if len(rep.self_vs_central):
        _self_vs_central(ws, rep)


def _self_vs_central(ws, rep) -> None:
    start = ws.max_row + 3
    ws.cell(row=start, column=1, value="自报成绩与集中测试对比").font = Font(bold=True)
    heads = ["单位", "自报人数", "自报均分%", "集中测试人数", "集中测试均分%", "差值", "标准误",
             "差值下限", "差值上限", "超出随机波动"]  # fmt: skip
    for j, h in enumerate(heads, start=1):
        ws.cell(row=start + 1, column=j, value=h).font = Font(bold=True)
    for i, r in enumerate(rep.self_vs_central.itertuples(), start=start + 2):
        vals = [r.unit, r.n_self, r.self_mean, r.n_central, r.central_mean, r.gap, r.gap_se,
                r.gap_lo, r.gap_hi, _flag(r.beyond_noise)]  # fmt: skip
        for j, v in enumerate(vals, start=1):
            c = ws.cell(row=i, column=j, value=_value(v))
            if j in (3, 5, 6, 7, 8, 9):
                c.number_format = NUM1


def _ranks_sheet(wb: Workbook, rep, charts: dict[str, bytes]) -> None:
    ws = _table(
        wb, SHEETS[4],
        ["职级", "人数", "平均得分率%", "中位数%", "标准差", "及格率", "区间下限", "区间上限", "人数过少"],
        [(r.rank, r.n, r.mean, r.median, r.sd, r.pass_rate, r.pass_lo, r.pass_hi, _flag(r.small_n))
         for r in rep.by_rank.itertuples()],
        {2: INT, 3: NUM1, 4: NUM1, 5: NUM1, 6: PCT, 7: PCT, 8: PCT},
    )  # fmt: skip
    _scale(ws, 6)
    # Excel's box-and-whisker chart cannot be written by openpyxl: the picture stays
    _image(ws, charts.get("box_by_rank"), "K2", 520)


def _mastery_rows(table, assessed):
    """Rows of a mastery table with the interval and the weak flag (``notice.weak``)."""
    a = assessed.set_index("category") if len(assessed) else assessed
    for r in table.itertuples():
        w = a.loc[r.category] if r.category in a.index else None
        yield (r.category, r.facility, r.n_items, r.n_attempts, r.n_responses,
               _flag(r.unreliable), None if w is None else w["lo"],
               None if w is None else w["hi"], "" if w is None else _flag(w["weak"]))  # fmt: skip


MASTERY_HEADERS = ["掌握程度", "题数", "作答人数", "作答人次", "题目过少", "95%区间下限",
                   "95%区间上限", "明显偏弱"]  # fmt: skip
MASTERY_FORMATS = {2: PCT, 3: INT, 4: INT, 5: INT, 7: PCT, 8: PCT}


def _sources_sheet(wb: Workbook, rep) -> None:
    overall = weak.overall_mastery(rep.responses)
    assessed = weak.assess(rep.responses, "source_name", overall)
    ws = _table(wb, SHEETS[5], ["法规", *MASTERY_HEADERS], _mastery_rows(rep.by_source, assessed),
                MASTERY_FORMATS, widths={1: 30})  # fmt: skip
    _scale(ws, 2)
    rows = ws._jifa_rows  # noqa: SLF001
    m = rep.unit_source
    if m.size:
        _heat_map(ws, m, ws.max_row + 3)
    xlsx_charts.mastery_by_source(ws, rows, cat_col=1, value_col=2, anchor="K2")


def _heat_map(ws, m, start: int) -> None:
    """The unit × source table with a red-yellow-green colour scale (Excel's heat map)."""
    ws.cell(row=start, column=1, value="单位 × 法规 掌握程度（%）").font = Font(bold=True)
    for j, c in enumerate(m.columns, start=2):
        ws.cell(row=start + 1, column=j, value=_value(str(c))).font = Font(bold=True)
    for i, (unit, row) in enumerate(m.iterrows(), start=start + 2):
        ws.cell(row=i, column=1, value=_value(str(unit)))
        for j, v in enumerate(row.to_numpy(), start=2):
            ws.cell(row=i, column=j, value=_value(float(v))).number_format = NUM1
    rng = f"B{start + 2}:{get_column_letter(m.shape[1] + 1)}{start + 1 + m.shape[0]}"
    ws.conditional_formatting.add(
        rng,
        ColorScaleRule(start_type="num", start_value=0, start_color="F8696B", mid_type="num",
                       mid_value=50, mid_color="FFEB84", end_type="num", end_value=100,
                       end_color="63BE7B"),
    )  # fmt: skip


def _kp_sheet(wb: Workbook, rep) -> None:
    overall = weak.overall_mastery(rep.responses)
    assessed = weak.assess(rep.responses, "knowledge_points", overall)
    ws = _table(wb, SHEETS[6], ["知识点", *MASTERY_HEADERS],
                _mastery_rows(rep.by_knowledge_point.sort_values("facility"), assessed),
                MASTERY_FORMATS, widths={1: 30})  # fmt: skip
    _scale(ws, 2)
    if len(rep.by_type):
        start = ws.max_row + 3
        ws.cell(row=start, column=1, value="按题型").font = Font(bold=True)
        for i, r in enumerate(rep.by_type.itertuples(), start=start + 1):
            ws.cell(row=i, column=1, value=r.category)
            ws.cell(row=i, column=2, value=_value(r.facility)).number_format = PCT
            ws.cell(row=i, column=3, value=int(r.n_items))
            ws.cell(row=i, column=4, value=int(r.n_attempts))


def _items_sheet(wb: Workbook, rep) -> None:
    ws = _table(
        wb, SHEETS[7],
        ["题号", "题型", "法规", "知识点", "作答人数", "分值", "通过率", "标准差(分)", "标准差/分值",
         "随机猜测得分", "预期权重%", "有效权重%", "区分度指数", "区分度评价", "区分效率%", "提示"],
        [(r.question_code, type_label(r.type), r.source_name, r.knowledge_points, r.n, r.max_marks,
          r.facility, r.sd, r.sd_fraction, r.guess, r.intended_weight, r.effective_weight,
          r.discrimination, r.discrimination_label, r.efficiency, r.flags)
         for r in rep.item_table.itertuples()],
        {5: INT, 6: NUM1, 7: PCT, 8: NUM2, 9: PCT, 10: PCT, 11: NUM2, 12: NUM2, 13: NUM1, 15: NUM1},
        widths={3: 22, 4: 18, 16: 40},
    )  # fmt: skip
    _scale(ws, 7)
    _bar(ws, 13, "5A8AC6")
    xlsx_charts.difficulty_discrimination(ws, ws._jifa_rows, x_col=7, y_col=13, anchor="R2")  # noqa: SLF001


def _options_sheet(wb: Workbook, rep) -> None:
    _table(
        wb, SHEETS[8],
        ["题号", "题型", "选项", "正确答案", "高分组选择比例", "低分组选择比例", "全体选择比例",
         "高分组人数", "低分组人数", "作答人数"],
        [(r.question_code, type_label(r.type), r.option, "✓" if r.is_key else "", r.top, r.bottom,
          r.all, r.n_top, r.n_bottom, r.n)
         for r in rep.option_table.itertuples()],
        {5: PCT, 6: PCT, 7: PCT, 8: INT, 9: INT, 10: INT},
    )  # fmt: skip


def _people_sheet(wb: Workbook, rep, mask_names: bool) -> None:
    s = rep.scores.sort_values(["top_unit_name", "person_no"]) if len(rep.scores) else rep.scores
    ws = _table(
        wb, SHEETS[9],
        ["人员编号", "姓名", "单位", "所在组织", "职级", "得分", "满分", "得分率%", "是否及格"],
        [(r.person_no, mask_name(str(r.person_name)) if mask_names else r.person_name,
          r.top_unit_name, r.unit_name, r.rank, r.score, r.max_score, r.pct,
          ("及格" if r.passed else "不及格") if rep.has_pass_rate else "不适用")
         for r in s.itertuples()],
        {6: NUM1, 7: NUM1, 8: NUM1}, widths={3: 20, 4: 22},
    )  # fmt: skip
    _bar(ws, 8)


def build(rep, charts: dict[str, bytes] | None = None, *, mask_names: bool = False) -> Workbook:
    """The workbook of ``rep``; ``charts`` gives the PNG of the chart openpyxl cannot
    write natively (the box plot by rank)."""
    charts = charts or {}
    wb = Workbook()
    wb.remove(wb.active)
    _notes_sheet(wb, rep)
    _audit_sheet(wb, rep)
    _overview_sheet(wb, rep)
    _units_sheet(wb, rep)
    _ranks_sheet(wb, rep, charts)
    _sources_sheet(wb, rep)
    _kp_sheet(wb, rep)
    _items_sheet(wb, rep)
    _options_sheet(wb, rep)
    _people_sheet(wb, rep, mask_names)
    return wb


def write(rep, path: str | Path, charts: dict[str, bytes] | None = None, **kw) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    build(rep, charts, **kw).save(path)
    return path


def to_bytes(rep, charts: dict[str, bytes] | None = None, **kw) -> bytes:
    buf = io.BytesIO()
    build(rep, charts, **kw).save(buf)
    return buf.getvalue()
