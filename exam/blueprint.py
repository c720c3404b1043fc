"""Blueprints (组卷规则, 双向细目表): the specification every paper of an exam follows.

A blueprint is parsed from a dict (YAML, an Excel workbook or the admin form) into a
frozen ``BlueprintSpec``; parsing validates everything and reports every problem in
Chinese at once. Quotas by law source and by difficulty band are given as shares (per
cent, for the whole paper or one section) or as counts (per section); parsing turns
them into an explicit two-way table per section (source x band -> count), the ``cells``
that generation draws from and the pool check checks. The stored ``Blueprint.spec``
JSON is ``BlueprintSpec.to_json()``:

    {"sections": [{"type", "count", "points", "policy", "partial_fraction", "title",
                   "sources": {code: n} | null, "difficulty": {band: n} | null,
                   "cells": [[source | "*", band | "*", n], ...]}],
     "source_shares": {code: pct} | null, "difficulty_shares": {band: pct} | null,
     "difficulty_bands": {band: [lo, hi]}, "required_knowledge_points": [...],
     "tier", "total_points", "pass_mark", "target_difficulty", "difficulty_tolerance"}

Services at the bottom of the module create, version, copy and list blueprint rows.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import Actor, record
from core.errors import InvalidInput, NotFound
from question_bank.models import QUESTION_TYPE_LABELS, TIER_LABELS, LawSource

ANY = "*"
TYPES = ("single", "multiple", "true_false", "fill_blank")
TYPE_LABELS = {str(k): v for k, v in QUESTION_TYPE_LABELS.items()}
TYPE_BY_LABEL = {
    **{v: k for k, v in TYPE_LABELS.items()},
    "单选题": "single",
    "单项选择": "single",
    "单项选择题": "single",
    "多选题": "multiple",
    "多项选择": "multiple",
    "多项选择题": "multiple",
    "判断题": "true_false",
    "填空题": "fill_blank",
}
SECTION_TITLES = {
    "single": "单项选择题",
    "multiple": "多项选择题",
    "true_false": "判断题",
    "fill_blank": "填空题",
}
POLICIES = ("all_or_nothing", "partial")
POLICY_BY_LABEL = {"全对得分": "all_or_nothing", "部分得分": "partial", "少选得分": "partial"}
POLICY_LABELS = {"all_or_nothing": "全对才得分", "partial": "少选按比例得分"}
DEFAULT_BANDS: dict[str, tuple[int, int]] = {"easy": (1, 2), "medium": (3, 3), "hard": (4, 5)}
BAND_LABELS = {"easy": "容易", "medium": "中等", "hard": "较难", ANY: "不限难度"}
BAND_BY_LABEL = {"容易": "easy", "易": "easy", "中等": "medium", "中": "medium", "较难": "hard"}
BAND_BY_LABEL["难"] = "hard"
TIERS = ("county", "township", "general", "all")
TIER_BY_LABEL = {v: k for k, v in TIER_LABELS.items()}


def type_label(t: str) -> str:
    return TYPE_LABELS.get(t, t)


def band_label(b: str) -> str:
    return BAND_LABELS.get(b, b)


@dataclass(frozen=True)
class SectionSpec:
    type: str
    count: int
    points: float
    title: str = ""
    policy: str = "all_or_nothing"
    partial_fraction: float = 0.0
    #: source code -> questions in this section (None: any source)
    sources: Mapping[str, int] | None = None
    #: band -> questions in this section (None: any difficulty)
    difficulty: Mapping[str, int] | None = None
    #: the two-way table: (source or "*", band or "*", count), count > 0
    cells: tuple[tuple[str, str, int], ...] = ()

    def to_json(self) -> dict:
        data: dict = {"type": self.type, "count": self.count, "points": self.points}
        data["title"] = self.title
        if self.type == "multiple":
            data["policy"] = self.policy
            data["partial_fraction"] = self.partial_fraction
        data["sources"] = dict(self.sources) if self.sources is not None else None
        data["difficulty"] = dict(self.difficulty) if self.difficulty is not None else None
        data["cells"] = [list(c) for c in self.cells]
        return data


@dataclass(frozen=True)
class BlueprintSpec:
    code: str
    name: str
    sections: tuple[SectionSpec, ...]
    tier: str = "all"
    total_points: float = 0.0
    pass_mark: float = 60.0
    target_difficulty: float | None = None
    difficulty_tolerance: float | None = None
    source_shares: Mapping[str, float] | None = None
    difficulty_shares: Mapping[str, float] | None = None
    difficulty_bands: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: dict(DEFAULT_BANDS)
    )
    required_knowledge_points: tuple[str, ...] = ()

    @property
    def question_count(self) -> int:
        return sum(s.count for s in self.sections)

    def band_of(self, difficulty: int) -> str:
        for band, (lo, hi) in self.difficulty_bands.items():
            if lo <= difficulty <= hi:
                return band
        return ANY

    def difficulty_range(self) -> tuple[float, float]:
        """Lowest and highest mean difficulty the bands allow (1..5 where unbanded)."""
        lo = hi = 0.0
        for s in self.sections:
            for _src, band, n in s.cells:
                b_lo, b_hi = self.difficulty_bands.get(band, (1, 5))
                lo += b_lo * n
                hi += b_hi * n
        n = max(1, self.question_count)
        return lo / n, hi / n

    def to_json(self) -> dict:
        return {
            "sections": [s.to_json() for s in self.sections],
            "tier": self.tier,
            "total_points": self.total_points,
            "pass_mark": self.pass_mark,
            "target_difficulty": self.target_difficulty,
            "difficulty_tolerance": self.difficulty_tolerance,
            "source_shares": dict(self.source_shares) if self.source_shares else None,
            "difficulty_shares": dict(self.difficulty_shares) if self.difficulty_shares else None,
            "difficulty_bands": {k: list(v) for k, v in self.difficulty_bands.items()},
            "required_knowledge_points": list(self.required_knowledge_points),
        }


# ---------------------------------------------------------------- parsing


class _Errors(list):
    def add(self, message: str) -> None:
        self.append(message)


def _num(value, what: str, errors: _Errors, *, integer: bool = False) -> float | int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors.add(f"{what}应为数字，而不是“{value}”。")
        return None
    try:
        text = str(value).strip().rstrip("%％")
        number = float(text)
    except (TypeError, ValueError):
        errors.add(f"{what}应为数字，而不是“{value}”。")
        return None
    if not math.isfinite(number):
        errors.add(f"{what}应为有限的数字。")
        return None
    if integer:
        if not number.is_integer():
            errors.add(f"{what}应为整数，而不是“{value}”。")
            return None
        return int(number)
    return number


def _shares(raw, what: str, resolve, errors: _Errors) -> dict[str, float] | None:
    """Per-cent shares summing to 100 (fractions summing to 1 are accepted too)."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, Mapping):
        errors.add(f"{what}应为“名称: 比例”的列表。")
        return None
    out: dict[str, float] = {}
    for key, value in raw.items():
        code = resolve(key)
        if code is None:
            continue
        number = _num(value, f"{what}中“{key}”的比例", errors)
        if number is None:
            continue
        if number < 0:
            errors.add(f"{what}中“{key}”的比例不能为负数。")
            continue
        out[code] = out.get(code, 0.0) + number
    if not out:
        return None
    total = sum(out.values())
    if abs(total - 1.0) < 1e-6 and all(v <= 1 for v in out.values()):
        out = {k: v * 100 for k, v in out.items()}
        total = 100.0
    if abs(total - 100.0) > 0.01:
        errors.add(f"{what}的比例合计为 {total:g}%，应为 100%。")
        return None
    return {k: v for k, v in out.items() if v > 0}


