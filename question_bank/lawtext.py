"""Parse a statute in plain text or Markdown into articles.

Headings 第X编 / 第X章 / 第X节 (with or without leading ``#``) set the part, chapter and
section of the articles that follow; a paragraph starting ``第X条`` or ``第X条之一``
followed by a space starts an article, and the paragraphs after it belong to it until
the next article or heading. A line that is just a named part (``总纲``, ``序言``) starts
an article keyed by that name. Any other Markdown heading (``## 附件一``) ends the
current article. Text before ``<!-- INFO END -->`` (if present) is front matter.

Official Word files and web pages (read by ``question_bank.lawfiles``) have no Markdown:
there a line that is only 总则 or 附则 (``附　　则``) is a chapter heading, and a line
that is only 附件 / 附件一 / 附件2 ends the current article, as the Markdown headings do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import InvalidInput
from question_bank.articles import CN_NUMERAL, NAMED_PARTS, cn_to_int, label_for, make_key

_N = rf"[{CN_NUMERAL}\d]+"
_HEADING = re.compile(rf"^第({_N})(编|章|节)(?:[\s　]+(.*))?$")
_ARTICLE = re.compile(rf"^第({_N})条(?:之({_N}))?(?:[\s　]+(.*)|$)")
_MD_HEADING = re.compile(r"^#{1,6}\s*(.*)$")
_FOOTNOTE = re.compile(r"^[\u2460-\u2473]")
_ANNEX = re.compile(rf"^附件[{CN_NUMERAL}\d]*[:：]?$")
_PLAIN_CHAPTERS = ("总则", "附则")


@dataclass
class ParsedArticle:
    key: str
    label: str
    number: int | None
    suffix: int
    part: str | None
    chapter: str | None
    section: str | None
    lines: list[str] = field(default_factory=list)
    sort_order: int = 0

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass
class ParsedLaw:
    title: str | None
    articles: list[ParsedArticle]

    @property
    def counts(self) -> dict[str, int]:
        numbered = [a for a in self.articles if a.number is not None]
        return {
            "articles": len(self.articles),
            "numbered": sum(1 for a in numbered if a.suffix == 0),
            "suffixed": sum(1 for a in numbered if a.suffix > 0),
            "named": len(self.articles) - len(numbered),
        }


def _clean_heading(text: str) -> str:
    return re.sub(r"[\s　]+", " ", text).strip()


def parse_law(text: str) -> ParsedLaw:
    """Parse ``text``; raises ``InvalidInput`` for no articles or a repeated article."""
    if "<!-- INFO END -->" in text:
        head, text = text.split("<!-- INFO END -->", 1)
        m = re.search(r"^#\s*(.+)$", head, re.M)
        title = m.group(1).strip() if m else None
    else:
        title = None
    part = chapter = section = None
    articles: list[ParsedArticle] = []
    seen: dict[str, int] = {}
    current: ParsedArticle | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().replace("\u3000", " ").strip()
        if not line:
            continue
        md = _MD_HEADING.match(line)
        body = md.group(1).strip() if md else line
        h = _HEADING.match(body)
        if h:
            label = _clean_heading(body)
            kind = h.group(2)
            if kind == "编":
                part, chapter, section = label, None, None
            elif kind == "章":
                chapter, section = label, None
            else:
                section = label
            current = None
            continue
        if md and title is None and line.startswith("# ") and not articles:
            title = body
            continue
        a = _ARTICLE.match(body) if not md else None
        named = body.replace(" ", "") if body.replace(" ", "") in NAMED_PARTS else None
        if a or named:
            if a:
                number = cn_to_int(a.group(1))
                suffix = cn_to_int(a.group(2)) if a.group(2) else 0
                key = make_key(number, suffix)
                first = (a.group(3) or "").strip()
            else:
                number, suffix, key, first = None, 0, named, ""
            if key in seen:
                raise InvalidInput(
                    f"条文重复：{label_for(key)}（第 {seen[key]} 行和第 {lineno} 行）"
                )
            seen[key] = lineno
            current = ParsedArticle(
                key=key,
                label=label_for(key),
                number=number,
                suffix=suffix,
                part=part,
                chapter=chapter,
                section=section,
                lines=[first] if first else [],
                sort_order=len(articles),
            )
            articles.append(current)
            continue
        if md:
            if body.replace(" ", "") in _PLAIN_CHAPTERS:
                chapter, section = body, None
            current = None  # e.g. "## 附件一": not part of the last article
            continue
        bare = body.replace(" ", "")
        if bare in _PLAIN_CHAPTERS:  # "附　　则" in a Word file or web page
            chapter, section, current = bare, None, None
            continue
        if _ANNEX.match(bare) or _FOOTNOTE.match(line):
            current = None
            continue
        if current is not None:
            current.lines.append(line)
    if not articles:
        raise InvalidInput("没有识别到任何条文（应为以“第X条”开头的段落）。")
    return ParsedLaw(title, articles)


def normalise_article_text(text: str) -> str:
    """Whitespace-insensitive form used to decide whether an article changed."""
    return re.sub(r"\s+", "", text)
