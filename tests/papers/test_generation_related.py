"""Related questions (互斥/关联题) never share a paper, in every mode of generation: the
random draw, knowledge-point swaps, difficulty repair (parallel forms) and rebuilds;
the pool check names the cells relations make short."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exam.papers.generation.cohort import generate_cohort
from exam.papers.generation.draw import generate_paper
from exam.papers.generation.plan import independent_capacity, prepare
from exam.papers.generation.pool import GenerationFailed, PoolItem, PoolShortage, rng_for
from exam.papers.parse import parse_blueprint
from tests.papers.test_generation import _check_paper, _opts, pools_and_blueprints


def _holds_pair(paper, pairs) -> bool:
    ids = {it.version_id for it in paper.items}
    return any(a in ids and b in ids for a, b in pairs)


@st.composite
def cases_with_relations(draw):
    pool, data = draw(pools_and_blueprints())
    ids = [p.version_id for p in pool]
    pairs = []
    if len(ids) >= 2:
        pairs = draw(
            st.lists(
                st.tuples(st.sampled_from(ids), st.sampled_from(ids)).filter(
                    lambda t: t[0] != t[1]
                ),
                max_size=max(1, len(ids)),
            )
        )
    return pool, data, pairs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases_with_relations(), st.integers(1, 10_000))
def test_no_generated_paper_contains_a_related_pair(case, person_id):
    pool, data, pairs = case
    try:
        spec = parse_blueprint(data)
    except Exception:
        return
    plan = prepare(pool, spec, strict=False, related=pairs)
    if not plan.ok:
        with pytest.raises(PoolShortage) as info:
            generate_paper(plan, spec, rng_for("s", person_id))
        for s in info.value.shortages:
            if s.kind == "related":
                assert s.needed > s.available and "关联题" in s.message()
        return
    for pid in (person_id, person_id + 1, person_id + 2):
        try:
            paper = generate_paper(plan, spec, rng_for("s", pid))
        except GenerationFailed as exc:  # loud, never a paper holding a pair
            assert "关联题" in str(exc) or "难度" in str(exc) or "题库" in str(exc)
            continue
        assert not _holds_pair(paper, pairs)
        _check_paper(paper, spec, pool)
        again = generate_paper(prepare(pool, spec, related=pairs), spec, rng_for("s", pid))
        assert again.signature() == paper.signature()


def _spec(count, *, target=None, tolerance=None, shares=None, kps=()):
    data = {
        "code": "r",
        "name": "r",
        "source_shares": shares or {"a": 100},
        "sections": [{"type": "single", "count": count, "points": 2}],
        "pass_mark": 1,
    }
    if target is not None:
        data.update(target_difficulty=target, difficulty_tolerance=tolerance)
    if kps:
        data["required_knowledge_points"] = list(kps)
    return parse_blueprint(data)


def test_a_cell_relations_make_short_is_named_and_fails():
    pool = [PoolItem.from_version(i, "single", "a", 3, _opts(4)) for i in range(1, 5)]
    pairs = list(itertools.combinations(range(1, 4), 2)) + [(1, 4)]  # 1-2-3 a triangle
    spec = _spec(3)
    plan = prepare(pool, spec, strict=False, related=pairs)
    assert not plan.ok
    (short,) = plan.shortages
    assert (short.kind, short.needed, short.available) == ("related", 3, 2)
    assert "关联题" in short.message() and "缺 1 题" in short.message()
    with pytest.raises(PoolShortage):
        prepare(pool, spec, related=pairs)
    # without relations the same pool fills the cell
    assert prepare(pool, spec, strict=False).ok


def test_independent_capacity_is_exact_on_small_components():
    pool = [PoolItem.from_version(i, "single", "a", 3, _opts(4)) for i in range(1, 8)]
    # a path 1-2-3-4 (capacity 2), a triangle 5-6-7 (capacity 1)
    pairs = [(1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (5, 7)]
    from exam.papers.generation.plan import conflict_map

    assert independent_capacity(pool, conflict_map(pool, pairs)) == 3


def test_cohort_keeps_pairs_apart_with_parallel_forms_and_knowledge_points():
    pool = []
    for i in range(1, 61):
        kps = ("留置",) if i % 10 == 0 else ()
        pool.append(
            PoolItem.from_version(
                i, "single", "ab"[i % 2], 1 + i % 5, _opts(4), knowledge_points=kps
            )
        )
    # dense relations: each question related to its neighbours and every kp question
    # related to the next one
    pairs = [(i, i + 1) for i in range(1, 60)] + [(i, i + 2) for i in range(1, 59, 3)]
    spec = _spec(12, target=3.0, tolerance=0.2, shares={"a": 50, "b": 50}, kps=("留置",))
    plan = prepare(pool, spec, related=pairs)
    cohort = generate_cohort(plan, "rel", range(1, 401))
    assert not [p for p in cohort.papers.values() if _holds_pair(p, pairs)]
    for paper in cohort.papers.values():
        _check_paper(paper, spec, pool)
        assert any(pool[it.version_id - 1].knowledge_points for it in paper.items)
    stats = cohort.stats()
    assert stats["difficulty_spread"] <= 0.4 + 1e-9
    # exposure control: every question is used, none far beyond its expected use
    assert stats["exposure_min"] > 0
    assert stats["exposure_vs_expected_max"] < 2.0


def test_recorded_pairs_are_part_of_the_plan():
    pool = [PoolItem.from_version(i, "single", "a", 3, _opts(4)) for i in range(1, 9)]
    plan = prepare(pool, _spec(3), related=[(2, 1), (3, 9), (5, 6)])
    # pairs outside the pool are dropped; recorded sorted
    assert plan.related_pairs() == [[1, 2], [5, 6]]