def _counts(raw, what: str, resolve, errors: _Errors) -> dict[str, int] | None:
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, Mapping):
        errors.add(f"{what}应为“名称: 题数”的列表。")
        return None
    out: dict[str, int] = {}
    for key, value in raw.items():
        code = resolve(key)
        if code is None:
            continue
        number = _num(value, f"{what}中“{key}”的题数", errors, integer=True)
        if number is None:
            continue
        if number < 0:
            errors.add(f"{what}中“{key}”的题数不能为负数。")
            continue
        out[code] = out.get(code, 0) + number
    return {k: v for k, v in out.items() if v > 0}


def _apportion_cumulative(
    n: int, shares: Mapping[str, float], assigned: dict[str, int], total_after: int
) -> dict[str, int]:
    """Give ``n`` slots to keys so that running totals track ``share * total``.

    Done slot by slot for the key furthest below its cumulative target (ties: the
    order of ``shares``), so small sections do not always favour the same source and
    the whole paper stays within one question of every share.
    """
    out = dict.fromkeys(shares, 0)
    for _ in range(n):
        best = max(
            shares,
            key=lambda k: shares[k] / 100.0 * total_after - assigned.get(k, 0) - out[k],
        )
        out[best] += 1
    for k, v in out.items():
        assigned[k] = assigned.get(k, 0) + v
    return {k: v for k, v in out.items() if v > 0}


