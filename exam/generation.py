"""Paper generation: pure functions over plain data (no database, no clock, no global
random state).

A paper is a function of the blueprint, the pool and an ``random.Random`` seeded from
SHA-256 of ``f"{seed}|{person_id}"`` (``rng_for``), so any paper can be rebuilt. Each
candidate's paper is drawn independently:

1. the section's source x band table: the blueprint fixes the count per source and per
   band of every section; the pairing of the two is drawn per candidate so that, over
   the cohort, each cell averages the *expected table* (``expected_table``: cells
   proportional to the pool's supply within those quotas, by iterative proportional
   fitting). ``controlled_rounding`` turns the expected table into integer tables
   with the exact quotas whose weighted mean is the expected table, once per plan;
   each candidate's rng picks one by weight. So within a source (and within a band)
   questions are drawn about equally often, as far as the per-section quotas allow;
2. every cell is filled by a uniform draw without replacement from its questions, so
   questions of a cell are used equally often in expectation (no dependence on the
   cohort, so papers of late participants are as fair as the others);
3. required knowledge points are brought in by swaps inside a cell (quotas unchanged);
   parallel forms: when the paper's mean difficulty is off target by more than the
   tolerance, items are swapped inside their cell, one smallest step in difficulty
   at a time (random among equal steps, so repairs do not favour the easiest or
   hardest questions); if that fails the draw is repeated (the same rng continues, so
   it stays deterministic), and after ``MAX_ROUNDS`` the generation fails loudly;
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
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from core.errors import InvalidInput
from exam.blueprint import ANY, BlueprintSpec, band_label, type_label

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
    #: per section: cumulative probabilities of its layouts (last one is 1.0)
    layout_cum: list[list[float]] = field(default_factory=list)
    #: version id -> every allowed option order (authored keys in display order);
    #: empty for questions shuffled on the fly (many options)
    orders: dict[int, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    #: per section: the reference cells naming a source and a band / the wildcard ones
    exact_refs: list[list[_Cell]] = field(default_factory=list)
    wild_cells: list[_Cell] = field(default_factory=list)
    #: version ids that more than one cell of a paper can draw (need a "used" check)
    shared_types: frozenset[str] = frozenset()
    #: cache for the difficulty repair: id(cell items) -> (difficulties, groups, items)
    by_difficulty: dict = field(default_factory=dict, repr=False)

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
_EPS = 1e-9


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


def _ipf(
    seed: Mapping[tuple[str, str], float], rows: Mapping[str, float], cols: Mapping[str, float]
) -> dict[tuple[str, str], float] | None:
    """Iterative proportional fitting: scale ``seed`` (cells > 0) to the row and column
    sums; ``None`` when the margins cannot be met on the seed's support."""
    table = {k: float(v) for k, v in seed.items() if v > 0 and rows[k[0]] > _EPS}
    table = {k: v for k, v in table.items() if cols[k[1]] > _EPS}
    for r, want in rows.items():
        if want > _EPS and not any(k[0] == r for k in table):
            return None
    for c, want in cols.items():
        if want > _EPS and not any(k[1] == c for k in table):
            return None
    for _attempt in range(4):
        error = 1.0
        for _ in range(1000):
            for axis, target in ((0, rows), (1, cols)):
                sums: dict[str, float] = {}
                for k, v in table.items():
                    sums[k[axis]] = sums.get(k[axis], 0.0) + v
                for k in table:
                    table[k] *= target[k[axis]] / sums[k[axis]]
            row_sums: dict[str, float] = {}
            for (r, _c), v in table.items():
                row_sums[r] = row_sums.get(r, 0.0) + v
            error = max(abs(row_sums.get(r, 0.0) - want) for r, want in rows.items())
            if error < 1e-10:
                return table
        # The margins are only met with some cells at 0 (a boundary solution), where
        # the fit converges slowly: drop the cells heading to 0 and fit again.
        vanishing = [k for k, v in table.items() if v < 1e-3]
        if not vanishing:
            break
        for k in vanishing:
            del table[k]
        if any(
            want > _EPS and not any(k[axis] == key for k in table)
            for axis, margin in ((0, rows), (1, cols))
            for key, want in margin.items()
        ):
            return None
    return table if error < 1e-6 else None


