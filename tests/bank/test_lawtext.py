from __future__ import annotations

import pytest

from core.errors import InvalidInput
from question_bank.lawtext import parse_law

from .conftest import CRIMINAL, SUPERVISION, needs_law


@needs_law
def test_criminal_law_counts_match_the_file():
    text = CRIMINAL.read_text(encoding="utf-8")
    law = parse_law(text)
    # independent count of paragraphs that start an article in the file
    import re

    heads = re.findall(
        r"^第[一二三四五六七八九十百零]+条(之[一二三四五六七八九十]+)?\s", text, re.M
    )
    assert len(heads) == 505
    assert law.counts == {"articles": 505, "numbered": 452, "suffixed": 53, "named": 0}
    by_key = {a.key: a for a in law.articles}
    assert by_key["120-1"].label == "第一百二十条之一"
    assert by_key["120-6"].suffix == 6
    assert by_key["385"].text.startswith("国家工作人员利用职务上的便利，索取他人财物")
    assert by_key["385"].part == "第二编 分则"
    assert by_key["385"].chapter == "第八章 贪污贿赂罪"
    assert by_key["17"].section == "第一节 犯罪和刑事责任"
    # multi-paragraph article keeps every paragraph, footnotes and annexes excluded
    assert len(by_key["6"].text.splitlines()) == 3
    assert "附件" not in by_key["452"].text.split("\n")[-1][:3]
    assert "①" not in by_key["452"].text
    assert [a.key for a in law.articles[:3]] == ["1", "2", "3"]


@needs_law
def test_supervision_law_has_78_articles():
    law = parse_law(SUPERVISION.read_text(encoding="utf-8"))
    assert law.counts["articles"] == 78
    assert law.articles[-1].key == "78"
    assert law.articles[0].chapter == "第一章 总 则"
    assert law.title == "中华人民共和国监察法"


def test_plain_text_with_named_parts_and_sections():
    law = parse_law(
        "序言\n这是序言。\n总纲\n总纲第一段。\n总纲第二段。\n第一章 党员\n第一条 年满十八岁。\n"
        "第一节 细则\n第二条之一 补充。\n第十条\n空行后的正文。\n"
    )
    assert [a.key for a in law.articles] == ["序言", "总纲", "1", "2-1", "10"]
    assert law.articles[1].text == "总纲第一段。\n总纲第二段。"
    assert law.articles[3].section == "第一节 细则"
    assert law.articles[4].text == "空行后的正文。"


def test_repeated_article_and_empty_text_are_rejected():
    with pytest.raises(InvalidInput, match="重复"):
        parse_law("第一条 甲\n第一条 乙\n")
    with pytest.raises(InvalidInput, match="没有识别到"):
        parse_law("只有一段话")
