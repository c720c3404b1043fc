"""The published notice on a phone (390 × 844): its tables fit the screen without hiding a
column, in the web notice and in the WeChat article."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis import notice, report
from tests.analysis.test_notice_word import ISSUER, _absent, many_units_frame, plain_pngs

pytestmark = pytest.mark.browser

CELLS_OFF_SCREEN = """() => {
  const w = document.documentElement.clientWidth;
  const off = [];
  for (const td of document.querySelectorAll('td')) {
    const r = td.getBoundingClientRect();
    if (r.width === 0 || r.left < -1 || r.right > w + 1) off.push(td.textContent);
  }
  return off;
}"""


@pytest.fixture(scope="module")
def files():
    r = report.compute(many_units_frame(), pass_mark=2, total_points=3, title="纪法知识测试")
    r.participation = {"enrolled": 61, "sat": 60, "attempts": 60, "absent": _absent(1)}
    out = notice.publication(r, plain_pngs(), issuer=ISSUER, date=dt.date(2026, 11, 29))
    return out


@pytest.mark.parametrize("name", ["notice.html", "wechat/article.html"])
def test_notice_fits_a_phone(phone, files, tmp_path, name):
    for rel, data in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    phone.goto((tmp_path / name).as_uri())
    width = phone.evaluate("document.documentElement.clientWidth")
    assert phone.evaluate("document.documentElement.scrollWidth") <= width
    assert phone.evaluate(CELLS_OFF_SCREEN) == []
    # every unit and its pass rate interval are on screen as text
    body = phone.inner_text("body")
    assert "第12镇" in body and "2026年11月29日" in body
    if name == "notice.html":
        labels = phone.evaluate(
            "() => getComputedStyle(document.querySelector('td:nth-child(2)'), '::before').content"
        )
        assert labels == '"人数"'  # each stacked cell names its column
    phone.screenshot(path=str(tmp_path / "phone.png"), full_page=False)