def two_way_table(rows: Mapping[str, int], cols: Mapping[str, int]) -> list[tuple[str, str, int]]:
    """Integer table with the given row and column sums, close to the independent
    (product) table: floors first, then leftover units by largest fraction."""
    n = sum(rows.values())
    table = {(r, c): rows[r] * cols[c] / n for r in rows for c in cols}
    counts = {k: math.floor(v + 1e-9) for k, v in table.items()}
    row_left = {r: rows[r] - sum(counts[(r, c)] for c in cols) for r in rows}
    col_left = {c: cols[c] - sum(counts[(r, c)] for r in rows) for c in cols}
    order = sorted(table, key=lambda k: -(table[k] - counts[k]))
    while any(row_left.values()):
        for r, c in order:
            if row_left[r] > 0 and col_left[c] > 0:
                counts[(r, c)] += 1
                row_left[r] -= 1
                col_left[c] -= 1
                break
        else:  # pragma: no cover - impossible when row and column sums agree
            raise AssertionError("two-way table rounding failed")
    return [(r, c, v) for (r, c), v in counts.items() if v > 0]


def parse_blueprint(
    data: Mapping, *, source_aliases: Mapping[str, str] | None = None
) -> BlueprintSpec:
    """Validate a blueprint given as a dict; raise ``InvalidInput`` listing every problem.

    ``source_aliases`` maps every accepted source name (code, full name, short names)
    to its code; without it, source keys are taken as codes unchecked.
    """
    errors = _Errors()
    if not isinstance(data, Mapping):
        raise InvalidInput("组卷规则格式有误：应为键值结构。")

    def resolve_source(key) -> str | None:
        key = str(key).strip()
        if source_aliases is None:
            return key
        code = source_aliases.get(key) or source_aliases.get(key.strip("《》"))
        if code is None:
            errors.add(f"未知的法规来源：“{key}”。")
        return code

    bands_raw = data.get("difficulty_bands") or DEFAULT_BANDS
    bands: dict[str, tuple[int, int]] = {}
    if not isinstance(bands_raw, Mapping):
        errors.add("难度分档格式有误。")
        bands_raw = DEFAULT_BANDS
    for name, rng in bands_raw.items():
        try:
            lo, hi = (int(rng[0]), int(rng[1])) if not isinstance(rng, int) else (rng, rng)
        except (TypeError, ValueError, IndexError):
            errors.add(f"难度分档“{name}”应为 [最低, 最高]。")
            continue
        if not (1 <= lo <= hi <= 5):
            errors.add(f"难度分档“{name}”的范围 {lo}–{hi} 无效（难度为 1–5）。")
            continue
        bands[BAND_BY_LABEL.get(str(name), str(name))] = (lo, hi)
    covered = sorted(d for lo, hi in bands.values() for d in range(lo, hi + 1))
    if len(covered) != len(set(covered)):
        errors.add("难度分档相互重叠。")

    def resolve_band(key) -> str | None:
        key = str(key).strip()
        band = BAND_BY_LABEL.get(key, key)
        if band not in bands:
            labels = "、".join(f"{band_label(b)}({b})" for b in bands)
            errors.add(f"未知的难度档“{key}”（可选：{labels}）。")
            return None
        return band

    code = str(data.get("code") or "").strip()
    name = str(data.get("name") or "").strip()
    if not code:
        errors.add("缺少规则代码（code）。")
    elif not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", code):
        errors.add(f"规则代码“{code}”只能包含字母、数字、下划线、点和连字符（最多 64 个字符）。")
    if not name:
        errors.add("缺少规则名称（name）。")

    tier_raw = str(data.get("tier") or "all").strip()
    tier = TIER_BY_LABEL.get(tier_raw, tier_raw)
    if tier not in TIERS:
        errors.add(f"未知的适用层级“{tier_raw}”（可选：县处级、乡科级、一般干部、全部）。")
        tier = "all"

    source_shares = _shares(data.get("source_shares"), "来源比例", resolve_source, errors)
    difficulty_shares = _shares(data.get("difficulty_shares"), "难度比例", resolve_band, errors)

    sections_raw = data.get("sections")
    if not isinstance(sections_raw, Sequence) or isinstance(sections_raw, str) or not sections_raw:
        errors.add("至少需要一个题型分节（sections）。")
        sections_raw = []

    # first pass: structure
    parsed: list[dict] = []
    for i, raw in enumerate(sections_raw, start=1):
        where = f"第{i}节"
        if not isinstance(raw, Mapping):
            errors.add(f"{where}格式有误。")
            continue
        t_raw = str(raw.get("type") or "").strip()
        qtype = TYPE_BY_LABEL.get(t_raw, t_raw)
        if qtype not in TYPES:
            errors.add(f"{where}的题型“{t_raw}”无效（可选：单选、多选、判断、填空）。")
            continue
        where = f"第{i}节（{type_label(qtype)}）"
        count = _num(raw.get("count"), f"{where}的题数", errors, integer=True)
        points = _num(raw.get("points"), f"{where}的每题分值", errors)
        if count is None or points is None:
            if raw.get("count") in (None, "") or raw.get("points") in (None, ""):
                errors.add(f"{where}需要题数和每题分值。")
            continue
        if count <= 0:
            errors.add(f"{where}的题数必须大于 0。")
            continue
        if points <= 0:
            errors.add(f"{where}的每题分值必须大于 0。")
            continue
        policy = str(raw.get("policy") or "all_or_nothing").strip()
        policy = POLICY_BY_LABEL.get(policy, policy)
        fraction = 0.0
        if qtype == "multiple":
            if policy not in POLICIES:
                errors.add(f"{where}的计分方式“{policy}”无效（可选：全对得分、部分得分）。")
            elif policy == "partial":
                f = _num(raw.get("partial_fraction", 0.5), f"{where}的部分得分比例", errors)
                if f is not None and not (0 < f < 1):
                    errors.add(f"{where}的部分得分比例应在 0 和 1 之间（不含），例如 0.5。")
                fraction = f or 0.5
        elif raw.get("policy") not in (None, "", "all_or_nothing"):
            errors.add(f"{where}：只有多选题可以设置计分方式。")
        sources = _counts(raw.get("sources"), f"{where}的来源配额", resolve_source, errors)
        s_shares = _shares(raw.get("source_shares"), f"{where}的来源比例", resolve_source, errors)
        difficulty = _counts(raw.get("difficulty"), f"{where}的难度配额", resolve_band, errors)
        d_shares = _shares(raw.get("difficulty_shares"), f"{where}的难度比例", resolve_band, errors)
        for label, quota in (("来源配额", sources), ("难度配额", difficulty)):
            if quota is not None and sum(quota.values()) != count:
                total = sum(quota.values())
                if total < count:
                    errors.add(
                        f"{where}共 {count} 题，但{label}合计只有 {total} 题"
                        f"（本节题数超出配额 {count - total} 题）。"
                    )
                else:
                    errors.add(f"{where}的{label}合计 {total} 题，超过本节题数 {count} 题。")
        parsed.append(
            {
                "type": qtype,
                "count": count,
                "points": float(points),
                "title": str(raw.get("title") or SECTION_TITLES[qtype]),
                "policy": policy if qtype == "multiple" else "all_or_nothing",
                "partial_fraction": fraction if policy == "partial" else 0.0,
                "sources": sources,
                "source_shares": s_shares,
                "difficulty": difficulty,
                "difficulty_shares": d_shares,
            }
        )

    total_points = sum(s["count"] * s["points"] for s in parsed)
    declared = _num(data.get("total_points"), "总分", errors)
    if declared is not None and parsed and abs(declared - total_points) > 1e-6:
        errors.add(f"总分 {declared:g} 与各节分值合计 {total_points:g} 不符。")
    pass_mark = _num(data.get("pass_mark", 60), "及格分", errors)
    if pass_mark is not None and (pass_mark <= 0 or (parsed and pass_mark > total_points)):
        errors.add(f"及格分 {pass_mark:g} 应大于 0 且不超过总分 {total_points:g}。")
    target = _num(data.get("target_difficulty"), "目标平均难度", errors)
    tolerance = _num(data.get("difficulty_tolerance"), "难度容差", errors)
    if target is not None:
        if not (1 <= target <= 5):
            errors.add(f"目标平均难度 {target:g} 应在 1 到 5 之间。")
        if tolerance is None:
            tolerance = 0.3
        elif tolerance <= 0:
            errors.add("难度容差必须大于 0。")
    elif tolerance is not None:
        errors.add("设置了难度容差但没有目标平均难度。")
        tolerance = None

    kps_raw = data.get("required_knowledge_points") or []
    if isinstance(kps_raw, str):
        kps_raw = re.split(r"[;；,，、\n]", kps_raw)
    required = tuple(dict.fromkeys(str(k).strip() for k in kps_raw if str(k).strip()))

    # second pass: apportion shares (running totals over the paper) and build cells
    sections: list[SectionSpec] = []
    src_assigned: dict[str, int] = {}
    band_assigned: dict[str, int] = {}
    src_total = band_total = 0
    for p in parsed:
        n = p["count"]
        sources = p["sources"]
        if sources is None and p["source_shares"]:
            sources = _apportion_cumulative(n, p["source_shares"], {}, n)
        elif sources is None and source_shares:
            src_total += n
            sources = _apportion_cumulative(n, source_shares, src_assigned, src_total)
        difficulty = p["difficulty"]
        if difficulty is None and p["difficulty_shares"]:
            difficulty = _apportion_cumulative(n, p["difficulty_shares"], {}, n)
        elif difficulty is None and difficulty_shares:
            band_total += n
            difficulty = _apportion_cumulative(n, difficulty_shares, band_assigned, band_total)
        rows = sources if sources and sum(sources.values()) == n else {ANY: n}
        cols = difficulty if difficulty and sum(difficulty.values()) == n else {ANY: n}
        sections.append(
            SectionSpec(
                type=p["type"],
                count=n,
                points=p["points"],
                title=p["title"],
                policy=p["policy"],
                partial_fraction=p["partial_fraction"],
                sources=sources,
                difficulty=difficulty,
                cells=tuple(two_way_table(rows, cols)),
            )
        )

    spec = BlueprintSpec(
        code=code,
        name=name,
        sections=tuple(sections),
        tier=tier,
        total_points=total_points,
        pass_mark=pass_mark if pass_mark is not None else 60.0,
        target_difficulty=target,
        difficulty_tolerance=tolerance,
        source_shares=source_shares,
        difficulty_shares=difficulty_shares,
        difficulty_bands=bands or dict(DEFAULT_BANDS),
        required_knowledge_points=required,
    )
    if not errors and target is not None and tolerance is not None and sections:
        lo, hi = spec.difficulty_range()
        if target + tolerance < lo - 1e-9 or target - tolerance > hi + 1e-9:
            errors.add(
                f"目标平均难度 {target:g}±{tolerance:g} 在当前难度配额下无法达到"
                f"（可达范围 {lo:.2f}–{hi:.2f}）。"
            )
    if errors:
        raise InvalidInput("组卷规则有误，请修改后重试。", details=list(errors))
    return spec


