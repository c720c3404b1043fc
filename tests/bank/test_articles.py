from __future__ import annotations

import pytest

from question_bank.articles import cn_to_int, int_to_cn, label_for, parse_ref, parse_refs, sort_key


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("一", 1),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("一百零七", 107),
        ("一百一十", 110),
        ("三百八十五", 385),
        ("四百五十二", 452),
        ("二百", 200),
        ("一千零一", 1001),
        ("385", 385),
    ],
)
def test_chinese_numerals_both_ways(text, n):
    assert cn_to_int(text) == n
    if not text.isdigit():
        assert int_to_cn(n) == text


def test_every_number_round_trips():
    for n in range(1, 2000):
        assert cn_to_int(int_to_cn(n)) == n


@pytest.mark.parametrize(
    ("ref", "key"),
    [
        ("第三百八十五条", "385"),
        ("第一百二十条之一", "120-1"),
        ("第120条之一", "120-1"),
        ("385", "385"),
        ("120-1", "120-1"),
        ("第三十条第一款", "30"),
        ("总纲", "总纲"),
        ("第 三 条", "3"),
        ("第一百三十三条之二", "133-2"),
    ],
)
def test_parse_ref(ref, key):
    assert parse_ref(ref) == key


def test_parse_refs_and_labels():
    keys, bad = parse_refs("第三百八十五条；第一百二十条之一、总纲;第三百八十五条,乱写")
    assert keys == ["385", "120-1", "总纲"]
    assert bad == ["乱写"]
    assert label_for("120-1") == "第一百二十条之一"
    assert label_for("107") == "第一百零七条"
    assert sorted(["120-1", "12", "120", "总纲", "9"], key=sort_key) == [
        "总纲",
        "9",
        "12",
        "120",
        "120-1",
    ]
