"""The item table of the statistics page: flagged items first, sortable, filterable,
paged, each item linked to its page in the bank."""

from __future__ import annotations

import re

import pandas as pd

from analysis import charts, items


def table(n=120) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "question_code": [f"Q{i:03d}" for i in range(n)],
            "source_name": ["刑法" if i % 2 else "监察法" for i in range(n)],
            "knowledge_points": ["受贿罪" if i % 3 == 0 else "留置" for i in range(n)],
            "facility": [((i * 37) % 100) / 100 for i in range(n)],
            "discrimination": [float((i * 13) % 50) for i in range(n)],
            "n": [100 + i for i in range(n)],
            "flags": ["过难" if i % 10 == 0 else "" for i in range(n)],
        }
    )


def test_flagged_items_first_hardest_first_then_pages_of_fifty():
    t = table()
    first = items.item_page(t)
    assert first["sort"] == "flags" and first["pages"] == 3 and first["total"] == 120
    assert first["flagged"] == 12 and len(first["rows"]) == 50
    rows = first["rows"]
    assert (rows["flags"].iloc[:12] != "").all() and (rows["flags"].iloc[12:] == "").all()
    assert rows["facility"].iloc[:12].is_monotonic_increasing
    last = items.item_page(t, page="3")
    assert len(last["rows"]) == 20 and last["page"] == 3
    assert items.item_page(t, page="99")["page"] == 3  # clamped
    assert items.item_page(t, page="x")["page"] == 1
    seen = pd.concat([items.item_page(t, page=p)["rows"] for p in (1, 2, 3)])
    assert sorted(seen["question_code"]) == sorted(t["question_code"])  # each once


def test_sorting_and_filtering():
    t = table()
    by_n = items.item_page(t, sort="n")["rows"]
    assert by_n["n"].is_monotonic_decreasing and by_n["n"].iloc[0] == 219
    assert items.item_page(t, sort="facility")["rows"]["facility"].is_monotonic_increasing
    assert items.item_page(t, sort="bogus")["sort"] == "flags"
    only = items.item_page(t, flagged_only=True)
    assert only["matched"] == 12 and (only["rows"]["flags"] != "").all()
    found = items.item_page(t, text="受贿罪")
    assert found["matched"] == 40
    assert items.item_page(t, text="q00")["matched"] == 10  # codes, case-insensitive


def _analyst(make_person, login, district):
    p = make_person(
        unit=district, rank="general", person_no="AN0009", password="Passw0rd!",
        roles=("analyst",),
    )  # fmt: skip
    return login(p.person_no, "Passw0rd!")


def test_the_page_links_items_to_the_bank_and_keeps_filters_when_paging(
    client, make_person, login, district, scored_exam
):
    _analyst(make_person, login, district)
    html = client.get(f"/analysis/exams/{scored_exam.id}?unit=甲镇&isort=code").get_data(
        as_text=True
    )
    codes = re.findall(r'<a href="/bank/q/([^"]+)">', html)
    assert len(codes) == 4 and codes == sorted(codes)
    assert 'name="unit" value="甲镇"' in html  # the item form keeps the page's filters
    assert "第 1 / 1 页" in html
    # the captions explain the charts instead of repeating their titles
    captions = re.findall(r"<figcaption[^>]*>([^<]*)</figcaption>", html)
    assert captions and not set(captions) & set(charts.CHART_TITLES.values())
