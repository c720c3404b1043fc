"""Analyst pages: statistics, charts, downloads, the draw walk-through; access control."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape as html_unescape

from openpyxl import load_workbook

PW = "Passw0rd!"


def _analyst(make_person, login, district):
    p = make_person(
        unit=district, rank="general", person_no="AN0001", password=PW, roles=("analyst",)
    )
    return login(p.person_no, PW)


def test_candidate_cannot_see_analysis(client, make_person, login, scored_exam):
    p = make_person(rank="general", person_no="CAND01", password=PW)
    login(p.person_no, PW)
    assert client.get("/analysis/").status_code == 403
    assert client.get(f"/analysis/exams/{scored_exam.id}").status_code == 403


def test_exam_pages_charts_and_downloads(client, make_person, login, district, scored_exam):
    _analyst(make_person, login, district)
    eid = scored_exam.id
    r = client.get("/analysis/")
    assert r.status_code == 200 and "纪法知识集中测试" in r.get_data(as_text=True)
    r = client.get(f"/analysis/exams/{eid}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "单位排名" in html and "甲镇" in html
    r = client.get(f"/analysis/exams/{eid}?unit=甲镇&rank=乡科级")
    assert r.status_code == 200 and "乙街道</td>" not in r.get_data(as_text=True)
    # a chart is served from the analysis built for the page, never built by itself
    assert client.get(f"/analysis/exams/{eid}/charts/histogram.png?unit=甲镇").status_code == 404
    page = client.get(f"/analysis/exams/{eid}?unit=甲镇").get_data(as_text=True)
    src = re.search(r'src="([^"]*/charts/histogram\.png[^"]*)"', page).group(1)
    r = client.get(html_unescape(src))
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")
    assert "max-age" in r.headers["Cache-Control"]  # the version is in the URL
    assert client.get(f"/analysis/exams/{eid}/charts/nope.png").status_code == 404
    r = client.get(f"/analysis/exams/{eid}/workbook.xlsx")
    assert r.status_code == 200 and "题目分析" in load_workbook(io.BytesIO(r.data)).sheetnames
    r = client.get(f"/analysis/exams/{eid}/notice.zip")
    z = zipfile.ZipFile(io.BytesIO(r.data))
    assert "notice/notice.html" in z.namelist() and "notice/notice.txt" in z.namelist()
    r = client.get(f"/analysis/exams/{eid}/stats.json?source=不存在的法规")
    assert r.status_code == 200 and r.get_json()["data"]["overall"]["n"] == 0
    assert client.get("/analysis/exams/999999").status_code == 404


def test_draw_walkthrough(client, make_person, login, district, roster_district, make_exam):
    token = _analyst(make_person, login, district)
    r = client.post("/analysis/draws", data={"csrf_token": token, "rank": "乡科级", "quota": "20%,min=3",
                                             "strata": "top_unit", "name": "测试抽样"})  # fmt: skip
    assert r.status_code == 302
    detail = r.headers["Location"]
    draw_id = int(detail.rstrip("/").split("/")[-1])
    page = client.get(detail).get_data(as_text=True)
    assert "测试抽样" in page and "确认已公布" in page
    before = client.get(f"/analysis/draws/{draw_id}/announcement/before").get_data(as_text=True)
    assert "SHA-256" in before and "XT01" in before
    r = client.post("/analysis/draws", data={"csrf_token": token, "quota": "abc", "rank": "乡科级"})
    assert r.status_code == 302 and "/draws" in r.headers["Location"]
    # without the CSRF token the step is refused
    assert client.post(f"/analysis/draws/{draw_id}/publish").status_code == 400
    client.post(f"/analysis/draws/{draw_id}/publish", data={"csrf_token": token})
    exam = make_exam(title="网页抽样考试")
    client.post(f"/analysis/draws/{draw_id}/draw",
                data={"csrf_token": token, "entropy": "12345678901234567890", "exam_id": str(exam.id)})  # fmt: skip
    page = client.get(detail).get_data(as_text=True)
    assert "抽签结果" in page and "12345678901234567890" in page
    result = client.get(f"/analysis/draws/{draw_id}/announcement/result").get_data(as_text=True)
    assert "抽中" in result and "替补1" in result
    verify = client.get(f"/analysis/draws/{draw_id}/verify").get_json()
    assert verify["data"]["ok"]
    person = verify["data"]["recomputed"]["strata"][-1]["selected"][0]["person_no"]
    client.post(f"/analysis/draws/{draw_id}/replace",
                data={"csrf_token": token, "person_no": person, "reason": "出差"})  # fmt: skip
    assert "出差" in client.get(detail).get_data(as_text=True)
    roster = client.get(f"/analysis/draws/{draw_id}/roster.csv")
    assert roster.data.startswith(b"stratum_code,stratum_name,person_no,rank\n")
