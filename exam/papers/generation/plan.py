"""``prepare``: a blueprint bound to a pool. Cells indexed and checked once (shortages
per cell, knowledge point and reachable difficulty), alternative layouts of every
section with their probabilities, and every question's allowed option orders."""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from exam.papers.generation.pool import PoolItem, PoolShortage, Shortage
from exam.papers.generation.tables import controlled_rounding, expected_table
from exam.papers.spec import ANY, BlueprintSpec

_PERM_CACHE_LIMIT = 6  # index permutations are cached for up to this many movable options


@dataclass
class Cell:
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
    cells: list[Cell]
    pool_size: int
    shortages: list[Shortage] = field(default_factory=list)
    #: per section: alternative layouts (lists of cells) with the same margins
    layouts: list[list[list[Cell]]] = field(default_factory=list)
    #: per section: cumulative probabilities of its layouts (last one is 1.0)
    layout_cum: list[list[float]] = field(default_factory=list)
    #: version id -> every allowed option order (authored keys in display order);
    #: empty for questions shuffled on the fly (many options)
    orders: dict[int, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    #: per section: the reference cells naming a source and a band / the wildcard ones
    exact_refs: list[list[Cell]] = field(default_factory=list)
    wild_cells: list[Cell] = field(default_factory=list)
    #: version ids that more than one cell of a paper can draw (need a "used" check)
    shared_types: frozenset[str] = frozenset()
    #: cache for the difficulty repair: id(cell items) -> (difficulties, groups, items)
    by_difficulty: dict = field(default_factory=dict, repr=False)
    #: related questions (互斥/关联题): version id -> the version ids it must not share
    #: a paper with (only pairs of the pool; empty when none)
    conflicts: dict[int, frozenset[int]] = field(default_factory=dict)
    #: cells that relations make tight: (cell, questions free of any relation in it,
    #: the most questions it can give one paper), for the pool check
    related_cells: list[tuple[Cell, int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.shortages

    def related_pairs(self) -> list[list[int]]:
        """The pairs kept apart, as sorted [version id, version id] (recorded per run,
        so a paper can be rebuilt with the same relations)."""
        return sorted([a, b] for a, others in self.conflicts.items() for b in others if a < b)

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
    bp: BlueprintSpec,
    si: int,
    by_key: dict[tuple[str, str, str], list[PoolItem]],
    supply_of=None,
) -> list[list[Cell]]:
    """Fallback of ``_balanced_layouts`` (no expected table found): alternative source
    x band tables of section ``si`` with the blueprint's margins, random pairings of
    the section's source slots with its band slots (every cell's expected demand is
    the product of its shares). Derived from the blueprint and the pool only (never
    from the cohort); layouts the pool cannot fill are dropped."""
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
        if any(
            (
                supply_of((section.type, r, c))
                if supply_of
                else len(by_key.get((section.type, r, c), ()))
            )
            < n
            for (r, c), n in counts.items()
        ):
            continue
        seen.add(key)
        out.append(
            [
                Cell(si, r, c, n, by_key.get((section.type, r, c), []), True)
                for (r, c), n in sorted(counts.items())
            ]
        )
    return out


def _balanced_layouts(
    bp: BlueprintSpec,
    si: int,
    by_key: dict[tuple[str, str, str], list[PoolItem]],
    supply_of=None,
) -> tuple[list[list[Cell]], list[float]]:
    """Alternative source x band tables of section ``si`` and their cumulative
    probabilities. Every table keeps the blueprint's counts per source and per band
    exactly; their mean is ``expected_table`` (cells proportional to supply within
    the quotas). Derived from the blueprint and the pool only, never from the cohort.
    Falls back to random pairings of source and band slots when no such table fits."""
    section = bp.sections[si]
    rows: dict[str, int] = {}
    cols: dict[str, int] = {}
    for src, band, n in section.cells:
        rows[src] = rows.get(src, 0) + n
        cols[band] = cols.get(band, 0) + n
    if ANY in rows or ANY in cols or len(rows) < 2 or len(cols) < 2:
        return [], []
    # a cell's supply: its questions, or (with related questions) the most of them
    # that can share one paper
    supply = {
        (r, c): supply_of((section.type, r, c))
        if supply_of
        else len(by_key.get((section.type, r, c), ()))
        for r in rows
        for c in cols
    }
    expected = expected_table(rows, cols, supply)
    parts = controlled_rounding(expected) if expected is not None else None
    merged: dict[tuple, float] = {}
    for weight, counts in parts or ():
        ok = all(0 <= n <= supply[k] for k, n in counts.items())
        for axis, margin in ((0, rows), (1, cols)):
            sums: dict[str, int] = {}
            for k, n in counts.items():
                sums[k[axis]] = sums.get(k[axis], 0) + n
            ok = ok and all(sums.get(key, 0) == n for key, n in margin.items())
        if not ok:
            merged = {}
            break
        key = tuple(sorted((k, n) for k, n in counts.items() if n))
        merged[key] = merged.get(key, 0.0) + weight
    merged = {k: w for k, w in merged.items() if w > 1e-12}
    if not merged:
        layouts = _layouts(bp, si, by_key, supply_of)
        return layouts, [(i + 1) / len(layouts) for i in range(len(layouts))]
    layouts = []
    cumulative = []
    total = sum(merged.values())
    acc = 0.0
    for key, weight in sorted(merged.items()):
        layouts.append(
            [Cell(si, r, c, n, by_key.get((section.type, r, c), []), True) for (r, c), n in key]
        )
        acc += weight / total
        cumulative.append(acc)
    cumulative[-1] = 1.0
    return layouts, cumulative


ItemsByKey = dict[tuple[str, str, str], list[PoolItem]]


def _index_cells(pool: list[PoolItem], bp: BlueprintSpec) -> tuple[ItemsByKey, list[Cell]]:
    """The pool by (type, source, band), and every cell of the blueprint with the
    questions it may draw (a cell naming a source and a band is *exact*)."""
    by_key: ItemsByKey = {}
    for item in pool:
        by_key.setdefault((item.type, item.source, bp.band_of(item.difficulty)), []).append(item)
    cells: list[Cell] = []
    for si, section in enumerate(bp.sections):
        for source, band, count in section.cells:
            if source != ANY and band != ANY:
                items = list(by_key.get((section.type, source, band), []))
            else:
                items = [p for p in pool if _matches(p, bp, section.type, source, band)]
            cells.append(Cell(si, source, band, count, items, source != ANY and band != ANY))
    return by_key, cells


def _demand(bp: BlueprintSpec, cells: list[Cell], exact: bool) -> dict[tuple[str, str, str], int]:
    demand: dict[tuple[str, str, str], int] = {}
    for c in cells:
        if c.exact == exact:
            key = (bp.sections[c.section].type, c.source, c.band)
            demand[key] = demand.get(key, 0) + c.count
    return demand


def _cell_shortages(
    pool: list[PoolItem], bp: BlueprintSpec, by_key: ItemsByKey, cells: list[Cell]
) -> list[Shortage]:
    """Exact cells against their questions (demand summed over sections of a type);
    wildcard cells against what the exact cells leave."""
    shortages: list[Shortage] = []
    exact_demand = _demand(bp, cells, True)
    for (qtype, source, band), need in exact_demand.items():
        have = len(by_key.get((qtype, source, band), []))
        if have < need:
            shortages.append(Shortage("cell", need, have, qtype, source, band))
    for (qtype, source, band), need in _demand(bp, cells, False).items():
        matching = [p for p in pool if _matches(p, bp, qtype, source, band)]
        taken = sum(
            n
            for (t, s, b), n in exact_demand.items()
            if t == qtype and (source in (ANY, s)) and (band in (ANY, b))
        )
        have = len(matching) - taken
        if have < need:
            shortages.append(Shortage("cell", need, max(0, have), qtype, source, band))
    return shortages


def _difficulty_shortage(bp: BlueprintSpec, cells: list[Cell]) -> Shortage | None:
    """The target mean difficulty, if the cells' easiest and hardest picks miss it."""
    lo = hi = 0.0
    for c in cells:
        ds = sorted(it.difficulty for it in c.items)
        lo += sum(ds[: c.count])
        hi += sum(ds[-c.count :]) if c.count else 0
    n = max(1, bp.question_count)
    lo, hi = lo / n, hi / n
    tol = bp.difficulty_tolerance or 0.0
    if bp.target_difficulty + tol < lo - 1e-9 or bp.target_difficulty - tol > hi + 1e-9:
        return Shortage(
            "difficulty",
            detail=(
                f"目标平均难度 {bp.target_difficulty:g}±{tol:g} 无法用现有题目达到"
                f"（本题库可达 {lo:.2f}–{hi:.2f}）。"
            ),
        )
    return None


def _add_layouts(plan: Plan, pool: list[PoolItem], by_key: ItemsByKey) -> None:
    """Alternative layouts per section, option orders, and the cells' groupings."""
    bp = plan.blueprint
    types = [s.type for s in bp.sections]
    # sections sharing a type draw on the same questions: keep their reference layout
    supply_of = None
    if plan.conflicts:
        capacities: dict[tuple[str, str, str], int] = {}

        def supply_of(key: tuple[str, str, str]) -> int:
            if key not in capacities:
                capacities[key] = independent_capacity(by_key.get(key, ()), plan.conflicts)
            return capacities[key]

    balanced = [
        _balanced_layouts(bp, si, by_key, supply_of) if types.count(s.type) == 1 else ([], [])
        for si, s in enumerate(bp.sections)
    ]
    plan.layouts = [layouts for layouts, _cum in balanced]
    plan.layout_cum = [cum for _layouts, cum in balanced]
    plan.orders = {it.version_id: _all_orders(it) for it in pool}
    plan.exact_refs = [
        [c for c in plan.cells if c.section == si and c.exact] for si in range(len(bp.sections))
    ]
    plan.wild_cells = [c for c in plan.cells if not c.exact]
    wild_types = {bp.sections[c.section].type for c in plan.wild_cells}
    plan.shared_types = frozenset(t for t in types if types.count(t) > 1 or t in wild_types)


def conflict_map(
    pool: Sequence[PoolItem], related: Iterable[Sequence[int]]
) -> dict[int, frozenset[int]]:
    """version id -> related version ids, for the pairs with both questions in ``pool``."""
    ids = {p.version_id for p in pool}
    out: dict[int, set[int]] = {}
    for a, b in related:
        if a != b and a in ids and b in ids:
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in out.items()}


_EXACT_COMPONENT = 40  # larger components of related questions get a greedy bound


def _mis_exact(nodes: frozenset[int], adj: dict[int, frozenset[int]]) -> int:
    """Size of a maximum independent set of the graph induced on ``nodes``."""
    if not nodes:
        return 0
    degree = {v: len(adj.get(v, frozenset()) & nodes) for v in nodes}
    v = max(nodes, key=lambda x: (degree[x], x))
    if degree[v] == 0:
        return len(nodes)
    if degree[v] == 1:  # a matching: one of each edge
        edges = sum(degree.values()) // 2
        return len(nodes) - edges
    without = _mis_exact(nodes - {v}, adj)
    with_v = 1 + _mis_exact(nodes - {v} - adj[v], adj)
    return max(without, with_v)


def _mis_greedy(nodes: set[int], adj: dict[int, frozenset[int]]) -> int:
    """A lower bound: repeatedly take a vertex of least degree."""
    left = set(nodes)
    size = 0
    while left:
        v = min(left, key=lambda x: (len(adj.get(x, frozenset()) & left), x))
        left -= adj.get(v, frozenset()) | {v}
        size += 1
    return size


def independent_capacity(items: Sequence[PoolItem], conflicts: dict[int, frozenset[int]]) -> int:
    """The most questions of ``items`` that can share one paper: a maximum independent
    set of the related pairs among them, component by component (exact for components
    up to ``_EXACT_COMPONENT`` questions, a greedy lower bound beyond)."""
    ids = {it.version_id for it in items}
    involved = {v for v in ids if conflicts.get(v, frozenset()) & ids}
    total = len(ids) - len(involved)
    seen: set[int] = set()
    for start in sorted(involved):
        if start in seen:
            continue
        component = {start}
        stack = [start]
        while stack:
            for w in conflicts[stack.pop()] & ids:
                if w not in component:
                    component.add(w)
                    stack.append(w)
        seen |= component
        if len(component) <= _EXACT_COMPONENT:
            total += _mis_exact(frozenset(component), conflicts)
        else:
            total += _mis_greedy(component, conflicts)
    return total


def _related_shortages(
    plan: Plan, pool: list[PoolItem], by_key: ItemsByKey, shortages: list[Shortage]
) -> list[Shortage]:
    """Cells whose questions, kept apart from their related ones, cannot fill the
    cell (a shortage), and cells that relations make tight (``plan.related_cells``)."""
    conflicts = plan.conflicts
    if not conflicts:
        return []
    bp = plan.blueprint
    short_keys = {(s.type, s.source, s.band) for s in shortages if s.kind == "cell"}
    found: list[Shortage] = []
    demand = _demand(bp, plan.cells, True)
    for (qtype, source, band), need in demand.items():
        if (qtype, source, band) in short_keys:
            continue
        items = by_key.get((qtype, source, band), [])
        free = sum(1 for it in items if not conflicts.get(it.version_id))
        if free >= need:
            continue
        capacity = independent_capacity(items, conflicts)
        for cell in plan.cells:
            if cell.exact and (bp.sections[cell.section].type, cell.source, cell.band) == (
                qtype,
                source,
                band,
            ):
                plan.related_cells.append((cell, free, capacity))
        if capacity < need:
            found.append(Shortage("related", need, capacity, qtype, source, band))
    for cell in plan.cells:
        if cell.exact:
            continue
        key = (bp.sections[cell.section].type, cell.source, cell.band)
        if key in short_keys:
            continue
        free = sum(1 for it in cell.items if not conflicts.get(it.version_id))
        if free >= cell.count:
            continue
        capacity = independent_capacity(cell.items, conflicts)
        plan.related_cells.append((cell, free, capacity))
        if capacity < cell.count:
            found.append(Shortage("related", cell.count, capacity, *key))
    return found


def prepare(
    pool: Sequence[PoolItem],
    blueprint: BlueprintSpec,
    *,
    strict: bool = True,
    related: Iterable[Sequence[int]] = (),
) -> Plan:
    """Index ``pool`` by the blueprint's cells and check it can fill every paper.

    The check is exact for cells naming a source and a band (their demand is summed
    over sections of the same type); wildcard cells are checked against what exact
    cells leave. ``related``: pairs of version ids that must not share a paper
    (互斥/关联题); a cell whose questions, kept apart, cannot fill it is a shortage
    too. Raises ``PoolShortage`` when ``strict`` (else the plan lists them).
    """
    pool = sorted(pool, key=lambda p: p.version_id)
    bp = blueprint
    by_key, cells = _index_cells(pool, bp)
    shortages = _cell_shortages(pool, bp, by_key, cells)
    conflicts = conflict_map(pool, related)
    for kp in bp.required_knowledge_points:
        if not any(kp in it.knowledge_points for c in cells for it in c.items):
            shortages.append(Shortage("knowledge_point", 1, 0, knowledge_point=kp))
    if bp.target_difficulty is not None and not shortages:
        off_target = _difficulty_shortage(bp, cells)
        if off_target is not None:
            shortages.append(off_target)
    # exact cells first, so wildcard cells take what is left
    order = sorted(range(len(cells)), key=lambda i: (not cells[i].exact, i))
    plan = Plan(bp, [cells[i] for i in order], len(pool), shortages, conflicts=conflicts)
    related_short = _related_shortages(plan, pool, by_key, shortages)
    shortages.extend(related_short)
    _add_layouts(plan, pool, by_key)
    if shortages and strict:
        raise PoolShortage(shortages)
    return plan
