"""Blueprints (组卷规则, 双向细目表): the specification every paper of an exam follows.

A blueprint is parsed from a dict (YAML, an Excel workbook or the admin form) into a
frozen ``BlueprintSpec`` (``exam.papers.parse``). Quotas by law source and by difficulty
band are given as shares (per cent, for the whole paper or one section) or as counts
(per section); parsing turns them into an explicit two-way table per section (source x
band -> count), the ``cells`` that generation draws from and the pool check checks. The
stored ``Blueprint.spec`` JSON is ``BlueprintSpec.to_json()``:

    {"sections": [{"type", "count", "points", "policy", "partial_fraction", "title",
                   "sources": {code: n} | null, "difficulty": {band: n} | null,
                   "cells": [[source | "*", band | "*", n], ...]}],
     "source_shares": {code: pct} | null, "difficulty_shares": {band: pct} | null,
     "difficulty_bands": {band: [lo, hi]}, "required_knowledge_points": [...],
     "tier", "total_points", "pass_mark", "target_difficulty", "difficulty_tolerance"}

Section types are question kinds (``question_bank.kinds``): their codes, labels and
default section titles come from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from question_bank import kinds
from question_bank.models import TIER_LABELS

ANY = "*"
TYPES = kinds.CODES
TYPE_LABELS = kinds.labels()
SECTION_TITLES = {code: kind.title for code, kind in kinds.KINDS.items()}
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
    return kinds.label(t)


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
        if kinds.get(self.type).has_policy:
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
    #: draw only questions reserved for exams (仅限考试), never seen in practice
    reserved_only: bool = False

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
            # only when set: blueprints stored before the option read the same
            **({"reserved_only": True} if self.reserved_only else {}),
        }


# ---------------------------------------------------------------- stored JSON


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
        reserved_only=bool(spec.get("reserved_only")),
    )


def editable_dict(spec: BlueprintSpec) -> dict:
    """The input form of a spec (what ``parse_blueprint`` accepts), for edit forms and
    YAML export: section-level quotas that came from paper-level shares are left out."""
    sections = []
    for s in spec.sections:
        d: dict = {"type": s.type, "count": s.count, "points": s.points, "title": s.title}
        if kinds.get(s.type).has_policy:
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
        **({"reserved_only": True} if spec.reserved_only else {}),
        "sections": sections,
    }


def spec_of(row) -> BlueprintSpec:
    return spec_from_json(row.code, row.name, row.spec, pass_mark=row.pass_mark)
