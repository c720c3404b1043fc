"""What generation draws from and what it produces: pool items, generated papers,
shortages, and the per-candidate random generator."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from core.errors import InvalidInput
from exam.papers.spec import ANY, band_label, type_label
from question_bank import kinds
from question_bank.options import pinned_option_keys as _pinned_option_keys


def pinned_option_keys(options: Sequence[Mapping]) -> tuple[str, ...] | None:
    """Keys of options that must stay last (authored order); ``None`` when the options
    refer to each other by letter and must not be shuffled at all. The rule is
    ``question_bank.options``' (以上都对, 以上三种情形都要求…, 都不对, 均不正确, "A和B" …),
    the one bank lint checks the authored order with."""
    return _pinned_option_keys(options)


@dataclass(frozen=True, slots=True)
class PoolItem:
    """One eligible question (its current version), as generation sees it."""

    version_id: int
    type: str
    source: str
    difficulty: int
    #: authored option keys in authored order (empty for true/false and fill-in)
    option_keys: tuple[str, ...] = ()
    #: keys that stay last, in authored order
    pinned_keys: tuple[str, ...] = ()
    #: False when options refer to each other ("A和B") and must keep their order
    shuffle_options: bool = True
    knowledge_points: frozenset[str] = frozenset()

    @classmethod
    def from_version(
        cls,
        version_id: int,
        type: str,
        source: str,
        difficulty: int,
        options: Sequence[Mapping] = (),
        knowledge_points: Iterable[str] = (),
    ) -> PoolItem:
        has_options = kinds.get(type).has_options
        keys = tuple(str(o["key"]) for o in options) if has_options else ()
        pinned = pinned_option_keys(options) if keys else ()
        return cls(
            version_id=version_id,
            type=type,
            source=source or "",
            difficulty=int(difficulty),
            option_keys=keys,
            pinned_keys=pinned or (),
            shuffle_options=pinned is not None,
            knowledge_points=frozenset(knowledge_points),
        )


class GeneratedItem(NamedTuple):
    position: int
    section: int
    version_id: int
    points: float
    option_order: tuple[str, ...]
    difficulty: int


@dataclass(frozen=True, slots=True)
class GeneratedPaper:
    items: tuple[GeneratedItem, ...]
    total_points: float
    mean_difficulty: float

    def signature(self) -> tuple:
        """What must be identical when a paper is rebuilt."""
        return tuple(
            (i.position, i.section, i.version_id, i.points, tuple(i.option_order))
            for i in self.items
        )


@dataclass(frozen=True)
class Shortage:
    """A cell (or knowledge point, or difficulty target) the pool cannot satisfy."""

    kind: str  # cell / related / knowledge_point / difficulty
    needed: int = 0
    available: int = 0
    type: str = ANY
    source: str = ANY
    band: str = ANY
    knowledge_point: str = ""
    detail: str = ""

    @property
    def short_by(self) -> int:
        return max(0, self.needed - self.available)

    def message(self, source_names: Mapping[str, str] | None = None) -> str:
        names = source_names or {}
        if self.kind == "knowledge_point":
            return f"必考知识点“{self.knowledge_point}”：本规则可抽的题目中没有涉及它的试题。"
        if self.kind == "difficulty":
            return self.detail
        src = "不限来源" if self.source == ANY else names.get(self.source, self.source)
        if self.kind == "related":
            return (
                f"{type_label(self.type)} × {src} × {band_label(self.band)}：需要 {self.needed} 题，"
                f"关联题（互斥题）不能同卷，同一份试卷最多只能从中选出 {self.available} 题，"
                f"缺 {self.short_by} 题。"
            )
        return (
            f"{type_label(self.type)} × {src} × {band_label(self.band)}：需要 {self.needed} 题，"
            f"题库仅有 {self.available} 题，缺 {self.short_by} 题。"
        )

    def to_dict(self, source_names: Mapping[str, str] | None = None) -> dict:
        return {
            "kind": self.kind,
            "type": self.type,
            "source": self.source,
            "band": self.band,
            "knowledge_point": self.knowledge_point,
            "needed": self.needed,
            "available": self.available,
            "short_by": self.short_by,
            "message": self.message(source_names),
        }


class PoolShortage(InvalidInput):
    """The pool cannot satisfy the blueprint; ``shortages`` names every short cell."""

    def __init__(self, shortages: Sequence[Shortage], source_names=None):
        self.shortages = list(shortages)
        super().__init__(
            "题库不能满足组卷规则，以下单元格题目不足：",
            details=[s.message(source_names) for s in self.shortages],
        )


class GenerationFailed(InvalidInput):
    pass


def rng_for(seed: str, person_id: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}|{person_id}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))
