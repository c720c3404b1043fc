"""``generate_paper``: one candidate's paper from a plan. Choose a layout, fill every
cell by a uniform draw, bring in required knowledge points, fit the mean difficulty,
then shuffle questions within sections and options within questions."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence

from exam.papers.generation.plan import Cell, Plan, prepare
from exam.papers.generation.pool import (
    GeneratedItem,
    GeneratedPaper,
    GenerationFailed,
    PoolItem,
    PoolShortage,
    Shortage,
)
from exam.papers.spec import BlueprintSpec

MAX_ROUNDS = 12
REFERENCE_ROUNDS = 4  # the last rounds use the checked reference table


def _option_order(plan: Plan, item: PoolItem, rng: random.Random) -> tuple[str, ...]:
    """Shuffle on the fly (questions with too many options to enumerate orders)."""
    if not item.option_keys:
        return ()
    pinned = item.pinned_keys
    movable = [k for k in item.option_keys if k not in pinned]
    rng.shuffle(movable)
    return tuple(movable) + pinned


def _choose_layout(plan: Plan, rng: random.Random, *, reference: bool) -> list[Cell]:
    if reference:
        return plan.cells
    rnd = rng.random
    cells: list[Cell] = []
    for layouts, cum, ref in zip(plan.layouts, plan.layout_cum, plan.exact_refs, strict=True):
        cells.extend(layouts[bisect_right(cum, rnd())] if layouts else ref)
    if plan.wild_cells:
        cells.extend(plan.wild_cells)
    return cells


def _draw_apart(plan: Plan, layout: list[Cell], rng: random.Random) -> list[list[PoolItem]] | None:
    """``_draw`` with related questions kept apart: each slot takes a uniform draw
    among the cell's questions that are neither on the paper nor related to one on it
    (rejection first, then the free list). ``None`` when relations leave a cell short
    for this paper (the caller draws again)."""
    conflicts_get = plan.conflicts.get
    used: set[int] = set()
    used_add = used.add
    blocked: dict[int, int] = {}
    blocked_get = blocked.get
    picks: list[list[PoolItem]] = []
    rnd = rng.random
    sections = plan.blueprint.sections
    for cell in layout:
        items = cell.items
        n = len(items)
        k = cell.count
        chosen: list[PoolItem] = []
        taken = 0
        tries = 3 * k + 8 if n else 0
        while taken < k and tries:
            tries -= 1
            it = items[int(rnd() * n)]
            vid = it.version_id
            if vid in used or vid in blocked:
                continue
            chosen.append(it)
            taken += 1
            used_add(vid)
            related = conflicts_get(vid)
            if related:
                for other in related:
                    blocked[other] = blocked_get(other, 0) + 1
        if len(chosen) < k:
            if sum(1 for it in items if it.version_id not in used) < k - len(chosen):
                raise GenerationFailed(
                    "题库不足以组成完整试卷："
                    + Shortage(
                        "cell", k, n, sections[cell.section].type, cell.source, cell.band
                    ).message()
                )
            free = [
                it for it in items if it.version_id not in used and it.version_id not in blocked
            ]
            while len(chosen) < k:
                if not free:
                    return None
                it = free[int(rnd() * len(free))]
                vid = it.version_id
                chosen.append(it)
                used_add(vid)
                for other in conflicts_get(vid, ()):
                    blocked[other] = blocked_get(other, 0) + 1
                free = [f for f in free if f.version_id not in used and f.version_id not in blocked]
        picks.append(chosen)
    return picks


def _draw(plan: Plan, layout: list[Cell], rng: random.Random) -> list[list[PoolItem]] | None:
    if plan.conflicts:
        return _draw_apart(plan, layout, rng)
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
    plan: Plan, layout: list[Cell], picks: list[list[PoolItem]], rng: random.Random
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
        conflicts = plan.conflicts
        for ci, new in options:
            cell = picks[ci]
            clash = conflicts.get(new.version_id, frozenset()) & used
            # replace an item whose required points are all covered elsewhere (and the
            # only item on the paper the new one is related to, if any)
            for j in rng.sample(range(len(cell)), len(cell)):
                old = cell[j]
                if clash - {old.version_id}:
                    continue
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


def _smallest_swaps(
    picks: list[list[PoolItem]],
    groups: list[tuple[list[int], dict[int, list[PoolItem]]]],
    used: set[int],
    required: set[str],
    down: bool,
    blocked: dict[int, int],
) -> list[tuple[int, int, int]]:
    """Every (cell, slot, new difficulty) swap towards the target with the smallest
    step in difficulty that a free question of the same cell allows (free: not on the
    paper and related to none on it)."""
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
                if any(
                    it.version_id not in used and not blocked.get(it.version_id)
                    for it in by_diff[1][d]
                ):
                    if step < best or not best:
                        best = step
                        options = []
                    options.append((ci, j, d))
                    break
    return options


def _fit_difficulty(
    plan: Plan, layout: list[Cell], picks: list[list[PoolItem]], rng: random.Random
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
    conflicts = plan.conflicts
    # questions related to one on the paper: how many of the paper's questions block each
    blocked: dict[int, int] = {}
    if conflicts:
        for vid in used:
            for other in conflicts.get(vid, ()):
                blocked[other] = blocked.get(other, 0) + 1
    rnd = rng.random
    groups = [_by_difficulty(plan, cell.items) for cell in layout]
    # One swap at a time, inside a cell (quotas unchanged): of all the swaps towards
    # the target, the smallest step in difficulty, chosen at random among equals, so
    # repairs neither overshoot nor keep drawing the easiest or hardest questions.
    for _ in range(5 * n):
        options = _smallest_swaps(picks, groups, used, required, total > target * n, blocked)
        if not options:
            return False
        # pick the sort of swap (from difficulty -> to difficulty) first, then a slot:
        # a paper that is too hard holds more of the hardest questions, and picking
        # slots alone would keep swapping those out
        swaps = sorted({(picks[ci][j].difficulty, d) for ci, j, d in options})
        swap = swaps[int(rnd() * len(swaps))]
        options = [o for o in options if (picks[o[0]][o[1]].difficulty, o[2]) == swap]
        ci, j, d = options[int(rnd() * len(options))]
        free = [
            it
            for it in groups[ci][1][d]
            if it.version_id not in used and not blocked.get(it.version_id)
        ]
        old = picks[ci][j]
        new = free[int(rnd() * len(free))]
        picks[ci][j] = new
        used.discard(old.version_id)
        used.add(new.version_id)
        if conflicts:
            for other in conflicts.get(old.version_id, ()):
                blocked[other] -= 1
                if not blocked[other]:
                    del blocked[other]
            for other in conflicts.get(new.version_id, ()):
                blocked[other] = blocked.get(other, 0) + 1
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


def generate_paper(
    pool_or_plan: Sequence[PoolItem] | Plan, blueprint: BlueprintSpec, rng: random.Random
) -> GeneratedPaper:
    """One paper satisfying ``blueprint`` exactly, or ``GenerationFailed``/``PoolShortage``."""
    plan = pool_or_plan if isinstance(pool_or_plan, Plan) else prepare(pool_or_plan, blueprint)
    if plan.shortages:
        raise PoolShortage(plan.shortages)
    bp = plan.blueprint
    apart_failed = 0
    for round_no in range(MAX_ROUNDS):
        layout = _choose_layout(plan, rng, reference=round_no >= MAX_ROUNDS - REFERENCE_ROUNDS)
        picks = _draw(plan, layout, rng)
        if picks is None:
            apart_failed += 1
            continue
        if not _cover_knowledge_points(plan, layout, picks, rng):
            continue
        if not _fit_difficulty(plan, layout, picks, rng):
            continue
        break
    else:
        if apart_failed == MAX_ROUNDS:
            raise GenerationFailed(
                f"连续 {MAX_ROUNDS} 次抽题都无法让关联题（互斥题）不同卷，"
                "请补充题库或调整组卷规则。"
            )
        raise GenerationFailed(
            f"连续 {MAX_ROUNDS} 次抽题都无法同时满足必考知识点和目标平均难度"
            f" {bp.target_difficulty}±{bp.difficulty_tolerance}，请放宽容差或补充题库。"
        )
    return _assemble(plan, layout, picks, rng)


def _assemble(
    plan: Plan, layout: list[Cell], picks: list[list[PoolItem]], rng: random.Random
) -> GeneratedPaper:
    """The drawn questions as a paper: shuffled within sections, options shuffled
    within questions (one of their allowed orders)."""
    bp = plan.blueprint
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
