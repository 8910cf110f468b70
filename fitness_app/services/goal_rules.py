"""Pure goal rules: periods, progress and achievement, with no database.

Kept free of Flask and SQLAlchemy so each edge case (a week boundary, a month
boundary, a broken streak, an edited workout) is a plain unit test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("workouts", "distance_km", "duration_minutes", "streak_days")
PERIODS = ("week", "month", "all_time")


@dataclass(frozen=True)
class Fact:
    """One completed workout, as far as goals care."""

    day: date
    duration_minutes: int
    distance_km: float = 0.0


def period_bounds(period: str, day: date) -> tuple[date | None, date | None]:
    """Return the [start, end) dates of the period holding `day`; None for all time.

    Weeks are ISO weeks, starting on Monday.
    """
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        end = (start.replace(year=start.year + 1, month=1) if start.month == 12
               else start.replace(month=start.month + 1))
        return start, end
    if period == "all_time":
        return None, None
    raise ValueError(f"unknown period {period!r}")


def period_key(period: str, day: date) -> str:
    """Name the period holding `day`, e.g. `2026-W48`, `2026-11` or `all`."""
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "all_time":
        return "all"
    raise ValueError(f"unknown period {period!r}")


def streak_ending(days: Iterable[date], day: date) -> tuple[int, date | None]:
    """Length and first day of the run of consecutive workout days ending on `day`."""
    active = set(days)
    if day not in active:
        return 0, None
    start = day
    while start - timedelta(days=1) in active:
        start -= timedelta(days=1)
    return (day - start).days + 1, start


def progress(kind: str, period: str, facts: Iterable[Fact], day: date) -> float:
    """How far the facts go towards a goal, in the period holding `day`.

    For streaks the period is ignored: progress is the streak ending on `day`.
    """
    facts = list(facts)
    if kind == "streak_days":
        return float(streak_ending((f.day for f in facts), day)[0])
    start, end = period_bounds(period, day)
    inside = [f for f in facts if (start is None or start <= f.day < end)]
    if kind == "workouts":
        return float(len(inside))
    if kind == "distance_km":
        return float(sum(f.distance_km or 0.0 for f in inside))
    if kind == "duration_minutes":
        return float(sum(f.duration_minutes for f in inside))
    raise ValueError(f"unknown goal kind {kind!r}")


def current_progress(kind: str, period: str, facts: Iterable[Fact], today: date) -> float:
    """Progress to show today. A streak stays alive until a whole day is missed."""
    facts = list(facts)
    if kind == "streak_days":
        days = {f.day for f in facts}
        anchor = today if today in days else today - timedelta(days=1)
        return float(streak_ending(days, anchor)[0])
    return progress(kind, period, facts, today)


def achieved_key(
    kind: str, period: str, target: float, facts: Iterable[Fact], day: date
) -> str | None:
    """The achievement key when the goal is met in the period holding `day`, else None.

    A streak's key is its first day, so a new streak after a break can be
    achieved again while one long streak is achieved once.
    """
    facts = list(facts)
    if kind == "streak_days":
        length, start = streak_ending((f.day for f in facts), day)
        return f"streak-{start.isoformat()}" if start and length >= target else None
    if progress(kind, period, facts, day) >= target:
        return period_key(period, day)
    return None


UNITS = {
    "workouts": ("workout", "workouts"),
    "distance_km": ("km", "km"),
    "duration_minutes": ("minute", "minutes"),
    "streak_days": ("day", "days"),
}
PERIOD_PHRASES = {"week": "this week", "month": "this month", "all_time": "in total"}


def format_number(value: float) -> str:
    """`3` for whole numbers, `6.2` otherwise: how people write distances."""
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def describe(kind: str, period: str, target: float) -> str:
    """Human wording of a goal, e.g. `3 workouts this week` or `7-day streak`."""
    if kind == "streak_days":
        return f"{format_number(target)}-day streak"
    singular, plural = UNITS[kind]
    unit = singular if target == 1 else plural
    return f"{format_number(target)} {unit} {PERIOD_PHRASES[period]}"
