from __future__ import annotations

from sqlalchemy import select

from core.audit import AuditEntry
from core.org.models import OrgUnit, Person
from core.org.roster import import_org
from core.org.roster_rows import parse_rank
from tests.admin.conftest import xlsx
from tests.conftest import NOW

ROSTER_HEAD = ["姓名", "人员编号", "单位", "职级", "是否党员", "职务", "联系方式"]


def test_parse_rank_recognises_labels_and_details():
    assert parse_rank("乡科级") == ("township", None)
    assert parse_rank("正科") == ("township", "正科")
    assert parse_rank("乡科级（副科）") == ("township", "副科")
    assert parse_rank("副处") == ("county", "副处")
    assert parse_rank("一般干部") == ("general", None)
    assert parse_rank("其他公职人员") == ("other", None)
    assert parse_rank("县处级正科") is None  # contradiction
    assert parse_rank("科长") is None


def test_tree_and_roster_import_by_code_and_by_path(session, world):
    data = xlsx(
        {
            "组织树": [
                ["单位代码", "单位名称", "单位类型", "上级单位"],
                ["TAB2", "甲镇社区党支部", "党支部", "TA"],
                ["TC", "丙区园", "区园", world.district.code],
                ["TCB1", "丙区园党支部", "党支部", "丙区园"],
            ],
            "人员名册": [
                ROSTER_HEAD,
                [
                    "赵六",
                    "TA-0100",
                    "甲镇/甲镇社区党支部",
                    "乡科级（正科）",
                    "是",
                    "科长",
                    "13800000000",
                ],
                ["钱七", "TC-0001", "TCB1", "一般干部", "否", "科员", None],
                ["孙八", "TA-0101", "甲镇/甲镇机关党支部", "副科", "是", None, None],
            ],
        }
    )
    report = import_org(session, data, filename="org.xlsx", now=NOW)
    assert report.errors == []
    assert report.written
    assert (report.units_created, report.people_created) == (3, 3)
    zhao = session.scalar(select(Person).where(Person.person_no == "TA-0100"))
    assert zhao.unit.code == "TAB2"
    assert (zhao.rank, zhao.rank_detail, zhao.is_party_member) == ("township", "正科", True)
    assert zhao.contact == "13800000000"
    qian = session.scalar(select(Person).where(Person.person_no == "TC-0001"))
    assert qian.unit.code == "TCB1" and qian.is_party_member is False
    tcb1 = session.scalar(select(OrgUnit).where(OrgUnit.code == "TCB1"))
    assert tcb1.path.startswith(world.district.path)
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "org.import"))


def test_bad_rows_are_all_named_and_nothing_is_written(session, world):
    data = xlsx(
        {
            "人员名册": [
                ROSTER_HEAD,
                ["好人", "TA-0200", "TA", "一般干部", "是", None, None],  # row 2: fine
                ["无单位", "TA-0201", "不存在镇", "一般干部", "是", None, None],  # 3
                ["重复甲", "TA-0202", "TA", "一般干部", "是", None, None],  # 4
                ["重复乙", "TA-0202", "TA", "一般干部", "是", None, None],  # 5: duplicate
                ["错职级", "TA-0203", "TA", "科长", "是", None, None],  # 6
                [None, "TA-0204", "TA", "一般干部", "是", None, None],  # 7: no name
                ["错党员", "TA-0205", "TA", "一般干部", "也许", None, None],  # 8
            ]
        }
    )
    before = session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1))
    report = import_org(session, data, filename="bad.xlsx", now=NOW)
    assert not report.written
    by_row = {e.row: e.reason for e in report.errors}
    assert set(by_row) == {3, 5, 6, 7, 8}
    assert "未知单位" in by_row[3]
    assert "重复" in by_row[5] and "第 4 行" in by_row[5]
    assert "未知职级" in by_row[6]
    assert "缺少姓名" in by_row[7]
    assert "是否党员" in by_row[8]
    assert all(e.sheet == "人员名册" for e in report.errors)
    after = session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1))
    assert after == before  # nothing written, not even the good row
    assert session.scalar(select(Person).where(Person.person_no == "TA-0200")) is None


