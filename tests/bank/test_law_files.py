"""Statutes from official files: a .docx (as the national law database publishes them) and
a saved web page give the same articles as the same statute imported from text; bad
files get a clear Chinese error."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import random
import re
import zipfile

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from core.errors import InvalidInput
from question_bank.lawfiles import file_kind, statute_text
from question_bank.lawtext import parse_law

from .conftest import CRIMINAL, SUPERVISION, needs_law

pytestmark = needs_law

_HEADING = re.compile(r"^第[零〇一二两三四五六七八九十百千\d]+[编章节]")


def official_lines(md: str) -> list[str]:
    """The Markdown statute as an official file has it: no ``#``, no INFO marker, headings
    spaced the official way (第一章　总　　则), footnotes left out (Word keeps them in
    footnotes, not in the body)."""
    lines = []
    for raw in md.splitlines():
        line = raw.strip()
        if not line or line == "<!-- INFO END -->" or line.startswith("①"):
            continue
        line = line.lstrip("#").strip()
        if _HEADING.match(line):
            line = line.replace(" ", "\u3000", 1)
        if line in ("附则", "总则"):
            line = line[0] + "\u3000\u3000" + line[1]
        lines.append(line)
    return lines


def _articles(parsed) -> list[tuple]:
    return [(a.key, a.label, a.number, a.suffix, a.part, a.chapter, a.section, a.text)
            for a in parsed.articles]  # fmt: skip


def make_docx(lines: list[str], *, seed: int = 7) -> bytes:
    """One paragraph a line; headings centred and bold; runs split at random places; a
    table of contents before the text, as the national law database's files have."""
    rng = random.Random(seed)
    doc = Document()
    doc.add_paragraph(lines[0]).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph("目\u3000\u3000录").alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in lines:
        if _HEADING.match(line):
            doc.add_paragraph(line)
    rest = lines[1:]
    i = 0
    while i < len(rest):
        line = rest[i]
        i += 1
        p = doc.add_paragraph()
        if _HEADING.match(line) or line.replace("\u3000", "") in ("附则", "总则"):
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.add_run(line).bold = True
            continue
        cuts = (
            sorted(rng.sample(range(1, len(line)), min(3, len(line) - 1))) if len(line) > 1 else []
        )
        for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True):
            p.add_run(line[a:b])
        if line.startswith("第四条"):
            # the article's next paragraph after a line break within the same paragraph
            p.add_run().add_break()
            p.add_run(rest[i])
            i += 1
    return _bytes(doc)


def _bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def make_html(lines: list[str], encoding: str = "gb18030") -> bytes:
    """A saved page of an official site: head, navigation, a script, a breadcrumb, one
    ``<p>`` a paragraph with &nbsp; and full-width spaces, a footer."""
    body = []
    for i, line in enumerate(lines[1:]):
        text = html.escape(line)
        if _HEADING.match(line) or line.replace("\u3000", "") in ("附则", "总则"):
            body.append(f'<p align="center"><strong>{text}</strong></p>')
        elif line.startswith("第") and "条" in line[:8]:
            number, _, rest = text.partition(" ")
            body.append(f'<p>&nbsp;&nbsp;&nbsp;&nbsp;<span class="tiao">{number}</span>'
                        f"\u3000{rest}</p>")  # fmt: skip
        else:
            body.append(f"<p>\u3000\u3000{text}</p>" if i % 2 else f"<p>&nbsp;&nbsp;{text}</p>")
    page = f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(lines[0])}_中国人大网</title>
