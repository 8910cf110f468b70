"""Wall-clock times in a zone, turned into UTC instants: pure, no database, no Flask.

A person's "08:00" is a reading of their own clock, not a fixed offset from
UTC, so it is turned into an instant for one calendar day at a time:

- a time that does not exist that day (the hour a clock skips in spring)
  happens at the next minute that does (02:30 → 03:00 in Berlin);
- a time that happens twice (the hour repeated in autumn) happens once, at
  its first occurrence; the next one is computed from the next calendar day,
  never "24 hours later" nor "the next time the clock reads it".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The longest jump a zone's clock ever made (Samoa skipped 30 December 2011).
_LONGEST_GAP_MINUTES = 24 * 60 + 1


def _exists(local: datetime) -> bool:
    """Whether this naive-with-zone reading is shown by the clock at some instant."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def at_local(day: date, moment: time, zone: tzinfo) -> datetime:
    """The first instant (UTC) at which the zone's clock reads `moment` on `day`.

    When that reading is skipped, the first minute after it that the clock
    shows.
    """
    local = datetime.combine(day, moment.replace(second=0, microsecond=0), tzinfo=zone)
    for _ in range(_LONGEST_GAP_MINUTES):
        if _exists(local):
            return local.replace(fold=0).astimezone(UTC)
        local += timedelta(minutes=1)  # wall-clock arithmetic: the reading moves on a minute
    raise ValueError(f"{zone} never shows {moment} near {day}")


def next_daily(moment: time, zone: tzinfo, after: datetime) -> datetime:
    """The first instant strictly after `after` at which a daily `moment` happens."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    while True:
        due = at_local(day, moment, zone)
        if due > after:
            return due
        day += timedelta(days=1)


def next_weekly(weekday: str, moment: time, zone: tzinfo, after: datetime) -> datetime:
    """The first instant strictly after `after` of `moment` on `weekday` (mon … sun)."""
    wanted = WEEKDAYS.index(weekday)
    day = after.astimezone(zone).date() - timedelta(days=1)
    day += timedelta(days=(wanted - day.weekday()) % 7)
    while True:
        due = at_local(day, moment, zone)
        if due > after:
            return due
        day += timedelta(days=7)