def spec_from_json(
    code: str, name: str, spec: Mapping, *, pass_mark: float | None = None
) -> BlueprintSpec:
    """Rebuild a ``BlueprintSpec`` from stored JSON (already validated; no checks)."""
    bands = {k: (int(v[0]), int(v[1])) for k, v in (spec.get("difficulty_bands") or {}).items()}
    sections = []
    for s in spec["sections"]:
        cells = s.get("cells") or [[ANY, ANY, int(s["count"])]]
        sections.append(
            SectionSpec(
                type=s["type"],
                count=int(s["count"]),
                points=float(s["points"]),
                title=s.get("title") or SECTION_TITLES.get(s["type"], ""),
                policy=s.get("policy") or "all_or_nothing",
                partial_fraction=float(s.get("partial_fraction") or 0.0),
                sources=s.get("sources"),
                difficulty=s.get("difficulty"),
                cells=tuple((c[0], c[1], int(c[2])) for c in cells),
            )
        )
    total = sum(s.count * s.points for s in sections)
    return BlueprintSpec(
        code=code,
        name=name,
        sections=tuple(sections),
        tier=spec.get("tier") or "all",
        total_points=float(spec.get("total_points") or total),
        pass_mark=float(pass_mark if pass_mark is not None else spec.get("pass_mark") or 60),
        target_difficulty=spec.get("target_difficulty"),
        difficulty_tolerance=spec.get("difficulty_tolerance"),
        source_shares=spec.get("source_shares"),
        difficulty_shares=spec.get("difficulty_shares"),
        difficulty_bands=bands or dict(DEFAULT_BANDS),
        required_knowledge_points=tuple(spec.get("required_knowledge_points") or ()),
    )


