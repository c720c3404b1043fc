"""GB/T 9704-2012 (党政机关公文格式) page, styles, fonts and page numbers for python-docx.

Figures of the standard used here:

- A4 (210 × 297 mm); top margin 37 mm, left 28 mm, type area 156 × 225 mm, so right 26 mm
  and bottom 35 mm (5.2, 5.2.1).
- 22 lines of 28 characters (5.2.2): a line grid (``w:docGrid``, type ``lines``) with a
  pitch of 28.95 pt (225 mm / 22 ≈ 28.99 pt; 28.95 pt = 579 twentieths is the value
  Word and WPS templates use), and exact 28.95 pt line spacing on the body, so the 22
  lines hold in editors that ignore the grid. 28 characters of 16 pt need 448 pt on a
  442.2 pt line (156 mm), so body text is condensed by 0.25 pt a character (``w:spacing``
  −5 twentieths): 28 × 15.75 pt = 441 pt. A character grid (``linesAndChars`` with
  ``w:charSpace`` −849) says the same to Word, but LibreOffice gives every 16 pt
  character two 15.79 pt cells and prints the text spread out; the condensed spacing
  looks the same in Word, WPS and LibreOffice.
- Title 2号 (22 pt) 方正小标宋简体; body 3号 (16 pt) 仿宋_GB2312; headings 一、 in 黑体,
  （一） in 楷体_GB2312 (7.3.3); page numbers "— 1 —" in 4号 (14 pt) 宋体, one character
  in from the outer edge: odd pages right, even pages left (7.5), about 7 mm below the
  type area.

Fonts and fallbacks. Each style names its font in ``w:rFonts`` for all four slots (ascii,
hAnsi, eastAsia, cs) with ``w:hint="eastAsia"``, so Chinese text and full-width
punctuation use the east-Asian font, and no theme font overrides it. 仿宋_GB2312,
楷体_GB2312 and 方正小标宋简体 are missing from a default Windows or Linux machine, so
the font table (``word/fontTable.xml``) declares each with ``w:altName`` (the substitute
Word and WPS take: 仿宋, 楷体, 宋体), the GB2312 character set (0x86) and the family, and
the substitutes themselves fall back to 宋体. LibreOffice maps names it lacks through
fontconfig (Noto Serif/Sans CJK on Debian). The font table is a generic part in
python-docx; it is registered as an XML part (the library's own part registry) so the
entries can be added through the element tree.
"""

from __future__ import annotations

from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import PartFactory, XmlPart
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

# The font table as an XML part, so its entries can be edited (python-docx keeps parts it
# has no class for as opaque bytes). Affects only how that part is held; saving is equal.
PartFactory.part_type_for.setdefault(CT.WML_FONT_TABLE, XmlPart)

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
LINES, CHARS = 22, 28
LINE_PITCH = Pt(28.95)
CHAR_PITCH_PT = 156 / 25.4 * 72 / CHARS  # ≈ 15.79 pt, the line divided in 28
CONDENSE_TWIPS = -5  # −0.25 pt a character: 28 × 15.75 pt fit the 442.2 pt line
BODY_SIZE, TITLE_SIZE, PAGE_NUMBER_SIZE, TABLE_SIZE, CAPTION_SIZE = (
    Pt(16), Pt(22), Pt(14), Pt(12), Pt(14),
)  # fmt: skip
INDENT_2 = Pt(2 * CHAR_PITCH_PT)  # 首行缩进二字

BODY_FONT, TITLE_FONT = "仿宋_GB2312", "方正小标宋简体"
HEADING1_FONT, HEADING2_FONT, PAGE_NUMBER_FONT = "黑体", "楷体_GB2312", "宋体"

#: font -> (w:altName, w:family) declared in the font table; GB2312 charset for all
FALLBACKS = {
    "仿宋_GB2312": ("仿宋", "modern"),
    "楷体_GB2312": ("楷体", "modern"),
    "方正小标宋简体": ("宋体", "roman"),
    "黑体": ("SimHei", "modern"),
    "仿宋": ("宋体", "modern"),
    "楷体": ("宋体", "modern"),
    "宋体": ("SimSun", "roman"),
}

