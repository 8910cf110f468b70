"""The user's calendar and quiet hours, as pure rules: zones far apart, edges first.

Honolulu is UTC-10 all year; Auckland is UTC+13 in its summer (November) and
+12 in winter; Kiritimati is UTC+14. One UTC instant is three different days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from fitness_app.models import User
from fitness_app.services import preferences, timezones
from fitness_app.services.training import goal_rules

HONOLULU, AUCKLAND, KIRITIMATI = "Pacific/Honolulu", "Pacific/Auckland", "Pacific/Kiritimati"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_one_instant_is_a_different_day_in_each_zone():
    # Thursday 26 November 2026, 13:00 UTC.
    moment = utc(2026, 11, 26, 13, 0)
    assert timezones.local_today(HONOLULU, moment) == date(2026, 11, 26)
    assert timezones.local_today(AUCKLAND, moment) == date(2026, 11, 27)
    assert timezones.local_today(KIRITIMATI, moment) == date(2026, 11, 27)
    assert timezones.local_today("UTC", moment) == date(2026, 11, 26)


def test_the_issues_example_friday_two_am_in_auckland():
    # Friday 27 November 02:00 in Auckland is Thursday 13:00 UTC.
    moment = utc(2026, 11, 26, 13, 0)
    assert timezones.local_now(AUCKLAND, moment).strftime("%a %d %H:%M") == "Fri 27 02:00"


def test_week_boundary_differs_by_zone():
    # Sunday 29 November 2026, 12:00 UTC: already Monday (week 49) in Auckland,
    # still Sunday (week 48) in Honolulu.
    moment = utc(2026, 11, 29, 12, 0)
    auckland = timezones.local_today(AUCKLAND, moment)
    honolulu = timezones.local_today(HONOLULU, moment)
    assert goal_rules.period_key("week", auckland) == "2026-W49"
    assert goal_rules.period_key("week", honolulu) == "2026-W48"


def test_month_and_year_boundary_differs_by_zone():
    # 31 December 2026, 11:00 UTC: New Year's Day already at UTC+13 and +14.
    moment = utc(2026, 12, 31, 11, 0)
    assert timezones.local_today(KIRITIMATI, moment) == date(2027, 1, 1)
    assert timezones.local_today(AUCKLAND, moment) == date(2027, 1, 1)
    assert goal_rules.period_key("month", timezones.local_today(AUCKLAND, moment)) == "2027-01"
    # 1 January 2027, 09:00 UTC: still New Year's Eve in Honolulu.
    late = utc(2027, 1, 1, 9, 0)
    assert timezones.local_today(HONOLULU, late) == date(2026, 12, 31)
    assert goal_rules.period_key("month", timezones.local_today(HONOLULU, late)) == "2026-12"
    assert goal_rules.period_key("week", timezones.local_today(HONOLULU, late)) == "2026-W53"


def test_daylight_saving_change_moves_midnight():
    # Auckland leaves summer time on Sunday 5 April 2026 at 03:00 (+13 -> +12).
    before = utc(2026, 4, 4, 10, 59)  # 23:59 on the 4th at +13
    after = utc(2026, 4, 5, 11, 30)  # 23:30 on the 5th at +12
    assert timezones.local_now(AUCKLAND, before).utcoffset().total_seconds() == 13 * 3600
    assert timezones.local_today(AUCKLAND, before) == date(2026, 4, 4)
    assert timezones.local_now(AUCKLAND, after).utcoffset().total_seconds() == 12 * 3600
    assert timezones.local_today(AUCKLAND, after) == date(2026, 4, 5)
    # At 11:00 UTC on the 4th it is already the 5th at +13, 23:00 on the 5th at +12 a day on.
    assert timezones.local_today(AUCKLAND, utc(2026, 4, 4, 11, 0)) == date(2026, 4, 5)
    assert timezones.local_today(AUCKLAND, utc(2026, 4, 5, 11, 0)) == date(2026, 4, 5)
    assert timezones.local_today(AUCKLAND, utc(2026, 4, 5, 12, 0)) == date(2026, 4, 6)


def test_stored_times_without_a_zone_are_utc():
    naive = datetime(2026, 11, 26, 13, 0)
    assert timezones.local_time(naive, AUCKLAND).strftime("%Y-%m-%d %H:%M %Z") == (
        "2026-11-27 02:00 NZDT"
    )
    assert timezones.local_time(naive, HONOLULU).strftime("%H:%M %Z") == "03:00 HST"


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("UTC", "UTC"),
        ("", "UTC"),
        (None, "UTC"),
        ("Mars/Olympus_Mons", "UTC"),
        ("../../etc/passwd", "UTC"),
        ("europe/paris", "UTC"),
        (["Europe/Paris"], "UTC"),
    ],
)
def test_absent_or_unknown_zones_become_utc(name, cleaned):
    assert timezones.clean_zone(name) == cleaned


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (time(21, 59), False),
        (time(22, 0), True),
        (time(23, 59), True),
        (time(0, 0), True),
        (time(6, 59), True),
        (time(7, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_wrapping_midnight(moment, quiet):
    assert timezones.in_quiet_hours(moment, time(22, 0), time(7, 0)) is quiet


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [(time(12, 59), False), (time(13, 0), True), (time(13, 59), True), (time(14, 0), False)],
)
def test_quiet_hours_within_a_day(moment, quiet):
    assert timezones.in_quiet_hours(moment, time(13, 0), time(14, 0)) is quiet


def test_no_quiet_hours_or_an_empty_span_is_never_quiet():
    assert not timezones.in_quiet_hours(time(3, 0), None, None)
    assert not timezones.in_quiet_hours(time(3, 0), time(3, 0), time(3, 0))


def user(**settings) -> User:
    return User(username="u", email="u@example.com", timezone=settings.pop("timezone", "UTC"),
                muted=settings.pop("muted", ""), **settings)


def test_quiet_hours_are_read_in_the_users_zone():
    # 13:00 UTC is 03:00 in Honolulu (quiet) and 02:00 next day in Auckland.
    moment = utc(2026, 11, 26, 13, 0)
    night = {"quiet_start": time(22, 0), "quiet_end": time(7, 0)}
    assert preferences.is_silent(user(timezone=HONOLULU, **night), "streak", moment)
    assert preferences.is_silent(user(timezone=AUCKLAND, **night), "streak", moment)
    assert not preferences.is_silent(user(timezone="UTC", **night), "streak", moment)
    assert not preferences.is_silent(user(timezone="Europe/Berlin", **night), "streak", moment)


def test_muted_kinds_are_silent_and_announcements_never():
    someone = user(muted="personal_record,streak", quiet_start=time(0, 0), quiet_end=time(23, 59))
    moment = utc(2026, 11, 26, 12, 0)
    assert preferences.is_silent(user(muted="personal_record"), "personal_record", moment)
    assert not preferences.is_silent(user(muted="personal_record"), "streak", moment)
    assert not preferences.is_silent(someone, "announcement", moment)
