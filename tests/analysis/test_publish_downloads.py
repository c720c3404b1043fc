"""Downloads of the analyst's statistics page and ``jifa report notice``: the Word notice,
the WeChat article, the web notice with its pictures and the workbook, with the issuer
from configuration and the date of the day."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from openpyxl import load_workbook

from core.config import DEFAULTS

PW = "Passw0rd!"


def _analyst(make_person, login, district):
    p = make_person(unit=district, rank="general", person_no="PUB001", password=PW,
                    roles=("analyst",))  # fmt: skip
    return login(p.person_no, PW)


def _last_lines(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text.strip()][-3:]


def test_statistics_page_offers_every_download(
    app, client, make_person, login, district, scored_exam
):
    _analyst(make_person, login, district)
    eid = scored_exam.id
    page = client.get(f"/analysis/exams/{eid}").get_data(as_text=True)
    for href in ("notice.docx", "wechat.zip", "notice.zip", "workbook.xlsx"):
        assert f"/analysis/exams/{eid}/{href}" in page
    app.config["ISSUER"] = "中共测试区纪律检查委员会　测试区监察委员会"
    r = client.get(f"/analysis/exams/{eid}/notice.docx")
    assert r.status_code == 200 and r.mimetype.endswith("wordprocessingml.document")
    assert "attachment" in r.headers["Content-Disposition"]
    doc = Document(io.BytesIO(r.data))
    assert "通报" in doc.paragraphs[0].text
    issuer1, issuer2, date = _last_lines(doc)
    assert (issuer1, issuer2) == ("中共测试区纪律检查委员会", "测试区监察委员会")
    assert date.startswith("20") and date.endswith("日") and "年" in date
    r = client.get(f"/analysis/exams/{eid}/wechat.zip")
    z = zipfile.ZipFile(io.BytesIO(r.data))
    names = set(z.namelist())
    assert "wechat/article.html" in names and "wechat/fig1-histogram.png" in names
    article = z.read("wechat/article.html").decode()
    assert "<style" not in article and "class=" not in article and "测试区监察委员会" in article
    r = client.get(f"/analysis/exams/{eid}/notice.zip")
    z = zipfile.ZipFile(io.BytesIO(r.data))
    assert {"notice/notice.html", "notice/notice.txt", "notice/charts/histogram.png"} <= set(
        z.namelist()
    )
    assert "测试区监察委员会" in z.read("notice/notice.txt").decode()


def test_candidates_cannot_download_the_notice(client, make_person, login, scored_exam):
    p = make_person(rank="general", person_no="PUBC01", password=PW)
    login(p.person_no, PW)
    for href in ("notice.docx", "wechat.zip"):
        assert client.get(f"/analysis/exams/{scored_exam.id}/{href}").status_code == 403


def test_report_notice_writes_everything(runner, scored_exam, tmp_path):
    out = tmp_path / "pub"
    res = runner.invoke(["report", "notice", str(scored_exam.id), "--out", str(out),
                         "--date", "2026-11-29"])  # fmt: skip
    assert res.exit_code == 0, res.output
    for rel in ("notice.docx", "notice.html", "notice.txt", "charts/histogram.png",
                "wechat/article.html", "wechat/fig1-histogram.png", "wechat/article.txt",
                "wechat/README.txt", "workbook.xlsx"):  # fmt: skip
        assert (out / rel).exists(), rel
    doc = Document(out / "notice.docx")
    issuer = DEFAULTS["ISSUER"].split("\u3000")
    assert _last_lines(doc) == [*issuer, "2026年11月29日"]
    text = (out / "notice.txt").read_text(encoding="utf-8").strip().splitlines()
    assert text[-1] == "2026年11月29日"
    wb = load_workbook(out / "workbook.xlsx")
    names = [c.value for c in wb["个人明细"]["B"][1:]]
    assert names and all("*" in n for n in names)  # masked unless --unmask
    assert wb["总体概况"]._charts  # noqa: SLF001
    res = runner.invoke(["report", "notice", str(scored_exam.id), "--out", str(out),
                         "--date", "29/11/2026"])  # fmt: skip
    assert res.exit_code != 0 and "YYYY-MM-DD" in res.output
