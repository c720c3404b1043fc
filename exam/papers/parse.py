"""Parsing a blueprint: a dict (from YAML, an Excel workbook or the admin form) into a
validated ``BlueprintSpec``, reporting every problem in Chinese at once.

Parsing runs in two passes: the structure (bands, header, sections with their quotas),
then the apportioning of paper-level shares over the sections (running totals, so the
whole paper stays within one question of every share) into each section's two-way
table of source x band counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence

from core.errors import InvalidInput
from exam.papers.spec import (
    ANY,
    BAND_BY_LABEL,
    DEFAULT_BANDS,
    POLICIES,
    POLICY_BY_LABEL,
    SECTION_TITLES,
    TIER_BY_LABEL,
    TIERS,
    BlueprintSpec,
    SectionSpec,
    band_label,
    type_label,
)
from question_bank import kinds

Resolve = Callable[[object], str | None]


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


def _parse_bands(raw, errors: _Errors) -> dict[str, tuple[int, int]]:
    """Difficulty bands: name -> [lowest, highest] rating, not overlapping."""
    bands_raw = raw or DEFAULT_BANDS
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
    return bands


def _parse_header(data: Mapping, errors: _Errors) -> tuple[str, str, str]:
    """-> (code, name, tier)."""
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
    return code, name, tier


def _parse_policy(raw: Mapping, qtype: str, where: str, errors: _Errors) -> tuple[str, float]:
    """-> (policy, partial fraction); only kinds with a policy (multiple choice) set one."""
    policy = str(raw.get("policy") or "all_or_nothing").strip()
    policy = POLICY_BY_LABEL.get(policy, policy)
    if not kinds.get(qtype).has_policy:
        if raw.get("policy") not in (None, "", "all_or_nothing"):
            with_policy = "、".join(k.question_label for k in kinds.KINDS.values() if k.has_policy)
            errors.add(f"{where}：只有{with_policy}可以设置计分方式。")
        return "all_or_nothing", 0.0
    if policy not in POLICIES:
        errors.add(f"{where}的计分方式“{policy}”无效（可选：全对得分、部分得分）。")
        return policy, 0.0
    if policy != "partial":
        return policy, 0.0
    f = _num(raw.get("partial_fraction", 0.5), f"{where}的部分得分比例", errors)
    if f is not None and not (0 < f < 1):
        errors.add(f"{where}的部分得分比例应在 0 和 1 之间（不含），例如 0.5。")
    return policy, f or 0.5


def _check_quotas(where: str, count: int, quotas, errors: _Errors) -> None:
    for label, quota in quotas:
        if quota is None or sum(quota.values()) == count:
            continue
        total = sum(quota.values())
        if total < count:
            errors.add(
                f"{where}共 {count} 题，但{label}合计只有 {total} 题"
                f"（本节题数超出配额 {count - total} 题）。"
            )
        else:
            errors.add(f"{where}的{label}合计 {total} 题，超过本节题数 {count} 题。")


def _parse_section(
    i: int, raw, resolve_source: Resolve, resolve_band: Resolve, errors: _Errors
) -> dict | None:
    """One section's structure: type, count, points, policy and its own quotas."""
    where = f"第{i}节"
    if not isinstance(raw, Mapping):
        errors.add(f"{where}格式有误。")
        return None
    t_raw = str(raw.get("type") or "").strip()
    qtype = kinds.resolve(t_raw)
    if qtype is None:
        errors.add(f"{where}的题型“{t_raw}”无效（可选：{'、'.join(kinds.labels().values())}）。")
        return None
    where = f"第{i}节（{type_label(qtype)}）"
    count = _num(raw.get("count"), f"{where}的题数", errors, integer=True)
    points = _num(raw.get("points"), f"{where}的每题分值", errors)
    if count is None or points is None:
        if raw.get("count") in (None, "") or raw.get("points") in (None, ""):
            errors.add(f"{where}需要题数和每题分值。")
        return None
    if count <= 0:
        errors.add(f"{where}的题数必须大于 0。")
        return None
    if points <= 0:
        errors.add(f"{where}的每题分值必须大于 0。")
        return None
    policy, fraction = _parse_policy(raw, qtype, where, errors)
    sources = _counts(raw.get("sources"), f"{where}的来源配额", resolve_source, errors)
    s_shares = _shares(raw.get("source_shares"), f"{where}的来源比例", resolve_source, errors)
    difficulty = _counts(raw.get("difficulty"), f"{where}的难度配额", resolve_band, errors)
    d_shares = _shares(raw.get("difficulty_shares"), f"{where}的难度比例", resolve_band, errors)
    _check_quotas(where, count, (("来源配额", sources), ("难度配额", difficulty)), errors)
    return {
        "type": qtype,
        "count": count,
        "points": float(points),
        "title": str(raw.get("title") or SECTION_TITLES[qtype]),
        "policy": policy,
        "partial_fraction": fraction if policy == "partial" else 0.0,
        "sources": sources,
        "source_shares": s_shares,
        "difficulty": difficulty,
        "difficulty_shares": d_shares,
    }


