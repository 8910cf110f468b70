"""Pure goal rules: periods, progress and achievement, with no database.

Kept free of Flask and SQLAlchemy so each edge case (a week boundary, a month
boundary, a year's last ISO week) is a plain unit test. The days given are the
user's own calendar days (see `timezones`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fitness_app.services import units as distance_units

KINDS = ("workouts", "distance_km", "duration_minutes", "streak_days")
PERIODS = ("week", "month", "all_time")


@dataclass(frozen=True)
class Totals:
    """What the completed workouts of one period add up to (one SQL aggregate)."""

    workouts: int = 0
    duration_minutes: float = 0.0
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


def amount(kind: str, totals: Totals) -> float:
    """How far a period's totals go towards a goal of `kind` (not a streak)."""
    if kind == "workouts":
        return float(totals.workouts)
    if kind == "distance_km":
        return float(totals.distance_km)
    if kind == "duration_minutes":
        return float(totals.duration_minutes)
    raise ValueError(f"unknown goal kind {kind!r}")


def streak_key(since: date) -> str:
    """A streak goal's achievement key is the streak's first day, so a new
    streak after a break can be achieved again while one long streak is
    achieved once."""
    return f"streak-{since.isoformat()}"


UNITS = {
    "workouts": ("workout", "workouts"),
    "distance_km": ("km", "km"),
    "duration_minutes": ("minute", "minutes"),
    "streak_days": ("day", "days"),
}
PERIOD_PHRASES = {"week": "this week", "month": "this month", "all_time": "in total"}


def format_number(value: float) -> str:
    """`3` for whole numbers, `6.2` otherwise: how people write distances."""
    return distance_units.number(value)


def shown(kind: str, value: float, units: str = distance_units.METRIC) -> float:
    """A goal's figure as the user reads and types it: distances in their unit."""
    return distance_units.from_km(value, units) if kind == "distance_km" else value


def unit_word(kind: str, value: float, units: str = distance_units.METRIC) -> str:
    """`workout`, `workouts`, `km`, `mi`, `minutes`: what a goal's figure counts."""
    if kind == "distance_km":
        return distance_units.symbol(units)
    singular, plural = UNITS.get(kind, ("", ""))
    return singular if value == 1 else plural


def describe(kind: str, period: str, target: float, units: str = distance_units.METRIC) -> str:
    """Human wording of a goal, e.g. `3 workouts this week`, `7-day streak`, `50 mi this month`."""
    if kind == "streak_days":
        return f"{format_number(target)}-day streak"
    figure = shown(kind, target, units)
    return f"{format_number(figure)} {unit_word(kind, figure, units)} {PERIOD_PHRASES[period]}"
