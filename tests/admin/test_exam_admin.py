from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.accounts.scope import CONSOLE, scope_for, scope_of
from core.accounts.services import account_for_person_no
from core.audit import AuditEntry
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from exam.admin import access, enrolment, exams, monitor, results, self_reported, windows
from exam.models import Exam, IntegrityEvent, Participant, SelfReportedResult
from tests.admin.conftest import xlsx
from tests.conftest import NOW


def _settings(bp, **kw):
    base = dict(
        title="甲镇纪法测试",
        blueprint_id=bp.id,
        opens_at=NOW - dt.timedelta(hours=1),
        closes_at=NOW + dt.timedelta(hours=4),
        duration_minutes=60,
    )
    base.update(kw)
    return exams.ExamSettings(**base)


def _scope(session, no):
    return scope_for(session, account_for_person_no(session, no))


def test_create_and_enrol_by_unit_rank_and_name(session, world, make_blueprint):
    bp = make_blueprint()
    exam = exams.create_exam(
        session, _settings(bp), owner_unit=world.district, seed="s", scope=CONSOLE,
        actor=None, now=NOW,
    )  # fmt: skip
    assert exam.status == "draft" and exam.pass_mark == bp.pass_mark
    res = enrolment.enrol(
        session, exam, units=[world.town_a], ranks=["乡科级"], person_nos=["TB-0001", "NOPE"],
        scope=CONSOLE, actor=None, now=NOW,
    )  # fmt: skip
    enrolled = {p.person.person_no: p.enrolled_via for p in exam.participants}
    # cand_a (township, in a branch of town A) by unit; cand_a2 is general; TB-0001 named
    assert enrolled["TA-0001"] == "unit" and enrolled["TB-0001"] == "named"
    assert "TA-0002" not in enrolled
    assert res.problems == ["人员编号不存在：NOPE"]
    again = enrolment.enrol(
        session, exam, person_nos=["TA-0001"], scope=CONSOLE, actor=None, now=NOW
    )
    assert (again.added, again.already) == (0, 1)
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"exam.create", "exam.enrol"} <= actions


def test_settings_are_validated(session, world, make_blueprint):
    bp = make_blueprint()
    with pytest.raises(InvalidInput) as exc:
        exams.create_exam(
            session,
            _settings(bp, closes_at=NOW - dt.timedelta(hours=2), duration_minutes=0, mode="x"),
            owner_unit=world.district, seed="s", scope=CONSOLE, actor=None, now=NOW,
        )  # fmt: skip
    assert len(exc.value.details) == 3


def test_unit_admin_creates_only_in_their_subtree(session, world, make_blueprint):
    bp = make_blueprint()
    scope = _scope(session, "UA1")
    with pytest.raises(PermissionDenied):
        exams.create_exam(
            session, _settings(bp), owner_unit=world.town_b, seed="s", scope=scope, actor=None,
            now=NOW,
        )  # fmt: skip
    exam = exams.create_exam(
        session, _settings(bp), owner_unit=world.town_a, seed="s", scope=scope, actor=None, now=NOW
    )
    res = enrolment.enrol(
        session, exam, person_nos=["TB-0001", "TA-0002"], scope=scope, actor=None, now=NOW
    )
    assert res.added == 1 and "不在您的管理范围" in res.problems[0]
    with pytest.raises(PermissionDenied):
        enrolment.enrol(session, exam, units=[world.town_b], scope=scope, actor=None, now=NOW)


def test_visibility_of_exams_by_scope(session, world, make_exam):
    exam_a = make_exam([world.cand_a], owner_unit=world.town_a)
    exam_b = make_exam([world.cand_b], owner_unit=world.town_b)
    district_exam = make_exam([world.cand_a, world.cand_b], owner_unit=world.district)
    scope = _scope(session, "UA1")
    ids = {e.id for e in access.list_visible_exams(session, scope)}
    assert exam_a.id in ids and district_exam.id in ids and exam_b.id not in ids
    with pytest.raises(NotFound):
        access.get_visible_exam(session, exam_b.id, scope)
    with pytest.raises(PermissionDenied):
        access.get_managed_exam(session, district_exam.id, scope)
    # the district exam's monitor shows only town A's people to the unit admin
    data = monitor.monitor(session, district_exam, scope=scope, now=NOW)
    assert [c["person_no"] for c in data["candidates"]] == ["TA-0001"]
    assert {c["person_no"] for c in monitor.monitor(
        session, district_exam, scope=_scope(session, "ANA1"), now=NOW)["candidates"]} == {
        "TA-0001", "TB-0001"}  # fmt: skip


