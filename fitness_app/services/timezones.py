"""Each user's calendar: IANA zones, their "today", and local times for display.

Stored times stay UTC; a person's dates (today, weeks, months, streaks) are
the dates of their own zone. The `tzdata` package supplies the zone data, so
this works the same on a machine without /usr/share/zoneinfo.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_ZONE = "UTC"


@functools.cache
def zone_names() -> frozenset[str]:
    """Every IANA name the installed data knows, read once per process."""
    return frozenset(available_timezones())


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in zone_names()


def clean_zone(name: object) -> str:
    """The name when it is a known IANA zone, otherwise UTC (absent, garbled or unknown)."""
    return name if is_zone(name) else DEFAULT_ZONE


def zone(name: str | None) -> tzinfo:
    """The zone of a stored name; an unknown one (data removed since) counts as UTC."""
    return ZoneInfo(name) if is_zone(name) else UTC


def local_now(zone_name: str | None, now: datetime | None = None) -> datetime:
    """The wall-clock time in the zone at `now` (default: this instant)."""
    return (now or datetime.now(UTC)).astimezone(zone(zone_name))


def local_today(zone_name: str | None, now: datetime | None = None) -> date:
    return local_now(zone_name, now).date()


def local_time(moment: datetime, zone_name: str | None) -> datetime:
    """A stored moment in the zone; SQLite hands datetimes back without a zone (UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(zone_name))


def in_quiet_hours(moment: time, start: time | None, end: time | None) -> bool:
    """Whether a wall-clock time falls in [start, end), which may wrap midnight.

    No hours set, or start equal to end, means no quiet hours.
    """
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end
