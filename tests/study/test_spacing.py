"""The mistakes notebook's schedule (pure)."""

from __future__ import annotations

import datetime as dt

from study import spacing

T0 = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_a_wrong_answer_comes_back_after_one_three_and_seven_days():
    entry = spacing.answer(None, False, T0)
    assert entry.due_at == T0 + DAY and entry.open
    # wrong again on day 1: still in the book, right-in-a-row back to zero, due day 3
    entry = spacing.answer(entry, False, T0 + DAY)
    assert (entry.streak, entry.due_at, entry.wrong_count) == (0, T0 + 3 * DAY, 2)
    entry = spacing.answer(entry, True, T0 + 3 * DAY)
    assert (entry.streak, entry.due_at) == (1, T0 + 7 * DAY)
    assert entry.open
    entry = spacing.answer(entry, True, T0 + 7 * DAY)
    assert not entry.open and entry.cleared_at == T0 + 7 * DAY


def test_right_twice_in_a_row_clears_and_a_wrong_in_between_does_not():
    entry = spacing.answer(None, False, T0)
    entry = spacing.answer(entry, True, T0 + DAY)
    entry = spacing.answer(entry, False, T0 + 3 * DAY)
    entry = spacing.answer(entry, True, T0 + 7 * DAY)
    assert entry.open and entry.streak == 1
    # after the third return, every 7 days
    assert entry.due_at == T0 + 14 * DAY
    assert not spacing.answer(entry, True, T0 + 14 * DAY).open


def test_right_answer_without_entry_remembers_nothing_and_cleared_entries_reopen():
    assert spacing.answer(None, True, T0) is None
    entry = spacing.answer(spacing.answer(spacing.answer(None, False, T0), True, T0 + DAY),
                           True, T0 + 3 * DAY)  # fmt: skip
    assert not entry.open
    assert spacing.answer(entry, True, T0 + 9 * DAY) == entry
    again = spacing.answer(entry, False, T0 + 9 * DAY)
    assert again.open and again.due_at == T0 + 10 * DAY and again.wrong_count == 2


def test_an_early_answer_never_brings_the_next_return_sooner_than_a_day():
    entry = spacing.answer(None, False, T0)
    early = spacing.answer(entry, False, T0 + dt.timedelta(hours=2))  # reviewed at once
    assert early.due_at == T0 + 3 * DAY
    late = spacing.answer(entry, True, T0 + 10 * DAY)  # long overdue
    assert late.due_at == T0 + 11 * DAY
    assert entry.is_due(T0 + DAY) and not entry.is_due(T0 + DAY / 2)
