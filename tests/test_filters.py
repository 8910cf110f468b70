"""Dates, durations and counts in the words the pages use."""

from __future__ import annotations

from datetime import date

import pytest

from fitness_app.main.filters import duration, human_date, plural

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(("day", "words"), [
    (TODAY, "Today"),
    (date(2026, 11, 25), "Yesterday"),
    (date(2026, 11, 27), "Tomorrow"),
    (date(2026, 11, 2), "Mon 2 Nov"),
    (date(2025, 12, 31), "31 Dec 2025"),
])
def test_human_date(day, words):
    assert human_date(day, TODAY) == words


@pytest.mark.parametrize(("minutes", "words"), [
    (1, "1 min"), (59, "59 min"), (60, "1 h"), (75, "1 h 15 min"), (1440, "24 h"),
])
def test_duration(minutes, words):
    assert duration(minutes) == words


def test_plural():
    assert [plural(n, "user") for n in (0, 1, 2)] == ["0 users", "1 user", "2 users"]
    assert plural(2, "match", "matches") == "2 matches"