def editable_dict(spec: BlueprintSpec) -> dict:
    """The input form of a spec (what ``parse_blueprint`` accepts), for edit forms and
    YAML export: section-level quotas that came from paper-level shares are left out."""
    sections = []
    for s in spec.sections:
        d: dict = {"type": s.type, "count": s.count, "points": s.points, "title": s.title}
        if s.type == "multiple":
            d["policy"] = s.policy
            if s.policy == "partial":
                d["partial_fraction"] = s.partial_fraction
        if s.sources and not spec.source_shares:
            d["sources"] = dict(s.sources)
        if s.difficulty and not spec.difficulty_shares:
            d["difficulty"] = dict(s.difficulty)
        sections.append(d)
    return {
        "code": spec.code,
        "name": spec.name,
        "tier": spec.tier,
        "pass_mark": spec.pass_mark,
        "total_points": spec.total_points,
        "target_difficulty": spec.target_difficulty,
        "difficulty_tolerance": spec.difficulty_tolerance,
        "source_shares": dict(spec.source_shares) if spec.source_shares else None,
        "difficulty_shares": dict(spec.difficulty_shares) if spec.difficulty_shares else None,
        "difficulty_bands": {k: list(v) for k, v in spec.difficulty_bands.items()},
        "required_knowledge_points": list(spec.required_knowledge_points),
        "sections": sections,
    }


