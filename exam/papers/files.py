"""Blueprint files: YAML (or JSON) and Excel workbooks read into the dict
``exam.papers.parse.parse_blueprint`` takes."""

from __future__ import annotations

import io
from pathlib import Path

import yaml

from core.errors import InvalidInput
from core.excel import read_tables

_KV_ALIASES = {"key": ("项目", "名称项", "参数"), "value": ("值", "内容", "设置")}
_KV_KEYS = {
    "代码": "code",
    "规则代码": "code",
    "名称": "name",
    "规则名称": "name",
    "适用层级": "tier",
    "层级": "tier",
    "总分": "total_points",
    "及格分": "pass_mark",
    "目标难度": "target_difficulty",
    "目标平均难度": "target_difficulty",
    "难度容差": "difficulty_tolerance",
    "必考知识点": "required_knowledge_points",
    "仅用仅限考试试题": "reserved_only",
    "仅限考试": "reserved_only",
}
_SECTION_ALIASES = {
    "type": ("题型",),
    "count": ("题数", "数量"),
    "points": ("每题分值", "分值"),
    "policy": ("多选计分", "计分方式"),
    "partial_fraction": ("部分得分比例", "少选得分比例"),
    "title": ("标题", "大题标题"),
}
_SHARE_ALIASES = {"source": ("来源", "法规", "法规来源"), "share": ("比例", "占比", "比例%")}
_BAND_ALIASES = {"band": ("难度档", "难度"), "share": ("比例", "占比", "比例%")}


def load_blueprint_data(content: bytes, filename: str) -> dict:
    """Read a blueprint file (.yaml/.yml/.json or .xlsx) into the dict ``parse_blueprint``
    takes. Excel: sheet 规则 (项目 | 值), sheet 题型 (题型 | 题数 | 每题分值 | 多选计分 |
    部分得分比例), optional sheets 来源比例 (来源 | 比例) and 难度比例 (难度档 | 比例)."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        try:
            data = yaml.safe_load(io.BytesIO(content))
        except yaml.YAMLError as exc:
            raise InvalidInput(f"无法解析 YAML 文件：{exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInput("YAML 文件的顶层应为键值结构。")
        return data
    if suffix not in (".xlsx", ".xlsm"):
        raise InvalidInput(f"不支持的文件类型：{suffix or '无扩展名'}（支持 .yaml 和 .xlsx）")
    data: dict = {}
    for sheet in read_tables(content, _KV_ALIASES, required=("key", "value"), filename=filename):
        for row in sheet.rows:
            key = str(row.values.get("key") or "").strip()
            if key in _KV_KEYS:
                data[_KV_KEYS[key]] = row.values.get("value")
    sections = []
    for sheet in read_tables(
        content, _SECTION_ALIASES, required=("type", "count", "points"), filename=filename
    ):
        sections.extend(
            {k: v for k, v in row.values.items() if v is not None} for row in sheet.rows
        )
    data["sections"] = sections
    for aliases, key_col, target in (
        (_SHARE_ALIASES, "source", "source_shares"),
        (_BAND_ALIASES, "band", "difficulty_shares"),
    ):
        for sheet in read_tables(content, aliases, required=(key_col, "share"), filename=filename):
            data[target] = {
                str(r.values[key_col]): r.values.get("share")
                for r in sheet.rows
                if r.values.get(key_col) is not None
            }
    return data