def test_open_close_extend_and_extra_time_are_audited(session, world, make_exam, make_attempt):
    exam = make_exam([world.cand_a, world.cand_b], status="draft", duration=60)
    attempt = make_attempt(exam, world.cand_a, status="in_progress", started=NOW)
    # the window closes before the natural deadline: extending the window moves it
    exam.closes_at = NOW + dt.timedelta(minutes=30)
    attempt.deadline_at = exam.closes_at
    session.flush()
    kw = {"scope": CONSOLE, "actor": None, "now": NOW}
    windows.open_exam(session, exam, **kw)
    with pytest.raises(Conflict):
        windows.open_exam(session, exam, **kw)
    moved = windows.extend_window(session, exam, NOW + dt.timedelta(hours=3), **kw)
    assert moved == 1 and attempt.deadline_at == NOW + dt.timedelta(minutes=60)
    with pytest.raises(InvalidInput):
        windows.extend_window(session, exam, NOW, **kw)
    windows.set_extra_time(session, exam, world.cand_a, 15, "视力障碍", **kw)
    assert attempt.deadline_at == NOW + dt.timedelta(minutes=75)
    windows.extend_person_time(session, exam, world.cand_a, 10, "网络故障", **kw)
    assert attempt.deadline_at == NOW + dt.timedelta(minutes=85)
    part = session.scalar(select(Participant).where(Participant.person_id == world.cand_a.id))
    assert part.extra_minutes == 25 and "网络故障" in part.extra_reason
    with pytest.raises(InvalidInput):
        windows.set_extra_time(session, exam, world.cand_a, 5, " ", **kw)
    windows.close_exam(session, exam, **kw)
    actions = [
        a
        for (a,) in session.execute(
            select(AuditEntry.action).where(AuditEntry.entity_type.in_(["exam", "participant"]))
        )
    ]
    for action in ("exam.open", "exam.extend_window", "exam.extra_time", "exam.extend_person",
                   "exam.close"):  # fmt: skip
        assert action in actions


def test_monitor_counts_and_progress(session, world, make_exam, make_attempt, make_question,
                                     make_paper):  # fmt: skip
    from exam.models import Answer

    exam = make_exam([world.cand_a, world.cand_a2, world.cand_b], duration=30)
    q1, q2 = make_question(), make_question()
    paper = make_paper(exam, world.cand_a, [(q1, 10, "ABCD"), (q2, 10, "ABCD")])
    attempt = make_attempt(exam, world.cand_a, status="in_progress", started=NOW)
    saved = NOW + dt.timedelta(minutes=3)
    session.add(Answer(attempt_id=attempt.id, paper_item_id=paper.items[0].id, response="B",
                       seq=2, saved_at=saved))  # fmt: skip
    session.add(Answer(attempt_id=attempt.id, paper_item_id=paper.items[1].id, response=None,
                       seq=1, saved_at=NOW + dt.timedelta(minutes=1)))  # fmt: skip
    # a focus_lost from an earlier page is not an integrity event; leaving and a second
    # device are
    for kind in ("focus_lost", "left_page", "takeover", "left_page"):
        session.add(IntegrityEvent(attempt_id=attempt.id, kind=kind, at=NOW))
    make_attempt(exam, world.cand_b, score=90)
    session.flush()
    data = monitor.monitor(session, exam, scope=CONSOLE, now=NOW + dt.timedelta(minutes=5))
    assert data["totals"] == {
        "enrolled": 3, "started": 2, "in_progress": 1, "submitted": 1, "absent": 1,
    }  # fmt: skip
    row = next(c for c in data["candidates"] if c["person_no"] == "TA-0001")
    assert (row["answered"], row["total"], row["integrity_events"]) == (1, 2, 3)
    assert row["integrity"] == {"left_page": 2, "takeover": 1}
    assert row["integrity_text"] == "离开页面 2、另一设备 1"
    assert row["seconds_left"] == 25 * 60 and row["status"] == "in_progress"
    # the last save comes from the answers: autosave never touches the attempt row
    assert row["last_saved_at"] == saved.isoformat()


