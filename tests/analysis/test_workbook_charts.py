"""The workbook's native charts, read back with openpyxl and from the package XML: the
types, the data they refer to, the Wilson error bars; the heat map's colour scale and
the pictures Excel cannot draw stay."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
from lxml import etree
from openpyxl import load_workbook
from openpyxl.chart import BarChart, ScatterChart

from analysis import charts, report, workbook
from tests.analysis.test_notice_word import many_units_frame


@pytest.fixture(scope="module")
def data():
    rep = report.compute(many_units_frame(), pass_mark=2, total_points=3, title="测试")
    pngs = {"box_by_rank": charts.render_all(rep)["box_by_rank"]}
    return rep, workbook.to_bytes(rep, pngs)


def _charts(ws):
    return ws._charts  # noqa: SLF001 - openpyxl keeps the charts it reads here


def _ref(series_part) -> str:
    return series_part.numRef.f if series_part.numRef is not None else series_part.strRef.f


def test_native_charts_of_the_right_types(data):
    _, raw = data
    wb = load_workbook(io.BytesIO(raw))
    kinds = {name: [type(c) for c in _charts(wb[name])] for name in wb.sheetnames}
    assert kinds["总体概况"] == [BarChart]
    assert kinds["单位排名"] == [BarChart, ScatterChart]  # pass rates, funnel plot
    assert kinds["法规掌握"] == [BarChart]
    assert kinds["题目分析"] == [ScatterChart]
    assert _charts(wb["总体概况"])[0].type == "col"  # histogram columns
    assert _charts(wb["单位排名"])[0].type == "bar"  # horizontal bars
    # the box plot has no Excel chart type openpyxl can write: it stays a picture
    assert wb["职级对比"]._images  # noqa: SLF001


def test_charts_refer_to_the_tables(data):
    rep, raw = data
    wb = load_workbook(io.BytesIO(raw))
    n_units = len(rep.by_unit)
    s = _charts(wb["单位排名"])[0].series[0]
    assert _ref(s.val) == f"'单位排名'!$G$2:$G${n_units + 1}"
    assert _ref(s.cat) == f"'单位排名'!$B$2:$B${n_units + 1}"
    ws = wb["单位排名"]
    assert ws["G1"].value == "及格率" and ws["B1"].value == "单位"
    # Wilson error bars: minus = rate − lower bound, plus = upper bound − rate
    eb = s.errBars
    assert eb.errValType == "cust" and eb.errBarType == "both"
    assert eb.minus.numRef.f == f"'单位排名'!$N$2:$N${n_units + 1}"
    assert eb.plus.numRef.f == f"'单位排名'!$O$2:$O${n_units + 1}"
    for row in ws.iter_rows(min_row=2, max_row=n_units + 1, values_only=True):
        rate, lo, hi, minus, plus = row[6], row[7], row[8], row[13], row[14]
        assert minus == pytest.approx(rate - lo) and plus == pytest.approx(hi - rate)
    m = _charts(wb["法规掌握"])[0].series[0]
    assert _ref(m.val) == f"'法规掌握'!$B$2:$B${len(rep.by_source) + 1}"
    sc = _charts(wb["题目分析"])[0].series[0]
    n_items = len(rep.item_table)
    assert _ref(sc.xVal) == f"'题目分析'!$G$2:$G${n_items + 1}"
    assert _ref(sc.yVal) == f"'题目分析'!$M$2:$M${n_items + 1}"
    assert wb["题目分析"]["G1"].value == "通过率" and wb["题目分析"]["M1"].value == "区分度指数"


def test_histogram_data_counts_every_attempt(data):
    rep, raw = data
    ws = load_workbook(io.BytesIO(raw))["总体概况"]
    s = _charts(ws)[0].series[0]
    m = re.fullmatch(r"'总体概况'!\$E\$2:\$E\$(\d+)", _ref(s.val))
    assert m
    counts = [ws.cell(row=r, column=5).value for r in range(2, int(m.group(1)) + 1)]
    centres = [ws.cell(row=r, column=4).value for r in range(2, int(m.group(1)) + 1)]
    assert sum(counts) == len(rep.scores) == 60
    # by hand: scores 0–3 in steps of 1 point; the fixture's five scores (3, 2, 1, 1, 0)
    # repeated in 12 units
    assert centres == [0, 1, 2, 3] and counts == [12, 24, 12, 12]
    assert np.allclose(np.diff(centres), 1.0)  # one score step per bar, as in charts.histogram_bins


def test_package_lists_the_charts_and_keeps_the_heat_map(data):
    _, raw = data
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        names = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        xml = {n: z.read(n).decode() for n in names}
        sheet_xml = z.read("xl/worksheets/sheet6.xml").decode()  # 法规掌握
    assert len(names) == 5
    ns = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
    trees = [etree.fromstring(x.encode()) for x in xml.values()]
    assert sum(bool(t.findall(".//c:barChart", ns)) for t in trees) == 3
    assert sum(bool(t.findall(".//c:scatterChart", ns)) for t in trees) == 2
    err = [e for t in trees for e in t.findall(".//c:errBars/c:errValType", ns)]
    assert [e.get("val") for e in err] == ["cust"]
    assert "<colorScale>" in sheet_xml  # the unit × source heat map stays


def test_funnel_limits_by_hand(data):
    _, raw = data
    ws = load_workbook(io.BytesIO(raw))["单位排名"]
    funnel = _charts(ws)[1]
    assert len(funnel.series) == 6  # the units, the grand mean, four control limits
    units = funnel.series[0]
    assert (
        _ref(units.xVal) == "'单位排名'!$C$2:$C$13" and _ref(units.yVal) == "'单位排名'!$D$2:$D$13"
    )
    col = workbook.FUNNEL_COL
    heads = [ws.cell(row=1, column=col + j).value for j in range(6)]
    assert heads == ["人数", "全区均值", "95%下限", "95%上限", "99.8%下限", "99.8%上限"]
    # by hand: every unit has the fixture's five scores 100, 66.7, 33.3, 33.3, 0 (%): grand
    # mean 46.667, pooled variance 5777.8 / 4 = 1444.4, n = 5: 46.667 ± 1.96 · √(1444.4/5)
    row = [ws.cell(row=2, column=col + j).value for j in range(6)]
    assert row[0] == 5 and row[1] == pytest.approx(46.667, abs=1e-3)
    assert row[2] == pytest.approx(13.353, abs=1e-2) and row[3] == pytest.approx(79.98, abs=1e-2)
    assert row[5] == pytest.approx(46.667 + 3 * 16.997, abs=1e-2)
