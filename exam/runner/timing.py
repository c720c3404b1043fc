"""Attempt timing, pure: every function takes ``now`` (or returns a value derived from
stored timestamps); nothing here reads the clock.

- deadline = min(start + duration + the person's extra minutes, window close)
- saves are accepted until deadline + grace (late packets of a candidate who answered
  in time); after that the attempt is closed and is finalized with its saved answers.
"""

from __future__ import annotations

import datetime as dt


def deadline(
    started_at: dt.datetime,
    duration_minutes: int,
    extra_minutes: int,
    closes_at: dt.datetime,
) -> dt.datetime:
    """When the candidate's time runs out."""
    own = started_at + dt.timedelta(minutes=duration_minutes + max(0, extra_minutes or 0))
    return min(own, closes_at)


def accept_until(deadline_at: dt.datetime, grace_seconds: int) -> dt.datetime:
    """The last moment a save or submission is accepted."""
    return deadline_at + dt.timedelta(seconds=max(0, grace_seconds or 0))


def accepts_saves(deadline_at: dt.datetime, grace_seconds: int, now: dt.datetime) -> bool:
    return now <= accept_until(deadline_at, grace_seconds)


def is_expired(deadline_at: dt.datetime, grace_seconds: int, now: dt.datetime) -> bool:
    """True once the grace period after the deadline is over: finalize the attempt."""
    return now > accept_until(deadline_at, grace_seconds)


def seconds_left(deadline_at: dt.datetime, now: dt.datetime) -> float:
    """Seconds until the deadline (never negative)."""
    return max(0.0, (deadline_at - now).total_seconds())


def window_open(opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime) -> bool:
    return opens_at <= now < closes_at
