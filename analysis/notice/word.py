"""The notice as a Word document in the GB/T 9704-2012 layout (``layout``), for the
commission's office to edit in Word or WPS before sign-off.

Order (GB/T 9704-2012 7.3): title, body with headings 一、 and （一）, charts with
captions, the attachment list (附件说明), the issuer and date (落款), then each long
table as an attachment (附件) on a page of its own.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from PIL import Image

from analysis.notice import content, layout

_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_SPACE_BY_CJK = re.compile(rf"(?<=[{_CJK}]) +| +(?=[{_CJK}])")


def tight(text: str) -> str:
    """No spaces between Chinese and Latin text in an official document ("参测 6 人" ->
    "参测6人"); the web versions keep them."""
    return _SPACE_BY_CJK.sub("", text)


#: tables with more rows than this go to an attachment instead of the body
LONG_TABLE = 8
FIGURE_WIDTH_MM, FIGURE_MAX_HEIGHT_MM = 150.0, 170.0
UNIT_WIDTHS_MM = (46, 14, 26, 22, 48)
MASTERY_WIDTHS_MM = (58, 22, 40, 14, 22)
ABSENT_WIDTHS_MM = (16, 70, 70)
FIGURES = (
    ("histogram", "成绩分布"),
    ("pass_rate_by_unit", "各单位及格率（95% 置信区间）"),
    ("mastery_by_source", "各法规掌握程度"),
    ("unit_source_heatmap", "单位与法规掌握程度"),
)


class _Notice:
    """Writes the paragraphs in order; attachments are collected and written last."""

    def __init__(self, ctx: dict, charts: dict[str, bytes]):
        self.c = ctx
        self.charts = charts
        self.doc = Document()
        layout.setup(self.doc)
        #: (title, headers, rows, column widths in mm, note under the table)
        self.attachments: list[tuple[str, tuple, list[list[str]], tuple, str]] = []
        self.figure_no = 0

    # -------------------------------------------------------------- building blocks

    def para(self, text: str = "", style: str | None = None):
        return self.doc.add_paragraph(tight(text), style=style)

    def heading(self, text: str, level: int = 1):
        return self.para(text, "公文一级标题" if level == 1 else "公文二级标题")

    def figure(self, name: str, caption: str) -> None:
        png = self.charts.get(name)
        if not png:
            return
        with Image.open(io.BytesIO(png)) as im:
            w, h = im.size
        width = min(FIGURE_WIDTH_MM, FIGURE_MAX_HEIGHT_MM * w / h)
        self.para(style="图片").add_run().add_picture(io.BytesIO(png), width=Mm(width))
        self.figure_no += 1
        self.para(f"图{self.figure_no}　{caption}", "图注")

    def table(self, headers, rows: list[list[str]], widths_mm) -> None:
        t = self.doc.add_table(rows=1, cols=len(headers))
        t.style = self.doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        for column, width in zip(t.columns, widths_mm, strict=True):
            column.width = Mm(width)  # the table grid, which LibreOffice follows
        for cells, style in (([*headers], "表头文字"), *((r, "表格文字") for r in rows)):
            row = t.rows[0] if style == "表头文字" else t.add_row()
            for cell, text, width in zip(row.cells, cells, widths_mm, strict=True):
                cell.width = Mm(width)
                p = cell.paragraphs[0]
                p.style = self.doc.styles[style]
                p.add_run(tight(text))
        # repeat the header row on every page of a long table
        tbl = self.doc.element.body.findall(qn("w:tbl"))[-1]
        header = OxmlElement("w:tblHeader")
        tbl.findall(qn("w:tr"))[0].get_or_add_trPr().append(header)

    def attach(self, title: str, headers, rows, widths_mm, note: str = "") -> str:
        """Keep a long table for an attachment page; returns the body's reference to it."""
        self.attachments.append((title, tuple(headers), rows, tuple(widths_mm), note))
        return f"详见附件{len(self.attachments)}。"

    # -------------------------------------------------------------- the sections

    def head(self) -> None:
        self.para(self.c["title"], "公文标题")
        if self.c["cutoff"]:
            self.para(f"（数据截止：{self.c['cutoff']}）", "数据截止")
        self.para()

    def participation(self) -> None:
        c = self.c
        self.heading("一、参测情况")
        self.para(content.participation_sentence(c))
        if not c["absent"]:
            return
        rows = [[str(i), a["unit"], a["name"]] for i, a in enumerate(c["absent"], start=1)]
        if len(rows) <= LONG_TABLE:
            self.para(content.absent_sentence(c))
        else:
            see = self.attach("缺考人员名单", ("序号", "单位", "姓名"), rows, ABSENT_WIDTHS_MM)
            self.para(f"缺考人员名单{see}")

    def overall(self) -> None:
        self.heading("二、总体成绩")
        self.para(content.overall_sentence(self.c))
        self.figure(*FIGURES[0])

    def units(self) -> None:
        c = self.c
        self.heading("三、各单位成绩")
        rows = [content.unit_cells(u) for u in c["units"]]
        note = content.SMALL_N_NOTE if c["small_units"] else ""
        if len(rows) > LONG_TABLE:
            see = self.attach("各单位成绩统计表", content.UNIT_HEADERS, rows, UNIT_WIDTHS_MM, note)
            self.para(content.UNIT_INTRO + see)
        else:
            self.para(content.UNIT_INTRO)
            if rows:
                self.table(content.UNIT_HEADERS, rows, UNIT_WIDTHS_MM)
            if note:
                self.para(note)
        self.figure(*FIGURES[1])
        if c["gaps"]:
            self.para(content.gaps_sentence(c))

    def weak_points(self) -> None:
        c = self.c
        self.heading("四、薄弱环节")
        self.heading("（一）法规", 2)
        headers = ("法规", *content.MASTERY_HEADERS[1:])
        rows = [content.mastery_cells(r) for r in c["sources"]]
        if len(rows) > LONG_TABLE:
            self.para(c["sources_sentence"] + self.attach("各法规掌握情况", headers, rows,
                                                          MASTERY_WIDTHS_MM))  # fmt: skip
        else:
            self.para(c["sources_sentence"])
            if rows:
                self.table(headers, rows, MASTERY_WIDTHS_MM)
        self.figure(*FIGURES[2])
        self.heading("（二）知识点", 2)
        self.para(c["kps_sentence"])
        self.figure(*FIGURES[3])
        self.para(c["weak_rule"])
        self.para(content.CLOSING)

    def draw(self) -> None:
        lines = content.draw_lines(self.c)
        if not lines:
            return
        self.heading("五、抽样公证信息")
        for line in lines:
            self.para(line)

    def attachment_list(self) -> None:
        """附件说明: 附件：1. …, further names aligned under the first (7.3.4)."""
        if not self.attachments:
            return
        self.para()
        for i, (title, *_rest) in enumerate(self.attachments, start=1):
            number = f"{i}. " if len(self.attachments) > 1 else ""
            if i == 1:
                self.para(f"附件：{number}{title}")
            else:
                p = self.para(f"{number}{title}")
                p.paragraph_format.first_line_indent = Pt(0)
                p.paragraph_format.left_indent = Pt(5 * layout.CHAR_PITCH_PT)

    def signature(self) -> None:
        """落款 of an unsealed document (7.3.5.2)."""
        lines, date = self.c["issuer_lines"], self.c["date"]
        issuer_right, date_right = layout.signature_indents(lines, date)
        self.para()
        for text in [*lines, date]:
            p = self.para(text, "落款")
            right = date_right if text is date else issuer_right
            p.paragraph_format.right_indent = Pt(right * layout.CHAR_PITCH_PT)

    def attachment_pages(self) -> None:
        """Each attachment on a new page: 附件N (黑体, top left), its title centred on
        the third line, then the table (7.3.4, 8.2)."""
        many = len(self.attachments) > 1
        for i, (title, headers, rows, widths, note) in enumerate(self.attachments, start=1):
            label = self.para(f"附件{i}" if many else "附件", "附件标识")
            label.paragraph_format.page_break_before = True
            self.para()
            self.para(title, "附件标题")
            self.para()
            self.table(headers, rows, widths)
            if note:
                self.para(note)

    def build(self):
        self.head()
        self.participation()
        self.overall()
        self.units()
        self.weak_points()
        self.draw()
        self.attachment_list()
        self.signature()
        self.attachment_pages()
        self.properties()
        return self.doc

    def properties(self) -> None:
        """Title, language and the notice's date in the file properties (not the
        template's author, comment and 2013 dates)."""
        props = self.doc.core_properties
        props.title, props.language = self.c["title"], "zh-CN"
        props.author = props.comments = ""
        props.last_modified_by = ""
        day = self.c.get("day")
        if day is not None:
            props.created = props.modified = dt.datetime(day.year, day.month, day.day)


def build(ctx: dict, charts: dict[str, bytes]):
    """The ``docx.Document`` of the notice with content ``ctx`` (``content.context``)."""
    return _Notice(ctx, charts).build()


def to_bytes(ctx: dict, charts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    build(ctx, charts).save(buf)
    return buf.getvalue()
