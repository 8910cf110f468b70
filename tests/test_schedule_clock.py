"""Wall-clock rules of the scheduler, as pure functions: DST gaps, repeated hours, weekdays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from fitness_app.services.schedule.clock import at_local, next_daily, next_weekly

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        # 08:00 stays 08:00 on the clock on both sides of each change.
        (BERLIN, date(2026, 3, 28), utc(2026, 3, 28, 7)),  # CET, UTC+1
        (BERLIN, date(2026, 3, 29), utc(2026, 3, 29, 6)),  # CEST from 02:00 that night
        (BERLIN, date(2026, 10, 25), utc(2026, 10, 25, 7)),  # CET again
        (NEW_YORK, date(2026, 3, 7), utc(2026, 3, 7, 13)),  # EST, UTC-5
        (NEW_YORK, date(2026, 3, 8), utc(2026, 3, 8, 12)),  # EDT
        (NEW_YORK, date(2026, 11, 1), utc(2026, 11, 1, 13)),  # EST again
    ],
)
def test_eight_oclock_stays_eight_oclock(zone, day, expected):
    assert at_local(day, time(8, 0), zone) == expected
    assert expected.astimezone(zone).time() == time(8, 0)


def test_a_skipped_time_happens_at_the_next_minute_that_exists():
    # Berlin's clocks go from 02:00 to 03:00 on 29 March 2026.
    due = at_local(date(2026, 3, 29), time(2, 30), BERLIN)
    assert due == utc(2026, 3, 29, 1)
    assert due.astimezone(BERLIN).time() == time(3, 0)
    # New York's go from 02:00 to 03:00 on 8 March 2026.
    assert at_local(date(2026, 3, 8), time(2, 0), NEW_YORK).astimezone(NEW_YORK).time() == time(3)


def test_a_repeated_time_happens_once_at_its_first_occurrence():
    # Berlin's clocks read 02:00–02:59 twice on 25 October 2026 (CEST, then CET).
    first = at_local(date(2026, 10, 25), time(2, 30), BERLIN)
    assert first == utc(2026, 10, 25, 0, 30)
    # Run at the first 02:30: the next one is the next day's, not the second 02:30.
    assert next_daily(time(2, 30), BERLIN, first) == utc(2026, 10, 26, 1, 30)
    # Even computed during the repeated hour itself.
    assert next_daily(time(2, 30), BERLIN, utc(2026, 10, 25, 1, 45)) == utc(2026, 10, 26, 1, 30)
    # New York repeats 01:00–01:59 on 1 November 2026.
    ny = at_local(date(2026, 11, 1), time(1, 30), NEW_YORK)
    assert ny == utc(2026, 11, 1, 5, 30)
    assert next_daily(time(1, 30), NEW_YORK, ny) == utc(2026, 11, 2, 6, 30)


def test_next_daily_is_strictly_after():
    assert next_daily(time(8), BERLIN, utc(2026, 3, 28, 6, 59)) == utc(2026, 3, 28, 7)
    assert next_daily(time(8), BERLIN, utc(2026, 3, 28, 7)) == utc(2026, 3, 29, 6)
    # Late at night in UTC is already tomorrow in Auckland.
    auckland = ZoneInfo("Pacific/Auckland")
    assert next_daily(time(7), auckland, utc(2026, 6, 1, 20)) == utc(2026, 6, 1, 19) + (
        utc(2026, 6, 2) - utc(2026, 6, 1)
    )


def test_next_weekly_finds_the_weekday_in_the_zone():
    # Sunday 18:00 in New York, asked on Sunday 29 March 2026 at 12:00 UTC (08:00 EDT).
    assert next_weekly("sun", time(18), NEW_YORK, utc(2026, 3, 29, 12)) == utc(2026, 3, 29, 22)
    # Asked just after it: a week later.
    assert next_weekly("sun", time(18), NEW_YORK, utc(2026, 3, 29, 22)) == utc(2026, 4, 5, 22)
    # Monday 08:00 across Berlin's change: the clock reading is kept.
    due = next_weekly("mon", time(8), BERLIN, utc(2026, 3, 24))
    assert due == utc(2026, 3, 30, 6)
    assert due.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 08:00"
