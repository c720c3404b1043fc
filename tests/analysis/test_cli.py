"""End to end through the ``jifa`` command on a small exam."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from analysis import loading, report, workbook
from exam.models import Participant

ROOT = Path(__file__).resolve().parents[2]
ENTROPY = "16180339887498948482"


def test_load_responses_one_row_per_attempt_item(session, scored_exam):
    df = loading.load_responses(session, scored_exam.id)
    assert len(df) == 20 * 4
    row = df[(df["type"] == "single")].iloc[0]
    assert row["source_name"] == "中华人民共和国刑法" or "刑法" in row["source_name"]
    assert row["top_unit_name"] in {"甲镇", "乙街道", "区某局"}
    assert row["rank"] == "乡科级"
    # displayed "B" is authored "A" on these papers
    assert set(df.loc[df["type"] == "single", "chosen"].astype(str)) == {
        "A",
        "C",
    }  # displayed C is authored C
    assert set(df.loc[df["type"] == "true_false", "chosen"].astype(str)) <= {"对", "错"}
    kp = df.loc[df["type"] == "multiple", "knowledge_points"].iloc[0]
    assert kp == "受贿罪、行贿罪"
    rep = report.build(session, scored_exam.id)
    assert rep.participation["enrolled"] == 21 - 1 and rep.participation["sat"] == 20
    # branch members count under their town
    assert set(rep.by_unit["top_unit_name"]) == {"甲镇", "乙街道", "区某局"}
    assert rep.by_unit.set_index("top_unit_name").loc["甲镇", "n"] == 12
    # scores from the loaded marks equal the attempts' stored scores
    assert rep.scores["score"].sum() == sum(
        a.score
        for a in session.scalars(select(__import__("exam.models").models.Attempt))
        if a.exam_id == scored_exam.id
    )


def test_sample_cli_end_to_end(runner, session, roster_district, make_exam, tmp_path):
    res = runner.invoke(["sample", "freeze", "--rank", "乡科级", "--strata", "top_unit",
                         "--quota", "20%,min=3", "--out", str(tmp_path), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    csv_path = Path(info["csv_path"])
    import hashlib

    assert hashlib.sha256(csv_path.read_bytes()).hexdigest() == info["roster_sha256"]
    draw_id = str(info["draw_id"])
    res = runner.invoke(["sample", "draw", draw_id, "--entropy", ENTROPY])
    assert res.exit_code != 0 and "公布" in res.output
    assert runner.invoke(["sample", "publish", draw_id]).exit_code == 0
    exam = make_exam(title="集中测试CLI")
    res = runner.invoke(
        ["sample", "draw", draw_id, "--entropy", ENTROPY, "--exam", str(exam.id), "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["seed"] == f"{ENTROPY}|{info['roster_sha256']}"
    town = next(s for s in out["strata"] if s["code"] == "XT01")
    assert len(town["selected"]) == 3 and len(town["alternates"]) == 9
    # the stand-alone script agrees
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "verify_sample.py"), str(csv_path), "--seed",
         out["seed"], "--quota", "20%,min=3", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(proc.stdout)["strata"] == out["strata"]
    first = town["selected"][0]["person_no"]
    res = runner.invoke(["sample", "replace", draw_id, first, "--reason", "病假"])
    assert res.exit_code == 0 and town["alternates"][0]["person_no"] in res.output
    parts = {
        p.person.person_no
        for p in session.scalars(select(Participant).where(Participant.exam_id == exam.id))
    }
    assert first not in parts and town["alternates"][0]["person_no"] in parts
    assert "核验通过" in runner.invoke(["sample", "verify", draw_id]).output
    shown = json.loads(runner.invoke(["sample", "show", draw_id, "--json"]).output)
    assert shown["replacements"][0]["reason"] == "病假"


def test_report_cli_end_to_end(runner, scored_exam, tmp_path):
    eid = str(scored_exam.id)
    out_csv = tmp_path / "responses.csv"
    res = runner.invoke(["report", "responses", eid, "--out", str(out_csv)])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + 80 and rows[0][2] == "人员编号"
    res = runner.invoke(["report", "stats", eid, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["overall"]["n"] == 20 and len(data["items"]) == 4
    assert {
        "by_unit",
        "by_rank",
        "by_source",
        "by_knowledge_point",
        "reliability",
        "options",
    } <= set(data)
    xlsx = tmp_path / "a.xlsx"
    assert runner.invoke(["report", "workbook", eid, "--out", str(xlsx)]).exit_code == 0
    assert load_workbook(xlsx).sheetnames == workbook.SHEETS
    nd = tmp_path / "notice"
    assert runner.invoke(["report", "notice", eid, "--out", str(nd)]).exit_code == 0
    html = (nd / "notice.html").read_text(encoding="utf-8")
    assert "纪法知识集中测试" in html and (nd / "notice.txt").exists()
    assert (nd / "charts" / "histogram.png").exists()
    cd = tmp_path / "charts"
    assert runner.invoke(["report", "charts", eid, "--out", str(cd)]).exit_code == 0
    assert len(list(cd.glob("*.png"))) >= 6
    res = runner.invoke(["report", "stats", "999999", "--json"])
    assert res.exit_code != 0 and "不存在" in res.output
