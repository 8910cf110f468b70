"""Personal records and streak milestones as pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from fitness_app.services.training.records import NewRecord, beats
from fitness_app.services.training.streaks import MILESTONES, Run, milestone, milestones_before


def test_a_record_needs_a_previous_best_and_a_higher_value():
    assert beats(82.0, 70.0)
    assert not beats(70.0, 70.0)
    assert not beats(60.0, 70.0)
    assert not beats(82.0, None)  # the first workout of an activity sets it quietly
    assert not beats(None, 70.0)
    assert not beats(0.0, 70.0)


@pytest.mark.parametrize(
    ("record", "text"),
    [
        (NewRecord("ride", "distance_km", 82.0, 70.0),
         "Longest ride yet: 82 km, 12 km more than before"),
        (NewRecord("run", "distance_km", 21.1, 20.0),
         "Longest run yet: 21.1 km, 1.1 km more than before"),
        (NewRecord("yoga", "duration_minutes", 61, 60),
         "Longest yoga session yet: 61 minutes, 1 minute more than before"),
        (NewRecord("other", "duration_minutes", 90, 45),
         "Longest workout yet: 90 minutes, 45 minutes more than before"),
    ],
)
def test_record_messages_are_sentences_without_the_title(record, text):
    assert record.message() == text
    assert "Personal record" not in record.message()


def test_record_data_names_activity_record_value_and_previous():
    assert NewRecord("ride", "distance_km", 82.0, 70.0).data() == {
        "activity": "ride", "record": "distance_km", "value": 82.0, "previous": 70.0,
    }


def test_milestones():
    assert MILESTONES == (3, 7, 14, 30, 50, 100, 200, 365)
    assert milestone(2, 0) is None
    assert milestone(3, 0) == 3
    assert milestone(4, 3) is None
    assert milestone(7, 3) == 7
    assert milestone(7, 7) is None  # once per milestone per streak
    assert milestone(10, 0) == 7  # a filled-in gap announces the highest one only
    assert milestone(365, 200) == 365
    assert milestone(400, 365) is None


def test_milestones_before_are_those_a_run_had_already_passed():
    assert milestones_before(1) == 0
    assert milestones_before(3) == 0
    assert milestones_before(4) == 3
    assert milestones_before(8) == 7
    assert milestones_before(366) == 365


def test_a_streak_lives_until_a_whole_day_is_missed():
    run = Run(date(2026, 11, 20), date(2026, 11, 26))
    assert run.days == 7
    assert run.length_on(date(2026, 11, 26)) == 7
    assert run.length_on(date(2026, 11, 27)) == 7  # not trained yet today
    assert run.length_on(date(2026, 11, 28)) == 0
