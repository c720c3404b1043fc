"""A law source or knowledge point is a part of the paper: its statistics report the
score rate and no pass rate (the paper's pass mark applies to the whole paper only), in
the report, the JSON, the workbook and the notice. Hand-computed on the fixture of
``test_stats`` (5 attempts × 3 one-point items, pass mark 2 of 3)."""

from __future__ import annotations

import io
import json
import math

import pytest
from openpyxl import load_workbook

from analysis import charts, notice, report, workbook
from tests.analysis.test_stats import frame


@pytest.fixture
def full():
    return report.compute(frame(), pass_mark=2, total_points=3, title="测试")


def test_a_law_source_reports_its_score_rate_and_no_pass_rate(full):
    # 刑法 = items 1 and 2: scores 2, 2, 1, 1, 0 of 2 -> mean 1.2, score rate 60 %.
    # The paper's mark (2) applied to this part would claim a 40 % pass rate.
    rep = report.filtered(full, {"source": "刑法"})
    assert rep.part == "法规：刑法" and rep.pass_mark is None and not rep.has_pass_rate
    assert rep.total_points == 2
    o = rep.overall
    assert o["n"] == 5 and o["mean"] == pytest.approx(1.2)
    assert o["mean_pct"] == pytest.approx(60.0)
    assert o["pass_rate"] is None and o["passed"] is None
    assert rep.by_unit["pass_rate"].isna().all() and rep.by_rank["pass_rate"].isna().all()
    # per unit, the score rate: 甲镇 (2, 2) 100 %, 乙局 (1, 1, 0) 33.3 %
    means = dict(zip(rep.by_unit["top_unit_name"], rep.by_unit["mean"], strict=True))
    assert means == pytest.approx({"甲镇": 100.0, "乙局": 100 / 3})


def test_a_knowledge_point_reports_its_score_rate_and_no_pass_rate(full):
    # 留置 = items 2 (受贿罪、留置) and 3: scores 2, 1, 0, 1, 0 of 2 -> 0.8, 40 %
    rep = report.filtered(full, {"kp": "留置"})
    assert rep.part == "知识点：留置" and not rep.has_pass_rate
    assert rep.overall["mean"] == pytest.approx(0.8)
    assert rep.overall["mean_pct"] == pytest.approx(40.0)
    assert rep.overall["pass_rate"] is None
    assert sorted(rep.item_table["question_code"]) == ["Q2", "Q3"]
    assert report.knowledge_points(full) == ["受贿罪", "留置"]


def test_a_unit_or_rank_filter_keeps_the_whole_paper_and_its_pass_rate(full):
    # 甲镇: attempts 1 and 2 score 3 and 2 of 3, both reach the mark 2
    rep = report.filtered(full, {"unit": "甲镇"})
    assert rep.has_pass_rate and rep.part == "" and rep.pass_mark == 2
    assert rep.overall["pass_rate"] == pytest.approx(1.0)
    rep = report.filtered(full, {"rank": "一般干部"})  # attempts 4 (1) and 5 (0)
    assert rep.overall["pass_rate"] == pytest.approx(0.0)
    assert report.filtered(full, {"unit": " ", "kp": ""}) is full


def test_the_json_says_why_there_is_no_pass_rate(full):
    data = report.filtered(full, {"source": "刑法"}).to_json()
    text = json.dumps(data, allow_nan=False, ensure_ascii=False)
    assert data["pass_mark"] is None and data["overall"]["pass_rate"] is None
    assert data["part"] == "法规：刑法" and data["pass_rate_note"] == report.NO_PASS_RATE
    assert all(u["pass_rate"] is None for u in data["by_unit"]) and "NaN" not in text
    whole = full.to_json()
    assert whole["pass_rate_note"] is None and whole["overall"]["pass_rate"] == pytest.approx(0.4)


def test_workbook_and_notice_of_a_part_state_no_pass_rate(full):
    rep = report.filtered(full, {"source": "刑法"})
    pngs = charts.render_all(rep)
    assert "pass_rate_by_unit" not in pngs and "histogram" in pngs
    wb = load_workbook(io.BytesIO(workbook.to_bytes(rep, pngs)))
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    overview = {r[0].value: r[1].value for r in wb.worksheets[2].iter_rows(min_row=2) if r[0].value}
    assert "及格人数" not in overview and overview["及格率"].startswith("不适用")
    assert any(report.NO_PASS_RATE in c for c in cells)
    import datetime as dt

    day = dt.date(2026, 11, 29)
    out = notice.files(rep, pngs, issuer="某纪委", date=day)
    text = out["notice.txt"].decode("utf-8")
    assert "只含法规：刑法的试题（满分 2 分）" in text and report.NO_PASS_RATE in text
    assert "及格线" not in text.replace(report.NO_PASS_RATE, "")
    assert "平均分 1.2 分（得分率 60.0%）" in text
    assert report.NO_PASS_RATE in out["notice.html"].decode("utf-8")
    assert notice.docx_bytes(rep, pngs, issuer="某纪委", date=day)[:2] == b"PK"
    whole = notice.files(full, {}, issuer="某纪委", date=day)["notice.txt"].decode("utf-8")
    assert "及格线 2 分" in whole and "及格率 40.0%" in whole
    assert not math.isnan(rep.overall["mean"])
