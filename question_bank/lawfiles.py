"""The text of a statute from the files commissions keep: plain text or Markdown, a Word
file (.docx, as the national law database publishes them), a saved web page (.html)
or a single-file web archive (.mht/.mhtml).

Each reader returns plain lines that ``question_bank.lawtext.parse_law`` reads as it
reads a text file: one paragraph a line; a Word heading style or an HTML ``<h1>``–``<h6>``
becomes a Markdown heading (``## 第一章 总则``). Web pages lose their scripts, styles,
navigation, headers and footers first, so nothing but the page's body text is read. A file
that cannot be read raises ``InvalidInput`` with a Chinese message.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from pathlib import PurePath

from core.errors import InvalidInput
from core.excel import check_archive

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc / .wps / .xls of old
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-6])$", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w]+)""", re.I)
_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "gb18030"}

#: elements of a page that are never the statute's text
_DROP = (
    "//head|//script|//style|//noscript|//template|//nav|//header|//footer|//aside|//form"
    "|//iframe|//object|//select|//button|//svg"
)
#: class or id words of navigation and page furniture on official sites
_FURNITURE = re.compile(
    r"(?:^|[\s_-])(?:nav\w*|menu\w*|breadcrumbs?|crumbs?|footer|foot|header|sidebar|share"
    r"|copyright|toolbar|pager|pagination|skip)(?:$|[\s_-])",
    re.I,
)
_BLOCKS = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "td", "th", "table", "section",
    "article", "main", "blockquote", "pre", "center", "hr", "body", "h1", "h2", "h3", "h4",
    "h5", "h6", "figure", "figcaption", "caption",
}  # fmt: skip


def file_kind(data: bytes, filename: str | None = None) -> str:
    """``docx``, ``html``, ``mhtml`` or ``text``, from the name and the first bytes."""
    suffix = PurePath(filename or "").suffix.lower()
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data.startswith(OLE_MAGIC):
        raise InvalidInput(
            "这是旧版 Word（.doc）或 WPS 格式的文件，请在 Word 或 WPS 中另存为 .docx 后再导入。"
        )
    if data.startswith(b"%PDF"):
        raise InvalidInput(
            "不支持 PDF 文件，请导入 .docx、保存的网页（.html）或文本文件（.txt、.md）。"
        )
    if data.startswith(b"PK\x03\x04") or suffix == ".docx":
        return "docx"
    if (
        suffix in (".mht", ".mhtml")
        or head.startswith(b"mime-version:")
        or (b"multipart/related" in head and b"content-type" in head)
    ):
        return "mhtml"
    if suffix in (".htm", ".html", ".shtml", ".xhtml") or head.startswith(
        (b"<!doctype html", b"<html")
    ):
        return "html"
    return "text"


def statute_text(data: bytes, filename: str | None = None) -> str:
    """The text of the statute in ``data`` (see the module docstring)."""
    kind = file_kind(data, filename)
    if kind == "docx":
        return docx_text(data)
    if kind == "html":
        return html_text(decode_html(data))
    if kind == "mhtml":
        return html_text(mhtml_page(data))
    return decode_text(data)


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise InvalidInput("无法识别法规文本的编码（请使用 UTF-8 或 GBK）。") from exc


# ----------------------------------------------------------------------- Word


def docx_text(data: bytes) -> str:
    """One line per paragraph of the body, in order (tables included); paragraphs with a
    heading style become Markdown headings."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.text.paragraph import Paragraph
    from lxml import etree

    check_archive(data)  # a zip bomb is refused before anything is unpacked
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile,
            etree.XMLSyntaxError) as exc:  # fmt: skip
        raise InvalidInput(
            "无法读取 Word 文件：文件已损坏，或不是 .docx 格式的文档（如为 .doc 或 WPS 文件，"
            "请另存为 .docx）。"
        ) from exc
    lines = []
    for p in document.element.body.iter(f"{{{W_NS}}}p"):
        if any(a.tag == f"{{{MC_NS}}}Fallback" for a in p.iterancestors()):
            continue  # the same text box again, for old readers
        para = Paragraph(p, document)
        text = para.text
        style = para.style.name if para.style is not None else ""
        level = _HEADING_STYLE.match(style or "")
        if level and text.strip():
            text = "#" * int(level.group(1)) + " " + text.strip()
        lines.append(text)
    return "\n".join(lines)


# ----------------------------------------------------------------------- web pages


def decode_html(data: bytes) -> str:
    """Bytes of a page to text: BOM, then the ``<meta charset>``, then UTF-8 or GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    m = _META_CHARSET.search(data[:4096])
    declared = m.group(1).decode("ascii").lower() if m else None
    if declared in _GB:
        declared = "gb18030"
    for encoding in (declared, "utf-8", "gb18030"):
        if not encoding:
            continue
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    raise InvalidInput("无法识别网页的编码（请用浏览器另存为 UTF-8 或 GBK 编码的网页）。")


def mhtml_page(data: bytes) -> str:
    """The HTML of a single-file web archive (.mht/.mhtml)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            try:
                return part.get_content()
            except (LookupError, UnicodeDecodeError) as exc:
                raise InvalidInput("无法读取网页存档中的正文（编码无法识别）。") from exc
    raise InvalidInput("网页存档（.mht/.mhtml）中没有找到网页正文。")


def html_text(page: str) -> str:
    """The body text of a page, one block element a line; ``<h1>``–``<h6>`` become
    Markdown headings; no-break and full-width spaces stay spaces for the parser."""
    from lxml import etree
    from lxml import html as lxml_html

    page = re.sub(r"^\s*<\?xml[^>]*\?>", "", page)  # lxml refuses a declared encoding in str
    try:
        root = lxml_html.document_fromstring(page)
    except (etree.ParserError, ValueError) as exc:
        raise InvalidInput("无法读取网页：文件为空或不是 HTML 网页。") from exc
    for el in root.xpath(_DROP):
        el.drop_tree()
    for el in root.xpath("//*[@class or @id]"):
        words = f"{el.get('class') or ''} {el.get('id') or ''}"
        if _FURNITURE.search(words) and el.getparent() is not None:
            el.drop_tree()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif tag in _BLOCKS:
            if tag[0] == "h" and tag[1:].isdigit():
                el.text = "\n" + "#" * int(tag[1:]) + " " + (el.text or "").lstrip()
            else:
                el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    return text.replace("\xa0", " ")