<style>p{{text-indent:2em}} .x:before{{content:"第一条 样式"}}</style>
<script>var s = "第九十九条 脚本里的假条文"; document.write(s);</script></head>
<body>
<div class="top-nav"><a href="/">首页</a> | <a href="/flfg">法律法规</a></div>
<nav><ul><li>新闻</li><li>第一条 导航里的假条文</li></ul></nav>
<div class="breadcrumb">当前位置：首页 &gt; 法律法规库</div>
<div id="zoom" class="TRS_Editor">
<h1>{html.escape(lines[0])}</h1>
{chr(10).join(body)}
</div>
<div class="share">分享到：微信 微博</div>
<div class="footer">版权所有：全国人大常委会办公厅　联系我们<script>track()</script></div>
</body></html>"""
    return page.encode(encoding)


@pytest.fixture(scope="module")
def supervision():
    md = SUPERVISION.read_text(encoding="utf-8")
    return md, official_lines(md)


@pytest.fixture(scope="module")
def criminal():
    md = CRIMINAL.read_text(encoding="utf-8")
    return md, official_lines(md)


def test_docx_gives_the_same_articles_as_text(supervision):
    md, lines = supervision
    from_text = parse_law(md)
    data = make_docx(lines)
    assert file_kind(data, None) == "docx"
    from_docx = parse_law(statute_text(data, "监察法.docx"))
    assert len(from_docx.articles) == 78
    assert _articles(from_docx) == _articles(from_text)


def test_criminal_law_docx_same_articles_with_parts_chapters_sections(criminal):
    md, lines = criminal
    from_text = parse_law(md)
    from_docx = parse_law(statute_text(make_docx(lines, seed=11)))
    assert from_docx.counts == from_text.counts == {
        "articles": 505, "numbered": 452, "suffixed": 53, "named": 0
    }  # fmt: skip
    assert _articles(from_docx) == _articles(from_text)
    last = from_docx.articles[-1]
    # "附件一" ends the last article: its list is not part of the text
    assert last.chapter == "附则" and "惩治军人违反职责罪暂行条例" not in last.text


def test_html_page_gives_the_same_articles_as_text(supervision):
    md, lines = supervision
    data = make_html(lines)
    assert file_kind(data, "page.html") == "html" and file_kind(data, None) == "html"
    text = statute_text(data, "page.html")
    assert "假条文" not in text and "版权所有" not in text and "首页" not in text
    assert _articles(parse_law(text)) == _articles(parse_law(md))


def test_html_in_utf8_and_mhtml_archive(supervision):
    md, lines = supervision
    page = make_html(lines, "utf-8").replace(b"charset=gb2312", b"charset=utf-8")
    assert _articles(parse_law(statute_text(page))) == _articles(parse_law(md))
    archive = (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="B"\r\n\r\n--B\r\n'
        b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(page)
        + b"\r\n--B--\r\n"
    )
    assert file_kind(archive, "page.mhtml") == "mhtml"
    assert _articles(parse_law(statute_text(archive, "page.mhtml"))) == _articles(parse_law(md))


def test_word_heading_styles_become_headings():
    doc = Document()
    doc.add_paragraph("第一章\u3000总则", style="Heading 2")
    doc.add_paragraph("第一条\u3000甲。")
    doc.add_paragraph("附件一", style="Heading 2")
    doc.add_paragraph("不是条文的附件内容。")
    parsed = parse_law(statute_text(_bytes(doc)))
    assert [(a.key, a.chapter, a.text) for a in parsed.articles] == [("1", "第一章 总则", "甲。")]


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"PK\x03\x04 broken", "a.docx", "无法读取 Word 文件"),
        (_zip({"hello.txt": b"hi"}), "a.docx", "无法读取 Word 文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.doc", "另存为 .docx"),
        (b"%PDF-1.7 ...", "a.pdf", "不支持 PDF"),
        (b"<html><body><p>\xe6\xb2\xa1\xe6\x9c\x89\xe6\x9d\xa1\xe6\x96\x87</p></body></html>",
         "a.html", "没有识别到任何条文"),
        (b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi", "a.mhtml", "没有找到网页正文"),
        (b"\xff\xfe\x00\xd8 bad", "a.txt", "无法识别法规文本的编码"),
    ],
)  # fmt: skip
def test_bad_files_get_a_chinese_error(data, filename, message):
    with pytest.raises(InvalidInput) as err:
        parse_law(statute_text(data, filename))
    assert message in err.value.message


def test_xlsx_is_not_a_word_file(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "第一条 甲"
    path = tmp_path / "a.xlsx"
    wb.save(path)
    with pytest.raises(InvalidInput, match="无法读取 Word 文件"):
        statute_text(path.read_bytes(), "a.docx")


def test_import_from_docx_then_html_reports_no_changes(import_statute, supervision):
    md, lines = supervision
    first = import_statute(SUPERVISION, data=make_docx(lines))
    assert first.articles == 78
    # the same statute from a web page, as a later revision: nothing added, removed or changed
    second = import_statute(SUPERVISION, revision=dt.date(2025, 1, 1), data=make_html(lines))
    assert second.previous_revision == dt.date(2024, 12, 25)
    assert (second.added, second.removed, second.changed) == ([], [], [])
    assert second.counts == first.counts
    # and a real change in the web page is reported as one
    changed = [ln.replace("专责机关", "专门机关") for ln in lines]
    third = import_statute(SUPERVISION, revision=dt.date(2025, 6, 1), data=make_html(changed))
    assert third.changed == ["3"]


def test_cli_imports_a_docx_and_rejects_a_bad_one(runner, tmp_path, supervision):
    _, lines = supervision
    good = tmp_path / "监察法.docx"
    good.write_bytes(make_docx(lines))
    res = runner.invoke(["law", "import", str(good), "--source", "supervision_law",
                         "--revision", "2024-12-25"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "78 条" in res.output
    bad = tmp_path / "坏文件.docx"
    bad.write_bytes(b"PK\x03\x04 not really")
    res = runner.invoke(["law", "import", str(bad), "--source", "supervision_law",
                         "--revision", "2025-01-01"])  # fmt: skip
    assert res.exit_code == 1 and "无法读取 Word 文件" in res.output
    assert "Traceback" not in res.output


def test_web_upload_of_a_docx_and_of_a_bad_file(client, make_person, login, sources, supervision):
    _, lines = supervision
    token = login(make_person(password="Passw0rd!", roles=("analyst",)).person_no)

    def upload(data: bytes, name: str, revision: str):
        return client.post(
            "/bank/laws/supervision_law/import",
            data={"csrf_token": token, "revision": revision, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
            follow_redirects=True,
        )

    ok = upload(make_docx(lines), "监察法.docx", "2024-12-25")
    assert ok.status_code == 200 and "已导入 78 条" in ok.get_data(as_text=True)
    bad = upload(b"PK\x03\x04 broken", "坏.docx", "2025-01-01")
    assert bad.status_code == 200 and "无法读取 Word 文件" in bad.get_data(as_text=True)