#: custom paragraph styles: name -> (font, size, alignment, first-line indent, outline)
STYLES = {
    "公文标题": (TITLE_FONT, TITLE_SIZE, WD_ALIGN_PARAGRAPH.CENTER, None, None),
    "公文一级标题": (HEADING1_FONT, BODY_SIZE, None, INDENT_2, 0),
    "公文二级标题": (HEADING2_FONT, BODY_SIZE, None, INDENT_2, 1),
    "数据截止": (HEADING2_FONT, BODY_SIZE, WD_ALIGN_PARAGRAPH.CENTER, Pt(0), None),
    "附件标识": (HEADING1_FONT, BODY_SIZE, WD_ALIGN_PARAGRAPH.LEFT, Pt(0), None),
    "附件标题": (TITLE_FONT, TITLE_SIZE, WD_ALIGN_PARAGRAPH.CENTER, Pt(0), 0),
    "落款": (BODY_FONT, BODY_SIZE, WD_ALIGN_PARAGRAPH.RIGHT, Pt(0), None),
    "表格文字": (BODY_FONT, TABLE_SIZE, WD_ALIGN_PARAGRAPH.CENTER, Pt(0), None),
    "表头文字": (HEADING1_FONT, TABLE_SIZE, WD_ALIGN_PARAGRAPH.CENTER, Pt(0), None),
    "图片": (BODY_FONT, BODY_SIZE, WD_ALIGN_PARAGRAPH.CENTER, Pt(0), None),
    "图注": (BODY_FONT, CAPTION_SIZE, WD_ALIGN_PARAGRAPH.CENTER, Pt(0), None),
}


OFF_GRID = ("公文标题", "附件标题", "表格文字", "表头文字", "图片", "图注")
TITLE_LINE, TABLE_LINE = Pt(36), Pt(20)


def _rfonts(rpr, font: str) -> None:
    rfonts = rpr.get_or_add_rFonts()
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        rfonts.set(qn(f"w:{attr}"), font)
    rfonts.set(qn("w:hint"), "eastAsia")


def set_fonts(rpr_owner, font: str) -> None:
    """Name ``font`` in every slot of ``w:rFonts`` (hint eastAsia), dropping theme fonts.
    ``rpr_owner`` is a style or run element (anything with ``get_or_add_rPr``)."""
    _rfonts(rpr_owner.get_or_add_rPr(), font)


#: w:pPr children after each one we add (the schema fixes their order)
_PPR_AFTER = {
    "w:snapToGrid": ("w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
                     "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                     "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
                     "w:sectPr", "w:pPrChange"),
    "w:outlineLvl": ("w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange"),
}  # fmt: skip


def _ppr_set(style, tag: str, value: str) -> None:
    """Set ``<tag w:val=value>`` in a style's paragraph properties, in schema order."""
    ppr = style.element.get_or_add_pPr()
    el = ppr.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        ppr.insert_element_before(el, *_PPR_AFTER[tag])
    el.set(qn("w:val"), value)


#: w:rPr children after w:spacing (schema order)
_RPR_AFTER_SPACING = ("w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u",
                      "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs",
                      "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath")  # fmt: skip


def _condense(style) -> None:
    """Character spacing ``CONDENSE_TWIPS`` (w:spacing in the run properties)."""
    rpr = style.element.get_or_add_rPr()
    el = rpr.find(qn("w:spacing"))
    if el is None:
        el = OxmlElement("w:spacing")
        rpr.insert_element_before(el, *_RPR_AFTER_SPACING)
    el.set(qn("w:val"), str(CONDENSE_TWIPS))


def chars_per_line(condense_twips: int = CONDENSE_TWIPS, size_pt: float = 16.0) -> int:
    """Full-width characters of ``size_pt`` condensed by ``condense_twips`` on a line."""
    return int((156 / 25.4 * 72) // (size_pt + condense_twips / 20))


def setup_page(doc) -> None:
    """A4, the margins and the 22 × 28 document grid on every section."""
    for s in doc.sections:
        s.page_width, s.page_height = PAGE_WIDTH, PAGE_HEIGHT
        s.top_margin, s.bottom_margin = MARGINS["top"], MARGINS["bottom"]
        s.left_margin, s.right_margin = MARGINS["left"], MARGINS["right"]
        s.header_distance, s.footer_distance = Mm(15), Mm(22)
    grid = doc.element.body.sectPr.find(qn("w:docGrid"))  # the template has one
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH.pt * 20)))
    grid.attrib.pop(qn("w:charSpace"), None)


