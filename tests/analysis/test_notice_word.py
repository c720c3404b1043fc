"""The Word notice read back with python-docx: GB/T 9704-2012 page, fonts, sizes, page
numbers, the issuer and date, attachments, masked names; and LibreOffice opens it."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import zipfile

import pandas as pd
import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt
from lxml import etree
from PIL import Image

from analysis import charts, notice, report
from analysis.notice import layout
from tests.analysis.test_stats import frame

ISSUER = "中共示范区纪律检查委员会　示范区监察委员会"
DAY = dt.date(2026, 11, 29)
UNITS = [f"第{i}镇" for i in range(1, 13)]


def many_units_frame() -> pd.DataFrame:
    """The hand fixture of test_stats repeated for 12 units (60 attempts)."""
    base = frame()
    parts = []
    for k, unit in enumerate(UNITS):
        f = base.copy()
        f["attempt_id"] = f["attempt_id"] + 10 * k
        f["person_no"] = f["person_no"] + f"-{k}"
        for c in ("unit_name", "top_unit_code", "top_unit_name"):
            f[c] = unit
        parts.append(f)
    return pd.concat(parts, ignore_index=True)


def _absent(n: int) -> list[dict]:
    return [{"person_no": f"P{i}", "name": f"王小明{i}", "unit": "第1镇", "rank": "乡科级"}
            for i in range(n)]  # fmt: skip


@pytest.fixture(scope="module")
def small():
    r = report.compute(frame(), pass_mark=2, total_points=3, title="纪法知识测试")
    r.participation = {"enrolled": 6, "sat": 5, "attempts": 5, "absent": _absent(1)}
    return r, charts.render_all(r)


def plain_pngs() -> dict[str, bytes]:
    """Stand-in pictures (rendering the real charts is tested with ``small``)."""
    out = {}
    for name in notice.NOTICE_CHARTS:
        buf = io.BytesIO()
        Image.new("RGB", (700, 400), "white").save(buf, format="PNG")
        out[name] = buf.getvalue()
    return out


@pytest.fixture(scope="module")
def large():
    r = report.compute(many_units_frame(), pass_mark=2, total_points=3, title="纪法知识测试")
    r.participation = {"enrolled": 72, "sat": 60, "attempts": 60, "absent": _absent(12)}
    return r, plain_pngs()


def _doc(rep, pngs, **kw) -> Document:
    data = notice.docx_bytes(rep, pngs, issuer=ISSUER, date=DAY, **kw)
    return Document(io.BytesIO(data))


def _rfonts(style_or_run_element, attr="eastAsia") -> str | None:
    rpr = style_or_run_element.find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
    return fonts.get(qn(f"w:{attr}")) if fonts is not None else None


def _near(length, mm: float) -> bool:
    return abs(length - Mm(mm)) <= Mm(0.1)


def test_page_a4_margins_type_area_and_grid(small):
    doc = _doc(*small)
    s = doc.sections[0]
    assert _near(s.page_width, 210) and _near(s.page_height, 297)
    assert _near(s.top_margin, 37) and _near(s.bottom_margin, 35)
    assert _near(s.left_margin, 28) and _near(s.right_margin, 26)
    assert _near(s.page_width - s.left_margin - s.right_margin, 156)
    assert _near(s.page_height - s.top_margin - s.bottom_margin, 225)
    # 22 lines: the line grid and the body's exact line spacing are 28.95 pt
    grid = doc.element.body.sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines" and grid.get(qn("w:linePitch")) == "579"
    normal = doc.styles["Normal"]
    pf = normal.paragraph_format
    assert pf.line_spacing_rule == WD_LINE_SPACING.EXACTLY
    assert pf.line_spacing.pt == pytest.approx(28.95)
    type_height_pt = Length(s.page_height - s.top_margin - s.bottom_margin).pt
    assert int(type_height_pt // pf.line_spacing.pt) == 22
    # 28 characters: 16 pt condensed by w:spacing (twentieths of a point) on a 156 mm line
    spacing = normal.element.find(qn("w:rPr")).find(qn("w:spacing"))
    condensed = normal.font.size.pt + int(spacing.get(qn("w:val"))) / 20
    type_width_pt = Length(s.page_width - s.left_margin - s.right_margin).pt
    assert int(type_width_pt // condensed) == 28 == layout.chars_per_line()


def test_fonts_sizes_and_fallbacks(small):
    doc = _doc(*small)
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16) and _rfonts(normal.element) == "仿宋_GB2312"
    fonts = normal.element.find(qn("w:rPr")).find(qn("w:rFonts"))
    assert fonts.get(qn("w:hint")) == "eastAsia" and fonts.get(qn("w:eastAsiaTheme")) is None
    title = doc.paragraphs[0]
    assert "通报" in title.text and title.style.name == "公文标题"
    assert title.style.font.size == Pt(22) and _rfonts(title.style.element) == "方正小标宋简体"
    assert (
        title.alignment is None
        and title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    )
    h1 = [p for p in doc.paragraphs if p.text.startswith("一、")]
    h2 = [p for p in doc.paragraphs if p.text.startswith("（一）")]
    assert h1 and h2
    assert _rfonts(h1[0].style.element) == "黑体" and h1[0].style.font.size == Pt(16)
    assert _rfonts(h2[0].style.element) == "楷体_GB2312" and h2[0].style.font.size == Pt(16)
    body = next(p for p in doc.paragraphs if p.text.startswith("本次测试"))
    assert body.style.name == "Normal" and body.paragraph_format.first_line_indent is None
    # fallbacks in the font table: the official fonts name their substitutes
    with zipfile.ZipFile(io.BytesIO(notice.docx_bytes(*small))) as z:
        table = etree.fromstring(z.read("word/fontTable.xml"))
    alt = {
        f.get(qn("w:name")): f.find(qn("w:altName")).get(qn("w:val"))
        for f in table.findall(qn("w:font"))
        if f.find(qn("w:altName")) is not None
    }
    assert alt["仿宋_GB2312"] == "仿宋" and alt["仿宋"] == "宋体"
    assert alt["楷体_GB2312"] == "楷体" and alt["方正小标宋简体"] == "宋体"
    charset = {f.get(qn("w:name")): f.find(qn("w:charset")) for f in table.findall(qn("w:font"))}
    assert charset["仿宋_GB2312"].get(qn("w:val")) == "86"  # GB2312


def _footer_fields(footer) -> tuple[str, str]:
    p = footer.paragraphs[0]
    instr = "".join(t.text for t in p._p.iter(qn("w:instrText")))  # noqa: SLF001
    return p.text, instr


def test_page_numbers_outer_edge_4hao(small):
    doc = _doc(*small)
    assert doc.settings.odd_and_even_pages_header_footer
    s = doc.sections[0]
    for footer, align, indent in (
        (s.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right_indent"),
        (s.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left_indent"),
    ):
        text, instr = _footer_fields(footer)
        assert text.startswith("— ") and text.endswith(" —") and instr.strip() == "PAGE"
        p = footer.paragraphs[0]
        assert p.alignment == align and getattr(p.paragraph_format, indent) == Pt(14)
        assert {r.font.size for r in p.runs} == {Pt(14)}
        assert {_rfonts(r.element) for r in p.runs} == {"宋体"}


def test_issuer_and_date_end_the_body_in_the_chinese_form(small):
    doc = _doc(*small)
    texts = [p.text for p in doc.paragraphs if p.text.strip()]
    assert texts[-3:] == ["中共示范区纪律检查委员会", "示范区监察委员会", "2026年11月29日"]
    sign = [p for p in doc.paragraphs if p.text in texts[-3:]]
    assert all(p.style.name == "落款" for p in sign)
    assert sign[0].style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.RIGHT
    # the date starts two characters right of the issuer (GB/T 9704-2012 7.3.5.2)
    issuer_right = sign[0].paragraph_format.right_indent.pt / layout.CHAR_PITCH_PT
    date_right = sign[2].paragraph_format.right_indent.pt / layout.CHAR_PITCH_PT
    assert issuer_right == pytest.approx(2, abs=0.01)  # twips rounding
    expected = layout.signature_indents(["中共示范区纪律检查委员会"], "2026年11月29日")[1]
    assert date_right == pytest.approx(expected, abs=0.01)


def test_signature_indents_by_hand():
    # issuer 12 characters; date: 年月日 3 + 8 digits × ½ + 5 changes of script × ¼ = 8.25
    assert layout.text_width("2026年11月29日") == 8.25
    assert layout.signature_indents(["中共示范区纪律检查委员会"], "2026年11月29日") == (2.0, 3.75)
    # a short issuer: the date keeps two characters, the issuer moves right
    assert layout.signature_indents(["区监委"], "2026年11月29日") == (9.25, 2.0)


def test_file_properties(small):
    props = _doc(*small).core_properties
    assert props.title == "关于纪法知识测试情况的通报" and props.author == ""
    assert props.created.date() == DAY and props.comments == "" and props.language == "zh-CN"


def test_no_issuer_or_date_leaves_blanks_to_fill(small):
    doc = Document(io.BytesIO(notice.docx_bytes(*small)))
    texts = [p.text for p in doc.paragraphs if p.text.strip()]
    assert texts[-2:] == ["（发文机关署名）", "　　　　年　　月　　日"]


def test_long_tables_become_attachments_after_the_signature(large):
    doc = _doc(*large)
    texts = [p.text for p in doc.paragraphs]
    # numbered in the order the body refers to them; no space between "1." and Chinese
    note = texts.index("附件：1.缺考人员名单")
    assert texts[note + 1] == "2.各单位成绩统计表"
    assert "缺考人员名单详见附件1。" in texts
    date = texts.index("2026年11月29日")
    assert note < date
    first = next(i for i, p in enumerate(doc.paragraphs) if p.text == "附件1")
    assert first > date and doc.paragraphs[first].paragraph_format.page_break_before
    assert doc.paragraphs[first].style.name == "附件标识" and "附件2" in texts
    assert texts[first + 2] == "缺考人员名单" and "各单位成绩统计表" in texts[first + 3 :]
    unit_table = next(t for t in doc.tables if t.cell(0, 0).text == "单位")
    assert len(unit_table.rows) == 1 + len(UNITS)
    header = unit_table.rows[0]._tr  # noqa: SLF001
    assert header.trPr.find(qn("w:tblHeader")) is not None  # repeats on every page
    assert {c.text.rstrip("*") for c in unit_table.columns[0].cells[1:]} == set(UNITS)
    # names stay masked in the attachment too
    names = [t for t in doc.tables if t.cell(0, 2).text == "姓名"][0]
    assert names.cell(1, 2).text == "王**0" and "王小明" not in "".join(texts)


def test_charts_embedded_and_names_masked(small):
    rep, pngs = small
    doc = _doc(rep, pngs)
    assert len(doc.inline_shapes) == len([k for k in notice.NOTICE_CHARTS if k in pngs]) == 4
    for shape in doc.inline_shapes:
        assert shape.width <= Mm(156)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "王小明0" not in text and "王**0" in text
    unmasked = _doc(rep, pngs, unmask=True)
    assert "王小明0" in "\n".join(p.text for p in unmasked.paragraphs)


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def test_libreoffice_opens_the_notice(large, tmp_path):
    """Debian's libreoffice-writer converts the notice to PDF and to text without
    complaint, and the text has the title, the table and the signature."""
    if SOFFICE is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true: libreoffice-writer-nogui is required (installed by .ci/run)")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    src = tmp_path / "notice.docx"
    src.write_bytes(notice.docx_bytes(*large, issuer=ISSUER, date=DAY))
    profile = f"-env:UserInstallation=file://{tmp_path / 'profile'}"
    for target in ("pdf", "txt:Text (encoded):UTF8"):
        proc = subprocess.run(
            [SOFFICE, profile, "--headless", "--norestore", "--convert-to", target,
             "--outdir", str(tmp_path), str(src)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    pdf = (tmp_path / "notice.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 3
    text = (tmp_path / "notice.txt").read_text(encoding="utf-8-sig")
    assert "关于纪法知识测试情况的通报" in text
    assert "各单位成绩统计表" in text and "第12镇" in text
    assert "2026年11月29日" in text and "示范区监察委员会" in text