# ---------------------------------------------------------------- files

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
    from core.excel import read_tables

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


# ---------------------------------------------------------------- services


def source_aliases(session: Session) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in session.scalars(select(LawSource)):
        out[s.code] = s.code
        out[s.name] = s.code
        for short in s.short_names or []:
            out[short] = s.code
    return out


def source_names(session: Session) -> dict[str, str]:
    """code -> short display name (e.g. 刑法)."""
    return {
        s.code: (s.short_names[0] if s.short_names else s.name)
        for s in session.scalars(select(LawSource).order_by(LawSource.sort_order))
    }


def validate(session: Session, data: Mapping) -> BlueprintSpec:
    return parse_blueprint(data, source_aliases=source_aliases(session))


def save_blueprint(
    session: Session,
    spec: BlueprintSpec,
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
):
    """Store ``spec`` as a new blueprint, or as the next version of its code."""
    from exam.models import Blueprint

    latest = session.scalar(select(func.max(Blueprint.version)).where(Blueprint.code == spec.code))
    row = Blueprint(
        code=spec.code,
        version=(latest or 0) + 1,
        name=spec.name,
        tier=spec.tier,
        spec=spec.to_json(),
        total_points=spec.total_points,
        pass_mark=spec.pass_mark,
        target_difficulty=spec.target_difficulty,
        difficulty_tolerance=spec.difficulty_tolerance,
        created_by=actor.label if actor else None,
    )
    if now is not None:
        row.created_at = now
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "blueprint.save",
        "blueprint",
        row.id,
        after={"code": row.code, "version": row.version, "name": row.name},
        at=now,
    )
    return row