def test_results_per_exam_and_unit_and_workbook(session, world, make_exam, make_attempt):
    from openpyxl import load_workbook

    exam = make_exam([world.cand_a, world.cand_a2, world.cand_b])
    make_attempt(exam, world.cand_a, score=80)
    make_attempt(exam, world.cand_b, score=40)
    data = results.results(session, exam, scope=CONSOLE)
    assert data["summary"]["enrolled"] == 3 and data["summary"]["sat"] == 2
    assert data["summary"]["passed"] == 1
    scoped = results.results(session, exam, scope=_scope(session, "UA1"))
    assert {r["person_no"] for r in scoped["rows"]} == {"TA-0001", "TA-0002"}
    import io

    from core.excel import workbook_bytes

    wb = load_workbook(io.BytesIO(workbook_bytes(results.results_sheets(exam, data))))
    assert wb.sheetnames[:2] == ["考生成绩", "单位汇总"]
    assert wb["考生成绩"].max_row == 4


def test_self_reported_upload(session, world):
    head = ["人员编号", "姓名", "成绩", "满分", "考试日期", "考试名称"]
    data = xlsx(
        {
            "成绩": [
                head,
                ["TA-0001", "张三明", 88, 100, "2026-05-20", "甲镇纸笔测试"],  # 2 ok
                ["TA-0002", "李四", 120, 100, "2026-05-20", "甲镇纸笔测试"],  # 3 > full
                ["NOPE", None, 50, 100, "2026-05-20", "甲镇纸笔测试"],  # 4 unknown
                ["TA-0002", "错名", 50, 100, "2026/5/20", "甲镇纸笔测试"],  # 5 name mismatch
                ["TA-0002", "李四", 50, 100, "哪天", "甲镇纸笔测试"],  # 6 date
                ["TB-0001", "王五", 50, 100, "2026-05-20", "甲镇纸笔测试"],  # 7 out of scope
            ]
        }
    )
    scope = _scope(session, "UA1")
    report = self_reported.import_self_reported(
        session, data, filename="r.xlsx", scope=scope, actor=None, now=NOW
    )
    assert {e.row for e in report.errors} == {3, 4, 5, 6, 7}
    assert not report.written
    assert session.scalar(select(SelfReportedResult)) is None
    report = self_reported.import_self_reported(
        session, data, filename="r.xlsx", scope=scope, actor=None, now=NOW, skip_invalid=True
    )
    assert report.created == 1
    row = session.scalar(select(SelfReportedResult))
    assert (row.score, row.full_marks, row.taken_on) == (88, 100, dt.date(2026, 5, 20))
    assert row.unit_id == world.branch_a.id
    assert len(self_reported.list_self_reported(session, scope=scope)) == 1
    # it is kept apart from engine results and hidden from other units
    other = scope_of(session, ["unit_admin"], [world.town_b.id])
    assert self_reported.list_self_reported(session, scope=other) == []


def test_cli_exam_commands(runner, session, world, make_blueprint, make_exam, make_attempt,
                           tmp_path):  # fmt: skip
    bp = make_blueprint()
    result = runner.invoke([
        "exam", "create", "--title", "CLI 测试", "--blueprint", bp.code, "--owner", "TA",
        "--opens", "2099-06-15 08:00", "--closes", "2099-06-15 18:00", "--duration", "45",
        "--units", "TA", "--ranks", "township", "--people", "TB-0001", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    exam = session.scalar(select(Exam).where(Exam.title == "CLI 测试"))
    assert exam.opens_at == dt.datetime(2099, 6, 15, 0, 0, tzinfo=dt.UTC)
    # township people of TA's subtree (TA-0001 and the unit admin UA1) plus TB-0001
    assert {p.person.person_no for p in exam.participants} == {"TA-0001", "UA1", "TB-0001"}
    assert runner.invoke(["exam", "open", str(exam.id)]).exit_code == 0
    result = runner.invoke(["exam", "extend", str(exam.id), "--until", "2099-06-15 20:00"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(["exam", "extra-time", str(exam.id), "TA-0001", "--minutes", "10",
                            "--reason", "老花眼"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(["exam", "list", "--json"])
    assert "CLI 测试" in result.output
    make_attempt(exam, world.cand_a, score=70)
    out = tmp_path / "r.xlsx"
    result = runner.invoke(["exam", "results", str(exam.id), "--out", str(out)])
    assert result.exit_code == 0 and out.exists()
    assert runner.invoke(["exam", "close", str(exam.id)]).exit_code == 0
    up = tmp_path / "self.csv"
    up.write_text("人员编号,成绩,满分,考试日期,考试名称\nTA-0002,60,100,2026-05-01,线下测试\n",
                  encoding="utf-8")  # fmt: skip
    result = runner.invoke(["exam", "upload-results", str(up)])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(SelfReportedResult)).score == 60
