"""Blueprint parsing and validation: clear Chinese messages; files; versions; copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidInput
from exam.papers import blueprints as bps
from exam.papers.files import load_blueprint_data
from exam.papers.parse import parse_blueprint
from exam.papers.spec import spec_from_json
from tests.papers.conftest import BLUEPRINT_DATA

ROOT = Path(__file__).resolve().parents[2]


def _errors(data, **kw):
    with pytest.raises(InvalidInput) as info:
        parse_blueprint(data, **kw)
    return info.value.details


def _base(**changes):
    data = {
        "code": "v",
        "name": "校验",
        "pass_mark": 6,
        "sections": [{"type": "single", "count": 10, "points": 1}],
    }
    data.update(changes)
    return data


def test_shares_must_sum_to_100():
    errors = _errors(_base(source_shares={"a": 60, "b": 30}))
    assert any("来源比例的比例合计为 90%，应为 100%" in e for e in errors)


def test_section_counts_must_add_up():
    short = _errors(
        _base(sections=[{"type": "single", "count": 10, "points": 1, "sources": {"a": 6, "b": 2}}])
    )
    assert any("共 10 题，但来源配额合计只有 8 题" in e and "超出配额 2 题" in e for e in short)
    over = _errors(
        _base(
            sections=[
                {"type": "single", "count": 4, "points": 1, "difficulty": {"easy": 3, "hard": 3}}
            ]
        )
    )
    assert any("难度配额合计 6 题，超过本节题数 4 题" in e for e in over)


def test_totals_pass_mark_type_policy_and_target():
    errors = _errors(
        {
            "code": "bad code!",
            "name": "",
            "total_points": 90,
            "pass_mark": 200,
            "target_difficulty": 9,
            "sections": [
                {"type": "简答", "count": 1, "points": 1},
                {"type": "判断", "count": 5, "points": 2, "policy": "partial"},
                {
                    "type": "多选",
                    "count": 2,
                    "points": 3,
                    "policy": "partial",
                    "partial_fraction": 1.5,
                },
            ],
        }
    )
    text = "\n".join(errors)
    assert "规则代码" in text and "缺少规则名称" in text
    assert "题型“简答”无效" in text
    assert "只有多选题可以设置计分方式" in text
    assert "部分得分比例应在 0 和 1 之间" in text
    assert "总分 90 与各节分值合计 16 不符" in text
    assert "及格分 200 应大于 0 且不超过总分 16" in text
    assert "目标平均难度 9 应在 1 到 5 之间" in text


def test_unknown_source_and_unreachable_target():
    aliases = {"criminal_law": "criminal_law", "刑法": "criminal_law"}
    errors = _errors(_base(source_shares={"宪法": 100}), source_aliases=aliases)
    assert any("未知的法规来源：“宪法”" in e for e in errors)
    errors = _errors(
        _base(difficulty_shares={"容易": 100}, target_difficulty=4.5, difficulty_tolerance=0.2)
    )
    assert any("无法达到" in e and "1.00–2.00" in e for e in errors)


def test_shares_become_a_two_way_table_close_to_the_shares():
    spec = parse_blueprint(
        _base(
            source_shares={"a": 50, "b": 30, "c": 20},
            difficulty_shares={"easy": 30, "medium": 40, "hard": 30},
            sections=[
                {"type": "single", "count": 7, "points": 1},
                {"type": "true_false", "count": 3, "points": 1},
            ],
        )
    )
    for s in spec.sections:
        assert sum(n for _, _, n in s.cells) == s.count
        assert sum(s.sources.values()) == s.count and sum(s.difficulty.values()) == s.count
    paper_sources = {k: sum((s.sources or {}).get(k, 0) for s in spec.sections) for k in "abc"}
    assert paper_sources == {"a": 5, "b": 3, "c": 2}
    stored = spec.to_json()
    assert stored["sections"][0]["type"] == "single"
    again = spec_from_json("v", "校验", stored)
    assert again.sections == spec.sections


def test_demo_yaml_is_valid(session, sources):
    content = (ROOT / "exam/data/demo_blueprint.yaml").read_bytes()
    spec = bps.validate(session, load_blueprint_data(content, "demo_blueprint.yaml"))
    assert spec.total_points == 100 and spec.pass_mark == 60 and spec.tier == "township"
    assert [s.type for s in spec.sections] == ["single", "multiple", "true_false", "fill_blank"]
    assert spec.sections[1].policy == "partial" and spec.sections[1].partial_fraction == 0.5


def test_excel_blueprint(session, sources):
    from core.excel import SheetSpec, workbook_bytes

    content = workbook_bytes(
        [
            SheetSpec(
                "规则",
                ["项目", "值"],
                [["代码", "x-xlsx"], ["名称", "表格规则"], ["及格分", 6], ["适用层级", "一般干部"]],
            ),
            SheetSpec(
                "题型",
                ["题型", "题数", "每题分值", "多选计分"],
                [["单选", 6, 1, None], ["多选", 2, 2, "部分得分"]],
            ),
            SheetSpec("来源比例", ["来源", "比例"], [["刑法", 50], ["监察法", 50]]),
        ]
    )
    row = bps.import_blueprint(session, content, "rule.xlsx")
    assert (row.code, row.version, row.tier, row.total_points) == ("x-xlsx", 1, "general", 10)
    assert row.spec["sections"][0]["sources"] == {"criminal_law": 3, "supervision_law": 3}


def test_versions_and_copies(session, blueprint_row):
    data = dict(BLUEPRINT_DATA, name="第二版")
    v2 = bps.save_blueprint(session, bps.validate(session, data))
    assert (v2.code, v2.version) == (blueprint_row.code, 2)
    assert [v.version for v in bps.versions_of(session, "t-bp")] == [2, 1]
    assert bps.get_blueprint(session, "t-bp").id == v2.id
    copy = bps.copy_blueprint(session, blueprint_row, "t-copy")
    assert (copy.version, copy.name) == (1, "测试组卷规则（副本）")
    assert copy.spec["sections"] == blueprint_row.spec["sections"]
    with pytest.raises(InvalidInput, match="已存在"):
        bps.copy_blueprint(session, blueprint_row, "t-copy")
