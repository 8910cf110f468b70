"""Kilometres or miles: the one place that converts and writes distances and paces.

Distances are stored in km everywhere (workouts, goals, records, totals). A
user's `units` setting (`metric` or `imperial`) only changes what a person
reads and types: pages, forms, popups written at creation, emails. Every
conversion goes through here, so a mile is 1.609344 km in one place only.
Shared by every service group and the templates; pure, it imports nothing of the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fitness_app.models import User

KM_PER_MILE = 1.609344
FEET_PER_METRE = 1 / 0.3048
METRIC = "metric"
IMPERIAL = "imperial"
#: The choices of the settings form, with their labels.
CHOICES = ((METRIC, "Kilometres (km)"), (IMPERIAL, "Miles (mi)"))
SYMBOLS = {METRIC: "km", IMPERIAL: "mi"}


def of(user: User | None) -> str:
    """A user's units; metric for nobody (signed out) or an unknown value."""
    units = getattr(user, "units", None)
    return units if units in SYMBOLS else METRIC


def symbol(units: str) -> str:
    """`km` or `mi`."""
    return SYMBOLS.get(units, "km")


def from_km(km: float, units: str) -> float:
    """A stored distance in the user's unit."""
    return km / KM_PER_MILE if units == IMPERIAL else km


def to_km(value: float, units: str) -> float:
    """A distance typed in the user's unit, as stored."""
    return value * KM_PER_MILE if units == IMPERIAL else value


def number(value: float) -> str:
    """At most one decimal, none when whole: `6.2`, `12`; how people write distances."""
    # Rounded first: 100 mi stored as 160.9344 km reads back as 99.99999999999999.
    return f"{round(float(value), 1):.1f}".removesuffix(".0")


def distance(km: float, units: str) -> str:
    """`6.2 km` or `3.9 mi`."""
    return f"{number(from_km(km, units))} {symbol(units)}"


def pace(seconds: float, km: float, units: str) -> str | None:
    """Time per km or per mile: `5:04 /km`, `8:09 /mi`; None without a distance."""
    if not km or km <= 0 or seconds <= 0:
        return None
    per_unit = round(seconds / from_km(km, units))
    minutes, rest = divmod(per_unit, 60)
    return f"{minutes}:{rest:02d} /{symbol(units)}"


def speed(seconds: float, km: float, units: str) -> str | None:
    """Distance per hour, for rides: `24.3 km/h`, `15.1 mph`; None without both figures."""
    if not km or km <= 0 or seconds <= 0:
        return None
    per_hour = from_km(km, units) * 3600 / seconds
    return f"{per_hour:.1f} {'mph' if units == IMPERIAL else 'km/h'}"
