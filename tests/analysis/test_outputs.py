"""Charts, workbook and notice from the hand fixture (no database)."""

from __future__ import annotations

import io
import warnings
import zipfile

import pytest
from matplotlib.ft2font import FT2Font
from openpyxl import load_workbook

from analysis import charts, notice, report, workbook
from tests.analysis.test_stats import frame


@pytest.fixture(scope="module")
def rep():
    r = report.compute(frame(), pass_mark=2, total_points=3, title="测试考试")
    r.participation = {"enrolled": 6, "sat": 5, "attempts": 5,
                       "absent": [{"person_no": "P9", "name": "王小明", "unit": "甲镇", "rank": "乡科级"}]}  # fmt: skip
    r.draw = {"name": "抽样", "roster_sha256": "ab" * 32, "quota_rule": "20%,min=3",
              "algorithm_version": "v1", "entropy": "1" * 20, "seed": "1" * 20 + "|" + "ab" * 32,
              "strata": {"T1": {"name": "甲镇", "n": 5, "quota": 3}},
              "tickets": [{"stratum": "T1", "rank": 1, "person_no": "P1", "ticket": "0f" * 32,
                           "role": "selected"}],
              "replacements": [{"stratum": "T1", "excused": "P2", "replacement": "P3",
                                "reason": "=病假"}]}  # fmt: skip
    return r


def test_cjk_font_has_the_glyphs():
    family, path = charts.cjk_font()
    assert "CJK" in family or "Hei" in family or "Noto" in family
    font = FT2Font(path)
    for ch in "纪法知识测试及格率单位职级掌握程度热力图区分度":
        assert font.get_char_index(ord(ch)) != 0, ch


def test_every_chart_renders_without_warnings(rep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning
        pngs = charts.render_all(rep)
    assert set(pngs) == {"histogram", "pass_rate_by_unit", "funnel", "box_by_rank",
                         "mastery_by_source", "unit_source_heatmap", "difficulty_discrimination"}  # fmt: skip
    assert all(p.startswith(b"\x89PNG") for p in pngs.values())


def test_workbook_sheets_frozen_filters_values(rep):
    data = workbook.to_bytes(rep, charts.render_all(rep))
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == workbook.SHEETS
    for name in workbook.SHEETS:
        ws = wb[name]
        assert ws.freeze_panes in ("A2", "B2"), name
        for row in ws.iter_rows(values_only=True):
            for v in row:
                assert not (isinstance(v, str) and v.startswith("=")), (name, v)
    items = wb["题目分析"]
    assert items.auto_filter.ref and items.auto_filter.ref.startswith("A1:")
    head = [c.value for c in items[1]]
    row = {h: c for h, c in zip(head, items[2], strict=False)}
    assert isinstance(row["通过率"].value, float) and row["通过率"].number_format == "0.0%"
    assert items.conditional_formatting  # colour scale / data bar present
    assert wb["总体概况"]._charts and wb["职级对比"]._images  # native chart; box plot picture
    # the replacement reason "=病假" is neutralised, not a formula
    audit = [r for r in wb["抽样审计"].iter_rows(values_only=True) if r[0] == "替补记录"]
    assert audit[0][4] == "'=病假"
    kp = [r[1] for r in wb["知识点"].iter_rows(min_row=2, max_row=3, values_only=True)]
    assert kp == sorted(kp)  # weakest first
    person = wb["个人明细"]
    assert "张三1" in [c.value for c in person["B"]]  # the analyst workbook keeps names


def test_notice_masks_names_by_default(rep):
    pngs = charts.render_all(rep)
    files = notice.files(rep, pngs)
    html = files["notice.html"].decode()
    text = files["notice.txt"].decode()
    assert "王*明" in html and "王小明" not in html
    assert "王*明" in text and "王小明" not in text
    assert 'name="viewport"' in html and "charts/histogram.png" in html
    assert "ab" * 32 in text and "种子" in text
    assert "charts/histogram.png" in files
    unmasked = notice.files(rep, pngs, unmask=True)
    assert "王小明" in unmasked["notice.html"].decode()
    z = zipfile.ZipFile(io.BytesIO(notice.zip_bytes(rep, pngs)))
    assert "notice/notice.html" in z.namelist()


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三明", "张*明"), ("张三", "张*"), ("欧阳小明", "欧**明"), ("张", "张"), ("", "")],
)
def test_mask_name(name, masked):
    assert notice.mask_name(name) == masked