def _parse_marks(data: Mapping, parsed: list[dict], errors: _Errors) -> tuple:
    """-> (total points, pass mark, target difficulty, tolerance)."""
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
    return total_points, pass_mark, target, tolerance


_TRUE = {"true", "yes", "1", "是", "仅限考试"}
_FALSE = {"", "false", "no", "0", "否"}


def _reserved_only(raw, errors: _Errors) -> bool:
    """``reserved_only``: draw only questions reserved for exams (仅限考试)."""
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        errors.add(f"reserved_only（仅用仅限考试的试题）应为 true 或 false，而不是“{raw}”。")
    return False


def _required_points(raw) -> tuple[str, ...]:
    kps_raw = raw or []
    if isinstance(kps_raw, str):
        kps_raw = re.split(r"[;；,，、\n]", kps_raw)
    return tuple(dict.fromkeys(str(k).strip() for k in kps_raw if str(k).strip()))


def _build_sections(
    parsed: list[dict],
    source_shares: Mapping[str, float] | None,
    difficulty_shares: Mapping[str, float] | None,
) -> list[SectionSpec]:
    """Second pass: apportion shares (running totals over the paper) and build cells."""
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
    return sections


def _resolvers(
    source_aliases: Mapping[str, str] | None, bands: Mapping[str, tuple], errors: _Errors
) -> tuple[Resolve, Resolve]:
    """Name -> code for law sources and difficulty bands; an unknown name is an error."""

    def resolve_source(key) -> str | None:
        key = str(key).strip()
        if source_aliases is None:
            return key
        code = source_aliases.get(key) or source_aliases.get(key.strip("《》"))
        if code is None:
            errors.add(f"未知的法规来源：“{key}”。")
        return code

    def resolve_band(key) -> str | None:
        key = str(key).strip()
        band = BAND_BY_LABEL.get(key, key)
        if band not in bands:
            labels = "、".join(f"{band_label(b)}({b})" for b in bands)
            errors.add(f"未知的难度档“{key}”（可选：{labels}）。")
            return None
        return band

    return resolve_source, resolve_band


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
    bands = _parse_bands(data.get("difficulty_bands"), errors)
    resolve_source, resolve_band = _resolvers(source_aliases, bands, errors)
    code, name, tier = _parse_header(data, errors)
    source_shares = _shares(data.get("source_shares"), "来源比例", resolve_source, errors)
    difficulty_shares = _shares(data.get("difficulty_shares"), "难度比例", resolve_band, errors)
    sections_raw = data.get("sections")
    if not isinstance(sections_raw, Sequence) or isinstance(sections_raw, str) or not sections_raw:
        errors.add("至少需要一个题型分节（sections）。")
        sections_raw = []
    parsed = [
        p
        for i, raw in enumerate(sections_raw, start=1)
        if (p := _parse_section(i, raw, resolve_source, resolve_band, errors)) is not None
    ]
    total_points, pass_mark, target, tolerance = _parse_marks(data, parsed, errors)
    sections = _build_sections(parsed, source_shares, difficulty_shares)
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
        required_knowledge_points=_required_points(data.get("required_knowledge_points")),
        reserved_only=_reserved_only(data.get("reserved_only"), errors),
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
