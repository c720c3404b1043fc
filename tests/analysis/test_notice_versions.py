"""The web, text and WeChat versions of the notice: the WeChat HTML has inline styles only,
its pictures are separate files, every version ends with the issuer and the date, and
the web tables never hide a column on a phone."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from lxml import html as lxml_html

from analysis import notice, report
from tests.analysis.test_notice_word import ISSUER, _absent, many_units_frame, plain_pngs

DAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="module")
def rep():
    r = report.compute(many_units_frame(), pass_mark=2, total_points=3, title="纪法知识测试")
    r.participation = {"enrolled": 61, "sat": 60, "attempts": 60, "absent": _absent(1)}
    r.draw = {"name": "抽样", "roster_sha256": "ab" * 32, "quota_rule": "20%,min=3",
              "algorithm_version": "v1", "entropy": "1" * 20, "seed": "1" * 20 + "|" + "ab" * 32,
              "strata": {}, "tickets": [], "replacements": []}  # fmt: skip
    return r


def _wechat(rep, **kw) -> dict[str, bytes]:
    return notice.wechat_files(rep, plain_pngs(), issuer=ISSUER, date=DAY, **kw)


def test_wechat_html_has_inline_styles_only(rep):
    files = _wechat(rep)
    raw = files["article.html"].decode()
    assert "<style" not in raw.lower() and "class=" not in raw and "<script" not in raw.lower()
    assert " id=" not in raw
    tree = lxml_html.document_fromstring(raw)
    body = tree.find("body")
    styled = [el for el in body.iterdescendants() if isinstance(el.tag, str)]
    assert styled and all(el.get("style") for el in styled if el.tag not in ("br",))
    assert not tree.xpath("//*[@class or @id]") and not tree.xpath("//style|//script|//link")
    assert not tree.xpath("//table")  # stacked blocks fit a phone


def test_wechat_pictures_are_separate_files_named_in_the_article(rep):
    files = _wechat(rep)
    tree = lxml_html.document_fromstring(files["article.html"].decode())
    srcs = [img.get("src") for img in tree.iter("img")]
    assert len(srcs) == 4 and all(src in files for src in srcs)
    assert all("/" not in src and src.endswith(".png") for src in srcs)
    readme = files["README.txt"].decode()
    assert all(src in readme for src in srcs)
    assert (
        files["article.txt"]
        == notice.files(rep, plain_pngs(), issuer=ISSUER, date=DAY)["notice.txt"]
    )
    z = zipfile.ZipFile(io.BytesIO(notice.wechat_zip(rep, plain_pngs())))
    assert {f"wechat/{s}" for s in srcs} | {"wechat/article.html"} <= set(z.namelist())


def _ends_with_signature(lines: list[str]) -> bool:
    return lines[-3:] == ["中共示范区纪律检查委员会", "示范区监察委员会", "2026年11月29日"]


def test_every_version_ends_with_issuer_and_date(rep):
    files = notice.files(rep, plain_pngs(), issuer=ISSUER, date=DAY)
    text = files["notice.txt"].decode().strip().splitlines()
    assert _ends_with_signature(text)
    for raw in (files["notice.html"], _wechat(rep)["article.html"]):
        tree = lxml_html.document_fromstring(raw.decode())
        paras = [p.text_content().strip() for p in tree.iter("p") if p.text_content().strip()]
        assert _ends_with_signature(paras)
    # the draw details come before the signature, in every version
    assert text.index("五、抽样公证信息") < text.index("中共示范区纪律检查委员会")


def test_web_tables_label_every_cell_and_stack_on_a_phone(rep):
    raw = notice.files(rep, plain_pngs())["notice.html"].decode()
    assert "@media (max-width:600px)" in raw and "content:attr(data-label)" in raw
    assert "nowrap" not in raw and "overflow-x" not in raw  # no column hidden off screen
    tree = lxml_html.document_fromstring(raw)
    tables = tree.xpath("//table")
    assert len(tables) == 2  # units and laws
    for t in tables:
        heads = [th.text_content() for th in t.xpath(".//thead//th")]
        for tr in t.xpath(".//tbody/tr"):
            assert [td.get("data-label") for td in tr.xpath("td")] == heads
    units = tables[0].xpath(".//tbody/tr")
    assert len(units) == 12


def test_weak_sources_are_named_only_when_clearly_below(rep):
    # the fixture has two laws of one and two questions: too few to call either weak
    txt = notice.files(rep, plain_pngs())["notice.txt"].decode()
    assert "不足以判断是否薄弱" in txt and "明显低于总体水平" not in txt
    ctx = notice.context(rep)
    assert not ctx["weak_sources"] and not ctx["weak_kps"]
    assert {r["name"] for r in ctx["sources"]} == {"刑法", "监察法"}


def test_publication_has_every_file(rep):
    out = notice.publication(rep, plain_pngs(), issuer=ISSUER, date=DAY)
    assert {"notice.html", "notice.txt", "notice.docx", "wechat/article.html",
            "wechat/article.txt", "charts/histogram.png"} <= set(out)  # fmt: skip
    assert out["notice.docx"].startswith(b"PK")


@pytest.mark.parametrize(
    ("day", "text"), [(dt.date(2026, 1, 5), "2026年1月5日"), (None, "　　　　年　　月　　日")]
)
def test_chinese_date(day, text):
    assert notice.cn_date(day) == text
