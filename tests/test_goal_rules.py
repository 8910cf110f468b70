"""The pure goal rules, edge cases first."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fitness_app.services.goal_rules import (
    Fact,
    achieved_key,
    current_progress,
    describe,
    period_bounds,
    period_key,
    progress,
    streak_ending,
)

SUNDAY = date(2026, 11, 29)  # ISO week 48 ends here
MONDAY = date(2026, 11, 30)  # ISO week 49 starts here


def run(day: date, minutes: int = 30, km: float = 5.0) -> Fact:
    return Fact(day, minutes, km)


def test_week_starts_on_monday():
    assert period_bounds("week", SUNDAY) == (date(2026, 11, 23), MONDAY)
    assert period_bounds("week", MONDAY) == (MONDAY, date(2026, 12, 7))


def test_week_boundary_splits_progress():
    facts = [run(SUNDAY), run(SUNDAY), run(MONDAY)]
    assert progress("workouts", "week", facts, SUNDAY) == 2
    assert progress("workouts", "week", facts, MONDAY) == 1
    assert period_key("week", SUNDAY) == "2026-W48"
    assert period_key("week", MONDAY) == "2026-W49"


def test_iso_week_key_across_new_year():
    # 2026-12-31 is a Thursday, so it belongs to ISO week 53 of 2026;
    # 2027-01-04 is the Monday of 2027-W01.
    assert period_key("week", date(2026, 12, 31)) == "2026-W53"
    assert period_key("week", date(2027, 1, 4)) == "2027-W01"


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


def test_month_boundary_splits_distance():
    facts = [run(date(2026, 11, 30), km=10), run(date(2026, 12, 1), km=4.5)]
    assert progress("distance_km", "month", facts, date(2026, 11, 30)) == 10
    assert progress("distance_km", "month", facts, date(2026, 12, 1)) == 4.5
    assert progress("distance_km", "all_time", facts, date(2026, 12, 1)) == 14.5


def test_duration_sums_minutes_and_missing_distance_counts_zero():
    facts = [Fact(MONDAY, 40, 0.0), Fact(MONDAY, 25, 0.0)]
    assert progress("duration_minutes", "week", facts, MONDAY) == 65
    assert progress("distance_km", "week", facts, MONDAY) == 0


def test_streak_counts_consecutive_days_ending_on_the_day():
    days = [MONDAY - timedelta(days=i) for i in range(4)]
    assert streak_ending(days, MONDAY) == (4, MONDAY - timedelta(days=3))


def test_streak_broken_by_a_missed_day():
    days = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 23), date(2026, 11, 24)]
    assert streak_ending(days, date(2026, 11, 24)) == (2, date(2026, 11, 23))
    assert streak_ending(days, date(2026, 11, 22)) == (0, None)


def test_streak_key_is_its_first_day_so_a_new_streak_can_be_achieved_again():
    first = [run(date(2026, 11, 1)), run(date(2026, 11, 2))]
    second = first + [run(date(2026, 11, 10)), run(date(2026, 11, 11))]
    assert achieved_key("streak_days", "all_time", 2, first, date(2026, 11, 2)) == (
        "streak-2026-11-01"
    )
    assert achieved_key("streak_days", "all_time", 2, second, date(2026, 11, 11)) == (
        "streak-2026-11-10"
    )
    assert achieved_key("streak_days", "all_time", 3, first, date(2026, 11, 2)) is None


def test_current_streak_survives_until_a_whole_day_is_missed():
    facts = [run(date(2026, 11, 24)), run(date(2026, 11, 25))]
    assert current_progress("streak_days", "all_time", facts, date(2026, 11, 26)) == 2
    assert current_progress("streak_days", "all_time", facts, date(2026, 11, 27)) == 0


def test_achieved_only_when_target_reached_in_that_period():
    facts = [run(SUNDAY), run(SUNDAY)]
    assert achieved_key("workouts", "week", 3, facts, SUNDAY) is None
    facts.append(run(MONDAY))
    # The third workout falls in the next week: week 48 is still short.
    assert achieved_key("workouts", "week", 3, facts, SUNDAY) is None
    assert achieved_key("workouts", "week", 2, facts, SUNDAY) == "2026-W48"


def test_edited_workout_is_counted_with_its_new_figures_not_twice():
    before = [run(MONDAY, km=4.0), run(MONDAY, km=3.0)]
    assert achieved_key("distance_km", "week", 10, before, MONDAY) is None
    # The same two workouts after the second was edited from 3 km to 6.5 km.
    after = [run(MONDAY, km=4.0), run(MONDAY, km=6.5)]
    assert progress("distance_km", "week", after, MONDAY) == 10.5
    assert achieved_key("distance_km", "week", 10, after, MONDAY) == "2026-W49"


def test_edited_workout_moved_to_another_week_leaves_the_old_week():
    facts = [run(SUNDAY), run(MONDAY)]
    assert progress("workouts", "week", facts, SUNDAY) == 1
    assert achieved_key("workouts", "week", 2, facts, SUNDAY) is None


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
        progress("laps", "week", [], MONDAY)