def import_blueprint(
    session: Session,
    content: bytes,
    filename: str,
    *,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
):
    return save_blueprint(
        session, validate(session, load_blueprint_data(content, filename)), actor=actor, now=now
    )


def get_blueprint(session: Session, code: str, version: int | None = None):
    from exam.models import Blueprint

    query = select(Blueprint).where(Blueprint.code == code)
    if version is not None:
        query = query.where(Blueprint.version == version)
    row = session.scalar(query.order_by(Blueprint.version.desc()).limit(1))
    if row is None:
        raise NotFound(f"组卷规则不存在：{code}" + (f" 第{version}版" if version else ""))
    return row


def list_blueprints(session: Session, *, all_versions: bool = False) -> list:
    """Latest version of every code (or every version), newest code first."""
    from exam.models import Blueprint

    rows = session.scalars(select(Blueprint).order_by(Blueprint.code, Blueprint.version)).all()
    if all_versions:
        return list(rows)
    latest: dict[str, object] = {}
    for row in rows:
        latest[row.code] = row
    return list(latest.values())


def versions_of(session: Session, code: str) -> list:
    from exam.models import Blueprint

    return list(
        session.scalars(
            select(Blueprint).where(Blueprint.code == code).order_by(Blueprint.version.desc())
        )
    )


def spec_of(row) -> BlueprintSpec:
    return spec_from_json(row.code, row.name, row.spec, pass_mark=row.pass_mark)


def copy_blueprint(
    session: Session,
    row,
    new_code: str,
    *,
    name: str | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
):
    """Copy a blueprint version under a new code (version 1)."""
    from exam.models import Blueprint

    if session.scalar(select(Blueprint.id).where(Blueprint.code == new_code).limit(1)):
        raise InvalidInput(f"规则代码“{new_code}”已存在，请换一个代码。")
    data = editable_dict(spec_of(row))
    data["code"] = new_code
    data["name"] = name or f"{row.name}（副本）"
    return save_blueprint(session, validate(session, data), actor=actor, now=now)
