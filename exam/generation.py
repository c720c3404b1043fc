"""Paper generation: pure functions over plain data (no database, no clock, no global
random state).

A paper is a function of the blueprint, the pool and an ``random.Random`` seeded from
SHA-256 of ``f"{seed}|{person_id}"`` (``rng_for``), so any paper can be rebuilt. Each
candidate's paper is drawn independently:

1. every cell of the blueprint's two-way table (section x source x difficulty band) is
   filled by a uniform draw without replacement from the pool items of that cell; as
   every candidate draws uniformly, each eligible question of a cell is used equally
   often in expectation (exposure control by construction, no dependence on the
   cohort, so papers of late participants are as fair as the others);
2. required knowledge points are brought in by swaps inside a cell (quotas unchanged);
3. parallel forms: when the paper's mean difficulty is off target by more than the
   tolerance, items are swapped inside their cell for items that move the mean towards
   the target; if that fails the draw is repeated (the same rng continues, so it stays
   deterministic), and after ``MAX_ROUNDS`` the generation fails loudly;
4. questions are shuffled within sections and options within questions, except options
   such as 以上都对 that must stay last; true/false and fill-in keep no option order.

``prepare`` checks the pool against the blueprint once (shortages per cell and per
required knowledge point, reachable difficulty) and indexes it; nothing is ever half
filled: a shortage raises ``PoolShortage`` naming every short cell.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from exam.blueprint import ANY, BlueprintSpec, band_label, type_label
from jifa.errors import InvalidInput

MAX_ROUNDS = 12
_PERM_CACHE_LIMIT = 6  # index permutations are cached for up to this many movable options

# Options that refer to all the others and must stay in place at the end.
_PINNED = re.compile(
    r"^\s*(以上|上述|前述)(选项|各项|答案|说法|情形|几项|三项|四项)?"
    r"(都|均|全|皆|全部)?(对|正确|是|不对|不正确|错误|不是|非|符合|不符合|可以|不可以)"
    r"|^\s*(以上|上述)(都|均|全部|皆)(不)?(选|对|正确)"
    r"|^\s*(都|均|全)(不)?(对|正确)\s*$"
    r"|^\s*(以上|上述)皆非"
)
# Options such as "A和B" refer to other options by letter: such questions keep their order.
_LETTER_REF = re.compile(r"(?<![A-Za-z])[A-H]\s*(项|选项)?\s*[和与及、,，+]\s*[A-H](?![A-Za-z])")


def pinned_option_keys(options: Sequence[Mapping]) -> tuple[str, ...] | None:
    """Keys of options that must stay last (authored order); ``None`` when the options
    refer to each other by letter and must not be shuffled at all."""
    pinned = []
    for opt in options:
        text = str(opt.get("text") or "")
        if _LETTER_REF.search(text):
            return None
        if _PINNED.search(text):
            pinned.append(str(opt["key"]))
    return tuple(pinned)


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
        keys = tuple(str(o["key"]) for o in options) if type in ("single", "multiple") else ()
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

    kind: str  # cell / knowledge_point / difficulty
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


@dataclass
class _Cell:
    section: int
    source: str
    band: str
    count: int
    items: list[PoolItem]
    exact: bool


@dataclass
class Plan:
    """A blueprint bound to a pool: indexed cells, checked once, reused per candidate."""

    blueprint: BlueprintSpec
    #: the reference two-way table of the blueprint (checked; the fallback layout)
    cells: list[_Cell]
    pool_size: int
    shortages: list[Shortage] = field(default_factory=list)
    #: per section: alternative layouts (lists of cells) with the same margins
    layouts: list[list[list[_Cell]]] = field(default_factory=list)
    #: version id -> every allowed option order (authored keys in display order);
    #: empty for questions shuffled on the fly (many options)
    orders: dict[int, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    #: per section: the reference cells naming a source and a band / the wildcard ones
    exact_refs: list[list[_Cell]] = field(default_factory=list)
    wild_cells: list[_Cell] = field(default_factory=list)
    #: version ids that more than one cell of a paper can draw (need a "used" check)
    shared_types: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.shortages

    def eligible_ids(self) -> set[int]:
        ids = {it.version_id for c in self.cells for it in c.items}
        for layouts in self.layouts:
            for layout in layouts:
                ids.update(it.version_id for c in layout for it in c.items)
        return ids


LAYOUTS_PER_SECTION = 256


def _matches(item: PoolItem, bp: BlueprintSpec, qtype: str, source: str, band: str) -> bool:
    return (
        item.type == qtype
        and (source == ANY or item.source == source)
        and (band == ANY or bp.band_of(item.difficulty) == band)
    )


def _all_orders(item: PoolItem) -> tuple[tuple[str, ...], ...]:
    keys = item.option_keys
    if not keys:
        return ((),)
    if not item.shuffle_options:
        return (keys,)
    pinned = item.pinned_keys
    movable = [k for k in keys if k not in pinned]
    if len(movable) > _PERM_CACHE_LIMIT:
        return ()  # shuffled on the fly
    return tuple(tuple(p) + pinned for p in itertools.permutations(movable))


def _layouts(
    bp: BlueprintSpec, si: int, by_key: dict[tuple[str, str, str], list[PoolItem]]
) -> list[list[_Cell]]:
    """Alternative source x band tables of section ``si`` with the blueprint's margins
    (sources and bands per section stay exact): random pairings of the section's source
    slots with its band slots, so every cell's expected demand is the product of its
    shares and each question is used about equally often. Derived from the blueprint
    and the pool only (never from the cohort); layouts the pool cannot fill are
    dropped."""
    section = bp.sections[si]
    rows = [src for src, _b, n in section.cells for _ in range(n)]
    cols = [b for _s, b, n in section.cells for _ in range(n)]
    if len(set(rows)) < 2 or len(set(cols)) < 2:
        return []
    digest = hashlib.sha256(f"layouts|{si}|{section.to_json()}".encode()).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    rows.sort()
    out = []
    seen = set()
    for _ in range(LAYOUTS_PER_SECTION):
        rng.shuffle(cols)
        counts: dict[tuple[str, str], int] = {}
        for r, c in zip(rows, cols, strict=True):
            counts[(r, c)] = counts.get((r, c), 0) + 1
        key = tuple(sorted(counts.items()))
        if any(len(by_key.get((section.type, r, c), ())) < n for (r, c), n in counts.items()):
            continue
        seen.add(key)
        out.append(
            [
                _Cell(si, r, c, n, by_key.get((section.type, r, c), []), True)
                for (r, c), n in sorted(counts.items())
            ]
        )
    return out


def prepare(pool: Sequence[PoolItem], blueprint: BlueprintSpec, *, strict: bool = True) -> Plan:
    """Index ``pool`` by the blueprint's cells and check it can fill every paper.

    The check is exact for cells naming a source and a band (their demand is summed
    over sections of the same type); wildcard cells are checked against what exact
    cells leave. Raises ``PoolShortage`` when ``strict`` (else the plan lists them).
    """
    pool = sorted(pool, key=lambda p: p.version_id)
    bp = blueprint
    by_key: dict[tuple[str, str, str], list[PoolItem]] = {}
    for item in pool:
        by_key.setdefault((item.type, item.source, bp.band_of(item.difficulty)), []).append(item)
    cells: list[_Cell] = []
    for si, section in enumerate(bp.sections):
        for source, band, count in section.cells:
            if source != ANY and band != ANY:
                items = list(by_key.get((section.type, source, band), []))
            else:
                items = [p for p in pool if _matches(p, bp, section.type, source, band)]
            cells.append(_Cell(si, source, band, count, items, source != ANY and band != ANY))
    shortages: list[Shortage] = []
    exact_demand: dict[tuple[str, str, str], int] = {}
    for c in cells:
        if c.exact:
            key = (bp.sections[c.section].type, c.source, c.band)
            exact_demand[key] = exact_demand.get(key, 0) + c.count
    for (qtype, source, band), need in exact_demand.items():
        have = len(by_key.get((qtype, source, band), []))
        if have < need:
            shortages.append(Shortage("cell", need, have, qtype, source, band))
    wild_demand: dict[tuple[str, str, str], int] = {}
    for c in cells:
        if not c.exact:
            key = (bp.sections[c.section].type, c.source, c.band)
            wild_demand[key] = wild_demand.get(key, 0) + c.count
    for (qtype, source, band), need in wild_demand.items():
        matching = [p for p in pool if _matches(p, bp, qtype, source, band)]
        taken = sum(
            n
            for (t, s, b), n in exact_demand.items()
            if t == qtype and (source in (ANY, s)) and (band in (ANY, b))
        )
        have = len(matching) - taken
        if have < need:
            shortages.append(Shortage("cell", need, max(0, have), qtype, source, band))
    for kp in bp.required_knowledge_points:
        if not any(kp in it.knowledge_points for c in cells for it in c.items):
            shortages.append(Shortage("knowledge_point", 1, 0, knowledge_point=kp))
    if bp.target_difficulty is not None and not shortages:
        lo = hi = 0.0
        for c in cells:
            ds = sorted(it.difficulty for it in c.items)
            lo += sum(ds[: c.count])
            hi += sum(ds[-c.count :]) if c.count else 0
        n = max(1, bp.question_count)
        lo, hi = lo / n, hi / n
        tol = bp.difficulty_tolerance or 0.0
        if bp.target_difficulty + tol < lo - 1e-9 or bp.target_difficulty - tol > hi + 1e-9:
            shortages.append(
                Shortage(
                    "difficulty",
                    detail=(
                        f"目标平均难度 {bp.target_difficulty:g}±{tol:g} 无法用现有题目达到"
                        f"（本题库可达 {lo:.2f}–{hi:.2f}）。"
                    ),
                )
            )
    # exact cells first, so wildcard cells take what is left
    order = sorted(range(len(cells)), key=lambda i: (not cells[i].exact, i))
    plan = Plan(bp, [cells[i] for i in order], len(pool), shortages)
    types = [s.type for s in bp.sections]
    # sections sharing a type draw on the same questions: keep their reference layout
    plan.layouts = [
        _layouts(bp, si, by_key) if types.count(s.type) == 1 else []
        for si, s in enumerate(bp.sections)
    ]
    plan.orders = {it.version_id: _all_orders(it) for it in pool}
    plan.exact_refs = [
        [c for c in plan.cells if c.section == si and c.exact] for si in range(len(bp.sections))
    ]
    plan.wild_cells = [c for c in plan.cells if not c.exact]
    wild_types = {bp.sections[c.section].type for c in plan.wild_cells}
    plan.shared_types = frozenset(t for t in types if types.count(t) > 1 or t in wild_types)
    if shortages and strict:
        raise PoolShortage(shortages)
    return plan


def _option_order(plan: Plan, item: PoolItem, rng: random.Random) -> tuple[str, ...]:
    """Shuffle on the fly (questions with too many options to enumerate orders)."""
    if not item.option_keys:
        return ()
    pinned = item.pinned_keys
    movable = [k for k in item.option_keys if k not in pinned]
    rng.shuffle(movable)
    return tuple(movable) + pinned


def _choose_layout(plan: Plan, rng: random.Random, *, reference: bool) -> list[_Cell]:
    if reference:
        return plan.cells
    rnd = rng.random
    cells: list[_Cell] = []
    for layouts, ref in zip(plan.layouts, plan.exact_refs, strict=True):
        cells.extend(layouts[int(rnd() * len(layouts))] if layouts else ref)
    if plan.wild_cells:
        cells.extend(plan.wild_cells)
    return cells


def _draw(plan: Plan, layout: list[_Cell], rng: random.Random) -> list[list[PoolItem]]:
    used: set[int] = set()
    picks: list[list[PoolItem]] = []
    rnd = rng.random
    sections = plan.blueprint.sections
    shared = plan.shared_types
    for cell in layout:
        items = cell.items
        n = len(items)
        k = cell.count
        if not shared or sections[cell.section].type not in shared:
            # exact cells of a type drawn by one section never share questions
            if k == 1 and n:
                picks.append([items[int(rnd() * n)]])
                continue
            if k * 2 <= n:
                idx: set[int] = set()
                while len(idx) < k:
                    idx.add(int(rnd() * n))
                picks.append([items[i] for i in sorted(idx)])
                continue
            if n >= k:
                picks.append(rng.sample(items, k))
                continue
        if k * 3 <= n:
            chosen: list[PoolItem] = []
            while len(chosen) < k:
                it = items[int(rnd() * n)]
                vid = it.version_id
                if vid not in used:
                    used.add(vid)
                    chosen.append(it)
        else:
            avail = [it for it in items if it.version_id not in used]
            if len(avail) < k:
                raise GenerationFailed(
                    "题库不足以组成完整试卷："
                    + Shortage(
                        "cell",
                        k,
                        len(avail),
                        sections[cell.section].type,
                        cell.source,
                        cell.band,
                    ).message()
                )
            chosen = rng.sample(avail, k)
            used.update(it.version_id for it in chosen)
        picks.append(chosen)
    return picks


def _cover_knowledge_points(
    plan: Plan, layout: list[_Cell], picks: list[list[PoolItem]], rng: random.Random
) -> bool:
    required = plan.blueprint.required_knowledge_points
    if not required:
        return True
    used = {it.version_id for cell in picks for it in cell}
    for kp in required:
        if any(kp in it.knowledge_points for cell in picks for it in cell):
            continue
        options = [
            (ci, it)
            for ci, cell in enumerate(layout)
            for it in cell.items
            if kp in it.knowledge_points and it.version_id not in used
        ]
        rng.shuffle(options)
        done = False
        for ci, new in options:
            cell = picks[ci]
            # replace an item whose required points are all covered elsewhere
            for j in rng.sample(range(len(cell)), len(cell)):
                old = cell[j]
                needed = [
                    p
                    for p in required
                    if p in old.knowledge_points
                    and sum(p in it.knowledge_points for c in picks for it in c) == 1
                ]
                if needed:
                    continue
                cell[j] = new
                used.discard(old.version_id)
                used.add(new.version_id)
                done = True
                break
            if done:
                break
        if not done:
            return False
    return True


def _fit_difficulty(
    plan: Plan, layout: list[_Cell], picks: list[list[PoolItem]], rng: random.Random
) -> bool:
    bp = plan.blueprint
    if bp.target_difficulty is None:
        return True
    target = bp.target_difficulty
    tol = bp.difficulty_tolerance or 0.0
    n = bp.question_count
    total = 0
    for cell in picks:
        for it in cell:
            total += it.difficulty
    if abs(total / n - target) <= tol + 1e-9:
        return True
    required = set(bp.required_knowledge_points)
    used = {it.version_id for cell in picks for it in cell}
    for _ in range(2 * n):
        gap = total - target * n  # > 0: too hard
        slots = [(ci, j) for ci, cell in enumerate(picks) for j in range(len(cell))]
        rng.shuffle(slots)
        swapped = False
        for ci, j in slots:
            old = picks[ci][j]
            if required & old.knowledge_points:
                continue
            better = [
                it
                for it in layout[ci].items
                if it.version_id not in used
                and (it.difficulty < old.difficulty if gap > 0 else it.difficulty > old.difficulty)
            ]
            if not better:
                continue
            new = better[int(rng.random() * len(better))]
            picks[ci][j] = new
            used.discard(old.version_id)
            used.add(new.version_id)
            total += new.difficulty - old.difficulty
            swapped = True
            break
        if abs(total / n - target) <= tol + 1e-9:
            return True
        if not swapped:
            return False
    return False


REFERENCE_ROUNDS = 4  # the last rounds use the checked reference table


def generate_paper(
    pool_or_plan: Sequence[PoolItem] | Plan, blueprint: BlueprintSpec, rng: random.Random
) -> GeneratedPaper:
    """One paper satisfying ``blueprint`` exactly, or ``GenerationFailed``/``PoolShortage``."""
    plan = pool_or_plan if isinstance(pool_or_plan, Plan) else prepare(pool_or_plan, blueprint)
    if plan.shortages:
        raise PoolShortage(plan.shortages)
    bp = plan.blueprint
    for round_no in range(MAX_ROUNDS):
        layout = _choose_layout(plan, rng, reference=round_no >= MAX_ROUNDS - REFERENCE_ROUNDS)
        picks = _draw(plan, layout, rng)
        if not _cover_knowledge_points(plan, layout, picks, rng):
            continue
        if not _fit_difficulty(plan, layout, picks, rng):
            continue
        break
    else:
        raise GenerationFailed(
            f"连续 {MAX_ROUNDS} 次抽题都无法同时满足必考知识点和目标平均难度"
            f" {bp.target_difficulty}±{bp.difficulty_tolerance}，请放宽容差或补充题库。"
        )
    by_section: list[list[PoolItem]] = [[] for _ in bp.sections]
    for cell, chosen in zip(layout, picks, strict=True):
        by_section[cell.section].extend(chosen)
    items: list[GeneratedItem] = []
    position = 0
    total_diff = 0
    shuffle = rng.shuffle
    rnd = rng.random
    get_orders = plan.orders.get
    for si, chosen in enumerate(by_section):
        shuffle(chosen)
        points = bp.sections[si].points
        for it in chosen:
            position += 1
            total_diff += it.difficulty
            orders = get_orders(it.version_id)
            if not orders:
                order = _option_order(plan, it, rng)
            elif len(orders) == 1:
                order = orders[0]
            else:
                order = orders[int(rnd() * len(orders))]
            items.append(GeneratedItem(position, si, it.version_id, points, order, it.difficulty))
    return GeneratedPaper(
        tuple(items),
        sum(s.count * s.points for s in bp.sections),
        total_diff / max(1, len(items)),
    )


def draw_probabilities(plan: Plan) -> dict[int, float]:
    """Chance that a candidate's paper draws each question before any repair: the quota
    of its cell over the cell's size, averaged over the section's layouts. Exposure
    divided by this shows whether questions of a cell are used equally often."""
    prob: dict[int, float] = {}
    for si, ref in enumerate(plan.exact_refs):
        layouts = plan.layouts[si] if si < len(plan.layouts) else []
        options = layouts or [ref]
        weight = 1.0 / len(options)
        for layout in options:
            for cell in layout:
                if cell.items:
                    p = weight * cell.count / len(cell.items)
                    for it in cell.items:
                        prob[it.version_id] = prob.get(it.version_id, 0.0) + p
    for cell in plan.wild_cells:
        if cell.items:
            p = cell.count / len(cell.items)
            for it in cell.items:
                prob[it.version_id] = prob.get(it.version_id, 0.0) + p
    return prob


@dataclass
class CohortResult:
    papers: dict[int, GeneratedPaper]
    exposure: dict[int, int]
    eligible: int
    #: version id -> chance of being drawn by one candidate (``draw_probabilities``)
    expected: dict[int, float] = field(default_factory=dict)

    def stats(self) -> dict:
        usage = list(self.exposure.values())
        means = [p.mean_difficulty for p in self.papers.values()]
        n = len(self.papers)
        ratios = [
            self.exposure[vid] / (n * p)
            for vid, p in self.expected.items()
            if p > 0 and vid in self.exposure and n * p >= 20
        ]
        return {
            "papers": len(self.papers),
            "eligible_questions": self.eligible,
            "questions_used": sum(1 for u in usage if u),
            "exposure_min": min(usage) if usage else 0,
            "exposure_max": max(usage) if usage else 0,
            "exposure_mean": round(sum(usage) / len(usage), 2) if usage else 0,
            "difficulty_min": round(min(means), 3) if means else None,
            "difficulty_max": round(max(means), 3) if means else None,
            "difficulty_spread": round(max(means) - min(means), 3) if means else None,
            # usage over the quota-implied expectation (questions expected >= 20 times)
            "exposure_vs_expected_min": round(min(ratios), 3) if ratios else None,
            "exposure_vs_expected_max": round(max(ratios), 3) if ratios else None,
        }


def generate_cohort(
    plan: Plan, seed: str, person_ids: Iterable[int], *, progress=None, every: int = 500
) -> CohortResult:
    """Papers for ``person_ids`` (each from its own rng: independent of the cohort),
    with exposure counts over every eligible question of the plan."""
    exposure = dict.fromkeys(sorted(plan.eligible_ids()), 0)
    papers: dict[int, GeneratedPaper] = {}
    bp = plan.blueprint
    person_ids = list(person_ids)
    total = len(person_ids)
    # Hundreds of thousands of small immutable objects and no cycles: the cyclic
    # collector would rescan the growing heap again and again for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for n, pid in enumerate(person_ids, start=1):
            paper = generate_paper(plan, bp, rng_for(seed, pid))
            papers[pid] = paper
            for it in paper.items:
                exposure[it.version_id] += 1
            if progress is not None and (n % every == 0 or n == total):
                progress(n, total)
    finally:
        if gc_was_enabled:
            gc.enable()
    return CohortResult(papers, exposure, len(exposure), draw_probabilities(plan))


# ---------------------------------------------------------------- key remapping


def displayed_key(option_order: Sequence[str], authored_key: str) -> str:
    """The letter a candidate sees for an authored option key."""
    if not option_order:
        return authored_key
    return chr(ord("A") + list(option_order).index(authored_key))


def authored_key(option_order: Sequence[str], shown_key: str) -> str:
    if not option_order:
        return shown_key
    return option_order[ord(shown_key) - ord("A")]


def displayed_answer(qtype: str, answer: object, option_order: Sequence[str]) -> object:
    """The authored answer expressed in the candidate's displayed keys."""
    if qtype == "single":
        return displayed_key(option_order, str(answer))
    if qtype == "multiple":
        return sorted(displayed_key(option_order, str(k)) for k in answer)
    return answer
