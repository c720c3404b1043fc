"""The expected source x band table of a section, and its unbiased controlled
rounding into integer tables with the blueprint's exact quotas. Exact integer
arithmetic where it matters; no randomness here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_EPS = 1e-9


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
