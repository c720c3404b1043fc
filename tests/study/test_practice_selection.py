"""Choosing practice questions (pure)."""

from __future__ import annotations

import random

from study.selection import choose_daily, choose_new


def test_new_questions_come_before_practised_ones():
    chosen = choose_new(range(1, 11), {1: 3, 2: 1, 3: 1}, 8, random.Random(1))
    assert set(chosen) == set(range(4, 11)) | {chosen[-1]}
    assert chosen[-1] in (2, 3)  # the least practised fill up
    assert choose_new(range(1, 11), {}, 20, random.Random(1)).__len__() == 10


def test_the_draw_is_random_but_reproducible():
    a = choose_new(range(100), {}, 10, random.Random(7))
    assert a == choose_new(range(100), {}, 10, random.Random(7))
    assert a != choose_new(range(100), {}, 10, random.Random(8))


def test_daily_mixes_due_reviews_with_new_questions():
    assert choose_daily([1, 2], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]) == [
        1, 10, 2, 11, 12, 13, 14, 15, 16, 17]  # fmt: skip
    # many reviews due: at least three new ones stay
    daily = choose_daily(list(range(1, 20)), [100, 101, 102, 103])
    assert len(daily) == 10 and sorted(q for q in daily if q >= 100) == [100, 101, 102]
    # few new ones: reviews fill the day
    assert sorted(choose_daily(list(range(1, 20)), [100])) == [*range(1, 10), 100]
    # a due review is not offered twice
    assert choose_daily([5], [5, 6]) == [5, 6]
