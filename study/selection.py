"""Which questions a practice session shows. Pure: the candidates come in as ids and
the random generator is passed in."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

#: questions a session may hold
MAX_SIZE = 50
#: 每日一练: questions a day, and how many of them stay new when reviews are due
DAILY_SIZE = 10
DAILY_NEW_AT_LEAST = 3


def choose_new(
    candidates: Sequence[int], answered: Mapping[int, int], size: int, rng: random.Random
) -> list[int]:
    """``size`` of ``candidates``: never-practised questions first, then the least
    practised (``answered``: question id -> practice answers so far), each group in
    random order."""
    shuffled = list(candidates)
    rng.shuffle(shuffled)
    shuffled.sort(key=lambda q: answered.get(q, 0))  # stable: random within a count
    return shuffled[:size]


def choose_daily(
    due: Sequence[int],
    fresh: Sequence[int],
    size: int = DAILY_SIZE,
    new_at_least: int = DAILY_NEW_AT_LEAST,
) -> list[int]:
    """Reviews that are due (in the order given: most overdue first) mixed with new
    questions: at most ``size - new_at_least`` reviews when enough new ones exist,
    reviews again when new ones run short. Reviews and new ones alternate so a
    session does not open with a run of old mistakes."""
    fresh = [q for q in fresh if q not in set(due)]
    reviews = list(due[: max(0, size - min(new_at_least, len(fresh)))])
    new = fresh[: size - len(reviews)]
    mixed: list[int] = []
    for i in range(max(len(reviews), len(new))):
        if i < len(reviews):
            mixed.append(reviews[i])
        if i < len(new):
            mixed.append(new[i])
    return mixed[:size]