def _doc_defaults(doc) -> None:
    """Document defaults: 仿宋_GB2312 3号, Chinese as the east-Asian language, so
    unstyled text is body text too."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _rfonts(rpr, BODY_FONT)
    rpr.get_or_add_sz().val = BODY_SIZE
    for tag in ("w:szCs",):
        el = rpr.find(qn(tag))
        if el is not None:
            el.set(qn("w:val"), str(int(BODY_SIZE.pt * 2)))
    lang = rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def setup_styles(doc) -> None:
    """Normal is the body (仿宋_GB2312 3号, exact 28.95 pt, first line indented two
    characters, justified); the custom styles of ``STYLES`` are based on it."""
    _doc_defaults(doc)
    normal = doc.styles["Normal"]
    set_fonts(normal.element, BODY_FONT)
    normal.font.size = BODY_SIZE
    _condense(normal)
    pf = normal.paragraph_format
    pf.line_spacing = LINE_PITCH
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.space_before = pf.space_after = Pt(0)
    pf.first_line_indent = INDENT_2
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    for name, (font, size, align, indent, outline) in STYLES.items():
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        set_fonts(style.element, font)
        style.font.size = size
        if align is not None:
            style.paragraph_format.alignment = align
        if indent is not None:
            style.paragraph_format.first_line_indent = indent
        if outline is not None:
            _ppr_set(style, "w:outlineLvl", str(outline))
    # off the line grid: a 22 pt title line or a table line would take two grid lines
    for name in OFF_GRID:
        _ppr_set(doc.styles[name], "w:snapToGrid", "0")
    for name, spacing in (("公文标题", TITLE_LINE), ("附件标题", TITLE_LINE),
                          ("表格文字", TABLE_LINE), ("表头文字", TABLE_LINE)):  # fmt: skip
        doc.styles[name].paragraph_format.line_spacing = spacing
    # exact spacing would clip an inline picture to one line
    doc.styles["图片"].paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    for name in ("公文一级标题", "公文二级标题", "附件标题"):
        doc.styles[name].paragraph_format.keep_with_next = True


def declare_fonts(doc) -> None:
    """Font-table entries with the fallbacks of ``FALLBACKS``."""
    table = doc.part.part_related_by(RT.FONT_TABLE).element
    present = {f.get(qn("w:name")): f for f in table.findall(qn("w:font"))}
    for name, (alt, family) in FALLBACKS.items():
        font = present.get(name)
        if font is None:
            font = OxmlElement("w:font")
            font.set(qn("w:name"), name)
            table.append(font)
        for child in list(font):
            font.remove(child)
        for tag, value in (("w:altName", alt), ("w:charset", "86"), ("w:family", family),
                           ("w:pitch", "variable")):  # fmt: skip
            el = OxmlElement(tag)
            el.set(qn("w:val"), value)
            font.append(el)


def _field_run(paragraph, kind: str, text: str | None = None):
    run = paragraph.add_run()
    if kind == "instr":
        el = OxmlElement("w:instrText")
        el.set(qn("xml:space"), "preserve")
        el.text = text
    else:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
    run.element.append(el)
    return run


def _page_number(paragraph, *, odd: bool) -> None:
    """The page number "— N —" in 4号 宋体, one character in from the outer edge."""
    pf = paragraph.paragraph_format
    pf.first_line_indent = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if odd:
        pf.alignment, pf.right_indent = WD_ALIGN_PARAGRAPH.RIGHT, PAGE_NUMBER_SIZE
    else:
        pf.alignment, pf.left_indent = WD_ALIGN_PARAGRAPH.LEFT, PAGE_NUMBER_SIZE
    runs = [
        paragraph.add_run("— "),
        _field_run(paragraph, "begin"),
        _field_run(paragraph, "instr", " PAGE "),
        _field_run(paragraph, "separate"),
        paragraph.add_run("1"),
        _field_run(paragraph, "end"),
        paragraph.add_run(" —"),
    ]
    for run in runs:
        set_fonts(run.element, PAGE_NUMBER_FONT)
        run.font.size = PAGE_NUMBER_SIZE


def page_numbers(doc) -> None:
    """Different odd and even footers, each with a PAGE field at the outer edge."""
    doc.settings.odd_and_even_pages_header_footer = True
    for s in doc.sections:
        s.footer.is_linked_to_previous = False
        _page_number(s.footer.paragraphs[0], odd=True)
        s.even_page_footer.is_linked_to_previous = False
        _page_number(s.even_page_footer.paragraphs[0], odd=False)


def setup(doc) -> None:
    setup_page(doc)
    setup_styles(doc)
    declare_fonts(doc)
    page_numbers(doc)


def text_width(text: str) -> float:
    """Width in characters of 3号: CJK and full-width one, ASCII (half-width) one half,
    plus the quarter character editors put between Chinese and Latin text (autospace)."""
    half = [ord(ch) < 0x2000 for ch in text]
    turns = sum(1 for a, b in zip(half, half[1:], strict=False) if a != b)
    return sum(0.5 if h else 1.0 for h in half) + 0.25 * turns


def signature_indents(issuer_lines: list[str], date: str) -> tuple[float, float]:
    """Right indents (in characters) of the issuer and the date of an unsealed document
    (GB/T 9704-2012 7.3.5.2): the issuer two characters in from the right, the date on the
    next line starting two characters right of the issuer's first character; if the date
    is longer, the date is two characters in and the issuer moves right to keep the
    offset."""
    issuer = max((text_width(s) for s in issuer_lines), default=0.0)
    d = text_width(date)
    if issuer - d >= 2:
        return 2.0, issuer - d
    return 4 + d - issuer, 2.0