def expected_table(
    rows: Mapping[str, int], cols: Mapping[str, int], supply: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], float] | None:
    """The source x band table a section should average over the cohort: row and column
    sums are the blueprint's quotas, and cells are proportional to the pool's supply as
    far as those quotas allow (iterative proportional fitting), so every question of a
    source is drawn about equally often. Cells are capped at their supply (a capped
    cell is pinned and the rest refitted). ``None`` when no such table is found."""
    fixed: dict[tuple[str, str], float] = {}
    for _ in range(len(supply) + 1):
        row_left = {r: n - sum(v for k, v in fixed.items() if k[0] == r) for r, n in rows.items()}
        col_left = {c: n - sum(v for k, v in fixed.items() if k[1] == c) for c, n in cols.items()}
        if min(list(row_left.values()) + list(col_left.values())) < -_EPS:
            return None
        free = {k: v for k, v in supply.items() if v > 0 and k not in fixed}
        table = _ipf(free, row_left, col_left)
        if table is None:
            return None
        over = [k for k, v in table.items() if v > supply[k] + _EPS]
        if not over:
            table.update(fixed)
            return table
        for k in over:
            fixed[k] = float(supply[k])
    return None


def _cycle(fractional: Sequence[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """A cycle of the bipartite graph (rows - columns) formed by the fractional cells;
    every node of it has at least two such cells when the margins are integers."""
    adj: dict[tuple[int, str], list[tuple[tuple[str, str], tuple[int, str]]]] = {}
    for r, c in fractional:
        adj.setdefault((0, r), []).append(((r, c), (1, c)))
        adj.setdefault((1, c), []).append(((r, c), (0, r)))
    node = (0, fractional[0][0])
    pos = {node: 0}
    edges: list[tuple[str, str]] = []
    prev = None
    while True:
        step = next(((e, o) for e, o in adj[node] if e != prev), None)
        if step is None:
            return None
        edge, other = step
        edges.append(edge)
        if other in pos:
            return edges[pos[other] :]
        pos[other] = len(edges)
        prev, node = edge, other


def _round_vertex(
    rest: Mapping[tuple[str, str], int], whole: int
) -> dict[tuple[str, str], int] | None:
    """A 0/1 table with the margins of ``rest / whole`` (entries in [0, whole], integer
    margins) keeping its 0 and 1 cells: push alternately around cycles of fractional
    cells until none is left. Exact integer arithmetic."""
    x = dict(rest)
    for _ in range(len(x) + 1):
        open_cells = sorted(k for k, v in x.items() if 0 < v < whole)
        if not open_cells:
            return {k: v // whole for k, v in x.items()}
        cycle = _cycle(open_cells)
        if cycle is None or len(cycle) % 2:
            return None
        up, down = cycle[0::2], cycle[1::2]
        delta = min(min(whole - x[k] for k in up), min(x[k] for k in down))
        for k in up:
            x[k] += delta
        for k in down:
            x[k] -= delta
    return None


ROUNDING_UNIT = 10**6  # expected tables are handled in millionths, exactly


def _quantize(table: Mapping[tuple[str, str], float]) -> dict[tuple[str, str], int] | None:
    """``table`` in integer millionths with row and column sums exactly whole numbers
    (the float errors of the fit moved onto cells farthest from a whole number, so no
    cell crosses one)."""
    unit = ROUNDING_UNIT
    q = {k: max(0, round(v * unit)) for k, v in table.items() if v > 0}
    if not q:
        return None

    def slack(k: tuple[str, str]) -> int:
        return min(q[k] % unit, unit - q[k] % unit)

    rows: dict[str, list[tuple[str, str]]] = {}
    cols: dict[str, list[tuple[str, str]]] = {}
    for k in sorted(q):
        rows.setdefault(k[0], []).append(k)
        cols.setdefault(k[1], []).append(k)
    for cells in rows.values():
        total = sum(q[k] for k in cells)
        diff = round(total / unit) * unit - total
        if diff:
            q[max(cells, key=slack)] += diff
    for _ in range(4 * len(q)):
        dc = {
            c: round(sum(q[k] for k in ks) / unit) * unit - sum(q[k] for k in ks)
            for c, ks in cols.items()
        }
        plus = [c for c, d in dc.items() if d > 0]
        minus = [c for c, d in dc.items() if d < 0]
        if not plus or not minus:
            break
        c_in, c_out = plus[0], minus[0]
        movable = [
            (min(slack((r, c_out)), slack((r, c_in))), r)
            for r, _c in cols[c_out]
            if (r, c_in) in q and q[(r, c_out)] > 0
        ]
        if not movable:
            return None
        _slack, r = max(movable)
        x = min(dc[c_in], -dc[c_out], q[(r, c_out)])
        q[(r, c_in)] += x
        q[(r, c_out)] -= x
    for groups in (rows, cols):
        for ks in groups.values():
            if sum(q[k] for k in ks) % unit:
                return None
    if min(q.values()) < 0:
        return None
    return q


def controlled_rounding(
    table: Mapping[tuple[str, str], float],
) -> list[tuple[float, dict[tuple[str, str], int]]] | None:
    """Unbiased controlled rounding, precomputed: integer tables (each cell the floor or
    the ceiling of ``table``, every row and column sum the same as the table's) with
    probabilities whose weighted mean is ``table`` (to a millionth). A convex
    decomposition of the fractional parts into 0/1 tables, at most one more table than
    cells, in exact integer arithmetic; a candidate's rng then only picks one table by
    weight. ``None`` when the margins of ``table`` are not whole numbers."""
    q = _quantize(table)
    if q is None:
        return None
    unit = ROUNDING_UNIT
    floor = {k: v // unit for k, v in q.items()}
    rest = {k: v % unit for k, v in q.items()}
    whole = unit  # the mass still to be decomposed; rest / whole is a fractional table
    out: list[tuple[float, dict[tuple[str, str], int]]] = []
    for _ in range(len(q) + 2):
        if all(v in (0, whole) for v in rest.values()):
            out.append((whole / unit, {k: floor[k] + rest[k] // whole for k in q}))
            return out
        vertex = _round_vertex(rest, whole)
        if vertex is None:
            return None
        lam = min(
            rest[k] if vertex[k] else whole - rest[k] for k, v in rest.items() if 0 < v < whole
        )
        out.append((lam / unit, {k: floor[k] + vertex[k] for k in q}))
        rest = {k: v - lam * vertex[k] for k, v in rest.items()}
        whole -= lam
    return None


def _balanced_layouts(
    bp: BlueprintSpec, si: int, by_key: dict[tuple[str, str, str], list[PoolItem]]
) -> tuple[list[list[_Cell]], list[float]]:
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
    supply = {(r, c): len(by_key.get((section.type, r, c), ())) for r in rows for c in cols}
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
        layouts = _layouts(bp, si, by_key)
        return layouts, [(i + 1) / len(layouts) for i in range(len(layouts))]
    layouts = []
    cumulative = []
    total = sum(merged.values())
    acc = 0.0
    for key, weight in sorted(merged.items()):
        layouts.append(
            [_Cell(si, r, c, n, by_key.get((section.type, r, c), []), True) for (r, c), n in key]
        )
        acc += weight / total
        cumulative.append(acc)
    cumulative[-1] = 1.0
    return layouts, cumulative


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
    balanced = [
        _balanced_layouts(bp, si, by_key) if types.count(s.type) == 1 else ([], [])
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
    for layouts, cum, ref in zip(plan.layouts, plan.layout_cum, plan.exact_refs, strict=True):
        cells.extend(layouts[bisect_right(cum, rnd())] if layouts else ref)
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
    rnd = rng.random
    groups = [_by_difficulty(plan, cell.items) for cell in layout]
    # One swap at a time, inside a cell (quotas unchanged): of all the swaps towards
    # the target, the smallest step in difficulty, chosen at random among equals, so
    # repairs neither overshoot nor keep drawing the easiest or hardest questions.
    for _ in range(5 * n):
        down = total > target * n  # too hard
        best = 0
        options: list[tuple[int, int, int]] = []
        for ci, cell in enumerate(picks):
            by_diff = groups[ci]
            for j, old in enumerate(cell):
                if required & old.knowledge_points:
                    continue
                d_old = old.difficulty
                for d in reversed(by_diff[0]) if down else by_diff[0]:
                    if (d >= d_old) if down else (d <= d_old):
                        continue
                    step = abs(d - d_old)
                    if best and step > best:
                        break
                    if any(it.version_id not in used for it in by_diff[1][d]):
                        if step < best or not best:
                            best = step
                            options = []
                        options.append((ci, j, d))
                        break
        if not options:
            return False
        # pick the kind of swap (from difficulty -> to difficulty) first, then a slot:
        # a paper that is too hard holds more of the hardest questions, and picking
        # slots alone would keep swapping those out
        kinds = sorted({(picks[ci][j].difficulty, d) for ci, j, d in options})
        kind = kinds[int(rnd() * len(kinds))]
        options = [o for o in options if (picks[o[0]][o[1]].difficulty, o[2]) == kind]
        ci, j, d = options[int(rnd() * len(options))]
        free = [it for it in groups[ci][1][d] if it.version_id not in used]
        old = picks[ci][j]
        new = free[int(rnd() * len(free))]
        picks[ci][j] = new
        used.discard(old.version_id)
        used.add(new.version_id)
        total += new.difficulty - old.difficulty
        if abs(total / n - target) <= tol + 1e-9:
            return True
    return False


def _by_difficulty(
    plan: Plan, items: list[PoolItem]
) -> tuple[list[int], dict[int, list[PoolItem]]]:
    """A cell's items grouped by difficulty (sorted difficulties, groups), cached."""
    key = id(items)
    hit = plan.by_difficulty.get(key)
    if hit is None or hit[2] is not items:
        groups: dict[int, list[PoolItem]] = {}
        for it in items:
            groups.setdefault(it.difficulty, []).append(it)
        hit = (sorted(groups), groups, items)
        plan.by_difficulty[key] = hit
    return hit[0], hit[1]


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
    of its cell over the cell's size, averaged over the section's layouts (by their
    probabilities). Exposure divided by this shows whether questions of a cell are used
    equally often."""
    prob: dict[int, float] = {}
    for si, ref in enumerate(plan.exact_refs):
        layouts = plan.layouts[si] if si < len(plan.layouts) else []
        cum = plan.layout_cum[si] if layouts else [1.0]
        options = layouts or [ref]
        for k, layout in enumerate(options):
            weight = cum[k] - (cum[k - 1] if k else 0.0)
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


def _group_exposure(
    groups: Mapping[str, list[int]],
    exposure: Mapping[int, int],
    expected: Mapping[int, float],
    n: int,
) -> list[dict]:
    """Exposure per group of questions (a source, a band): the group's quota per paper,
    its expected use per question (quota x papers / questions: what equal use within
    the group would give), the quota-implied range of expected use inside the group,
    and the actual min/max with their ratio to the group's expected use."""
    rows = []
    for key in sorted(groups):
        vids = groups[key]
        used = [exposure[v] for v in vids]
        per_paper = sum(expected.get(v, 0.0) for v in vids)
        mean_expected = n * per_paper / len(vids)
        implied = [n * expected.get(v, 0.0) for v in vids]
        rows.append(
            {
                "key": key,
                "questions": len(vids),
                "per_paper": round(per_paper, 3),
                "expected": round(mean_expected, 1),
                "expected_min": round(min(implied), 1),
                "expected_max": round(max(implied), 1),
                "min": min(used),
                "max": max(used),
                "min_ratio": round(min(used) / mean_expected, 3) if mean_expected else None,
                "max_ratio": round(max(used) / mean_expected, 3) if mean_expected else None,
            }
        )
    return rows


@dataclass
class CohortResult:
    papers: dict[int, GeneratedPaper]
    exposure: dict[int, int]
    eligible: int
    #: version id -> chance of being drawn by one candidate (``draw_probabilities``)
    expected: dict[int, float] = field(default_factory=dict)
    #: version id -> (law source code, difficulty band), for exposure per group
    groups: dict[int, tuple[str, str]] = field(default_factory=dict)

    def stats(self) -> dict:
        """Exposure and difficulty figures of the cohort.

        ``exposure_expected_min/max`` is the range of use the blueprint's quotas imply
        (each question's draw chance x papers): questions of a source or band whose
        quota per section is large for its supply are necessarily used more.
        ``exposure_vs_expected_*`` compares each question with its own implied use,
        and ``exposure_dispersion`` is the variance of use around it over the binomial
        variance of independent papers: about 1 means what spread is left is chance.
        ``exposure_by_source``/``exposure_by_band`` break use down per group."""
        usage = list(self.exposure.values())
        means = [p.mean_difficulty for p in self.papers.values()]
        n = len(self.papers)
        exp = self.expected
        ratios = [
            self.exposure[vid] / (n * p)
            for vid, p in exp.items()
            if p > 0 and vid in self.exposure and n * p >= 20
        ]
        implied = [n * exp.get(vid, 0.0) for vid in self.exposure]
        dev = var = 0.0
        for vid, u in self.exposure.items():
            p = min(1.0, exp.get(vid, 0.0))
            dev += (u - n * p) ** 2
            var += n * p * (1 - p)
        by_source: dict[str, list[int]] = {}
        by_band: dict[str, list[int]] = {}
        for vid in self.exposure:
            source, band = self.groups.get(vid, (ANY, ANY))
            by_source.setdefault(source, []).append(vid)
            by_band.setdefault(band, []).append(vid)
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
            # the range of use the quotas imply (draw chance x papers)
            "exposure_expected_min": round(min(implied), 1) if implied and n else None,
            "exposure_expected_max": round(max(implied), 1) if implied and n else None,
            # usage over the quota-implied expectation (questions expected >= 20 times)
            "exposure_vs_expected_min": round(min(ratios), 3) if ratios else None,
            "exposure_vs_expected_max": round(max(ratios), 3) if ratios else None,
            "exposure_dispersion": round(dev / var, 3) if var > 0 else None,
            "exposure_by_source": _group_exposure(by_source, self.exposure, exp, n) if n else [],
            "exposure_by_band": _group_exposure(by_band, self.exposure, exp, n) if n else [],
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
    band_of = bp.band_of
    groups = {}
    for cell in plan.cells:
        for it in cell.items:
            groups[it.version_id] = (it.source, band_of(it.difficulty))
    for layouts in plan.layouts:
        for layout in layouts:
            for cell in layout:
                for it in cell.items:
                    groups[it.version_id] = (it.source, band_of(it.difficulty))
    return CohortResult(papers, exposure, len(exposure), draw_probabilities(plan), groups)


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