def test_skip_invalid_writes_the_good_rows(session, world):
    data = xlsx(
        {
            "名册": [
                ROSTER_HEAD,
                ["好人", "TA-0300", "TA", "一般干部", "是", None, None],
                ["坏人", "TA-0301", "NOPE", "一般干部", "是", None, None],
            ]
        }
    )
    report = import_org(session, data, filename="x.xlsx", skip_invalid=True, now=NOW)
    assert report.written and len(report.errors) == 1
    assert session.scalar(select(Person).where(Person.person_no == "TA-0300"))


def test_dry_run_writes_nothing(session, world):
    data = xlsx({"名册": [ROSTER_HEAD, ["新人", "TA-0400", "TA", "一般干部", "是", None, None]]})
    report = import_org(session, data, filename="x.xlsx", dry_run=True, now=NOW)
    assert report.people_created == 1 and not report.written
    assert session.scalar(select(Person).where(Person.person_no == "TA-0400")) is None


def test_reimport_moves_a_person_and_keeps_past_results(session, world, make_exam, make_attempt):
    cand = world.cand_a
    old_unit = cand.unit_id
    exam = make_exam([cand])
    attempt = make_attempt(exam, cand, score=80)
    data = xlsx(
        {
            "名册": [
                ROSTER_HEAD,
                [cand.name, cand.person_no, "TB", "乡科级（副科）", "是", "副科长", None],
            ]
        }
    )
    report = import_org(session, data, filename="move.xlsx", now=NOW)
    assert report.errors == []
    assert (report.people_created, report.people_updated, report.people_moved) == (0, 1, 1)
    session.refresh(cand)
    session.refresh(attempt)
    assert cand.unit_id == world.town_b.id
    assert cand.rank_detail == "副科" and cand.position == "副科长"
    # the result stays with the unit the exam was sat in
    assert attempt.unit_id == old_unit
    assert exam.participants[0].unit_id == old_unit
    from core.accounts.scope import CONSOLE
    from exam.admin.results import person_history, results

    history = person_history(session, cand, scope=CONSOLE)
    assert history[0]["score"] == 80 and history[0]["unit"].endswith("甲镇机关党支部")
    rows = results(session, exam, scope=CONSOLE)["rows"]
    assert rows[0]["unit_id"] == old_unit


def test_unit_admin_scope_rejects_rows_of_other_units(session, world):
    from core.accounts.scope import scope_for
    from core.accounts.services import account_for_person_no

    scope = scope_for(session, account_for_person_no(session, "UA1"))
    data = xlsx(
        {
            "名册": [
                ROSTER_HEAD,
                ["新人", "TA-0500", "TAB1", "一般干部", "是", None, None],
                ["外人", "TB-0500", "TB", "一般干部", "是", None, None],
                ["王五", "TB-0001", "TA", "县处级", "是", None, None],  # steals a person
            ]
        }
    )
    report = import_org(session, data, filename="x.xlsx", scope=scope, now=NOW)
    assert {e.row for e in report.errors} == {3, 4}
    assert not report.written


def test_tree_errors_are_named(session, world):
    data = xlsx(
        {
            "组织树": [
                ["单位代码", "单位名称", "单位类型", "上级单位"],
                ["X1", "某单位", "火星", "TA"],
                ["X2", "某支部", "党支部", "没有这个"],
                [None, "无代码", "单位", "TA"],
                ["X3", "无上级", "单位", None],
            ]
        }
    )
    report = import_org(session, data, filename="t.xlsx", now=NOW)
    reasons = {e.row: e.reason for e in report.errors}
    assert "未知单位类型" in reasons[2]
    assert "未知上级单位" in reasons[3]
    assert "缺少单位代码" in reasons[4]
    assert "缺少上级单位" in reasons[5]
    assert session.scalar(select(OrgUnit).where(OrgUnit.code == "X1")) is None


def test_cli_import_exit_codes_and_json(runner, session, world, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx({"名册": [ROSTER_HEAD, ["某", "TA-0600", "NOPE", "一般干部", "是"]]}))
    result = runner.invoke(["org", "import", str(bad)])
    assert result.exit_code == 1
    assert "第 2 行" in result.output and "未知单位" in result.output
    good = tmp_path / "good.csv"
    good.write_text("姓名,人员编号,单位,职级\n某,TA-0601,TA,一般干部\n", encoding="utf-8")
    result = runner.invoke(["org", "import", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert '"people_created": 1' in result.output
    assert session.scalar(select(Person).where(Person.person_no == "TA-0601"))
    result = runner.invoke(["org", "tree"])
    assert result.exit_code == 0 and "甲镇" in result.output
