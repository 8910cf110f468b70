"""The pure goal rules, edge cases first."""

from __future__ import annotations

from datetime import date

import pytest

from fitness_app.services.training.goal_rules import (
    Totals,
    amount,
    describe,
    period_bounds,
    period_key,
    streak_key,
)

SUNDAY = date(2026, 11, 29)  # ISO week 48 ends here
MONDAY = date(2026, 11, 30)  # ISO week 49 starts here


def test_week_starts_on_monday():
    assert period_bounds("week", SUNDAY) == (date(2026, 11, 23), MONDAY)
    assert period_bounds("week", MONDAY) == (MONDAY, date(2026, 12, 7))
    assert period_key("week", SUNDAY) == "2026-W48"
    assert period_key("week", MONDAY) == "2026-W49"


def test_iso_week_key_across_new_year():
    # 2026-12-31 is a Thursday, so it belongs to ISO week 53 of 2026;
    # 2027-01-04 is the Monday of 2027-W01.
    assert period_key("week", date(2026, 12, 31)) == "2026-W53"
    assert period_key("week", date(2027, 1, 4)) == "2027-W01"
    assert period_bounds("week", date(2027, 1, 1)) == (date(2026, 12, 28), date(2027, 1, 4))


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (date(2026, 11, 30), date(2026, 11, 1), date(2026, 12, 1)),
        (date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1)),
        (date(2028, 2, 29), date(2028, 2, 1), date(2028, 3, 1)),
    ],
)
def test_month_bounds(day, start, end):
    assert period_bounds("month", day) == (start, end)
    assert period_key("month", day) == f"{day.year}-{day.month:02d}"


def test_all_time_has_no_bounds():
    assert period_bounds("all_time", MONDAY) == (None, None)
    assert period_key("all_time", MONDAY) == "all"


def test_amount_picks_the_measure_of_the_goal():
    totals = Totals(workouts=3, duration_minutes=95.0, distance_km=14.5)
    assert amount("workouts", totals) == 3
    assert amount("distance_km", totals) == 14.5
    assert amount("duration_minutes", totals) == 95
    assert amount("distance_km", Totals()) == 0


def test_streak_key_is_its_first_day_so_a_new_streak_can_be_achieved_again():
    assert streak_key(date(2026, 11, 1)) == "streak-2026-11-01"
    assert streak_key(date(2026, 11, 10)) != streak_key(date(2026, 11, 1))


@pytest.mark.parametrize(
    ("kind", "period", "target", "text"),
    [
        ("workouts", "week", 3, "3 workouts this week"),
        ("workouts", "month", 1, "1 workout this month"),
        ("distance_km", "all_time", 42.2, "42.2 km in total"),
        ("duration_minutes", "week", 150, "150 minutes this week"),
        ("streak_days", "all_time", 7, "7-day streak"),
    ],
)
def test_describe(kind, period, target, text):
    assert describe(kind, period, target) == text


def test_unknown_period_or_kind_is_an_error():
    with pytest.raises(ValueError):
        period_bounds("fortnight", MONDAY)
    with pytest.raises(ValueError):
        period_key("fortnight", MONDAY)
    with pytest.raises(ValueError):
        amount("laps", Totals())
