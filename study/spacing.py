"""Spaced repetition for the mistakes notebook (错题本). Pure: ``now`` is passed in.

A wrong answer opens an entry. The question comes back 1, 3 and 7 days after that
wrong answer, then every 7 days, until it is answered right twice in a row. A wrong
answer at a return keeps the schedule running (it does not start it again) but sets
the count of right answers in a row back to zero; a wrong answer to a cleared entry
opens it again from that answer. An answer given before the entry is due counts like
any other; the next return is never sooner than one day after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

#: days after the opening wrong answer at which the question returns
RETURNS_AFTER_DAYS = (1, 3, 7)
#: days between returns after the last of ``RETURNS_AFTER_DAYS``
THEN_EVERY_DAYS = 7
#: right answers in a row that take a question out of the notebook
RIGHT_IN_A_ROW = 2
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Entry:
    """The notebook state of one (person, question)."""

    wrong_at: dt.datetime
    due_at: dt.datetime
    reviews: int = 0
    streak: int = 0
    wrong_count: int = 1
    cleared_at: dt.datetime | None = None

    @property
    def open(self) -> bool:
        return self.cleared_at is None

    def is_due(self, now: dt.datetime) -> bool:
        return self.open and self.due_at <= now


def return_offset(returns_done: int) -> dt.timedelta:
    """When the next return falls, counted from the opening wrong answer, after
    ``returns_done`` answers since it."""
    if returns_done < len(RETURNS_AFTER_DAYS):
        return RETURNS_AFTER_DAYS[returns_done] * DAY
    extra = returns_done - len(RETURNS_AFTER_DAYS) + 1
    return (RETURNS_AFTER_DAYS[-1] + THEN_EVERY_DAYS * extra) * DAY


def opened(now: dt.datetime, wrong_count: int = 1) -> Entry:
    """A new entry for a wrong answer at ``now``."""
    return Entry(wrong_at=now, due_at=now + return_offset(0), wrong_count=wrong_count)


def answer(entry: Entry | None, correct: bool, now: dt.datetime) -> Entry | None:
    """The entry after an answer at ``now``; ``None`` when there was none and the
    answer was right (nothing to remember)."""
    if entry is None:
        return None if correct else opened(now)
    if not entry.open:
        return entry if correct else opened(now, entry.wrong_count + 1)
    reviews = entry.reviews + 1
    if correct:
        streak = entry.streak + 1
        if streak >= RIGHT_IN_A_ROW:
            return replace(entry, reviews=reviews, streak=streak, cleared_at=now)
        wrong_count = entry.wrong_count
    else:
        streak = 0
        wrong_count = entry.wrong_count + 1
    due = max(entry.wrong_at + return_offset(reviews), now + DAY)
    return replace(entry, reviews=reviews, streak=streak, due_at=due, wrong_count=wrong_count)
