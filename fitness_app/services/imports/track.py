"""What every reader returns, and what every format shares: activities, elevation, the route.

Pure functions on plain values, run in the worker process. The route kept for
the map is simplified with Ramer–Douglas–Peucker (the `simplification`
package) to at most ROUTE_POINTS points and stored as a Google encoded
polyline (the `polyline` package): a few kilobytes per workout, whatever the
file held.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import polyline
from gpxpy.geo import calculate_uphill_downhill, haversine_distance

#: A track with more points than this is refused (a million, per the contract).
MAX_POINTS = 1_000_000
#: The simplified route keeps at most this many points.
ROUTE_POINTS = 500

Point = tuple[float, float]


class Refused(Exception):
    """A file that is not a workout we can read; the message is shown for that file."""


class Progress:
    """How far a reader is through one file, from 0 to 1; this one tells nobody.

    The worker passes one that reports to the server, which shows a single
    file's progress in tenths.
    """

    def fraction(self, done: float) -> None:
        """Reached `done` of the file."""

    @contextmanager
    def during(self, start: float, end: float, expected_seconds: float) -> Iterator[None]:
        """A step with no progress of its own (a library call) expected to take this long."""
        yield


@dataclass(frozen=True)
class Parsed:
    """One workout as read from a file, in plain values (it crosses a pipe as JSON)."""

    started_at: datetime
    activity: str
    duration_seconds: float
    distance_m: float | None
    elevation_gain_m: float | None
    route: str
    points: int
    name: str | None

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["started_at"] = self.started_at.isoformat()
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Parsed:
        return cls(**{**values, "started_at": datetime.fromisoformat(values["started_at"])})


# Words found in the sport or type fields of GPX (Strava, Garmin, Komoot), TCX and
# FIT files, mapped to our activities. First match wins, so order matters.
ACTIVITY_WORDS = (
    ("run", "run"), ("jog", "run"), ("trail", "run"),
    ("cycl", "ride"), ("bik", "ride"), ("ride", "ride"), ("velo", "ride"),
    ("swim", "swim"),
    ("walk", "walk"), ("hik", "walk"),
    ("yoga", "yoga"),
    ("strength", "strength"), ("weight", "strength"), ("training", "strength"),
)


def activity_from(*words: str | None) -> str:
    """Our activity for the first of `words` (sport, type, then name) that names one."""
    for word in words:
        lowered = (word or "").lower()
        for needle, activity in ACTIVITY_WORDS:
            if needle in lowered:
                return activity
    return "other"


def utc(moment: datetime) -> datetime:
    """A file's time as an aware UTC datetime; naive times in these formats are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def elevation_gain(elevations: Sequence[float | None]) -> float | None:
    """Metres climbed, smoothed as gpxpy smooths a GPX track's, for every format alike."""
    values = [e for e in elevations if e is not None and math.isfinite(e)]
    if len(values) < 2:
        return None
    return round(calculate_uphill_downhill(values)[0], 1)


def haversine_m(a: Point, b: Point) -> float:
    return haversine_distance(a[0], a[1], b[0], b[1])


def track_length_m(points: Sequence[Point]) -> float:
    """The length of a track along its points, in metres."""
    return sum(haversine_m(points[i - 1], points[i]) for i in range(1, len(points)))


def valid_point(lat: float | None, lon: float | None) -> bool:
    return (lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
            and -90 <= lat <= 90 and -180 <= lon <= 180)


def encoded_route(points: Sequence[Point]) -> str:
    """The track simplified to at most ROUTE_POINTS points, as an encoded polyline."""
    # Here, not at the top: only the worker process simplifies, and numpy need
    # not load into the server, which only decodes.
    import numpy
    from simplification.cutil import simplify_coords_idx

    if not points:
        return ""
    coords = numpy.asarray(points, dtype=float)
    # Degrees of longitude shrink away from the equator; scale them so the
    # tolerance means the same ground distance in both directions.
    plane = numpy.column_stack(
        (coords[:, 1] * math.cos(math.radians(float(coords[:, 0].mean()))), coords[:, 0])
    )
    keep: Sequence[int] = range(len(points))
    tolerance = 0.00001  # degrees, about a metre
    while len(keep) > ROUTE_POINTS:
        keep = simplify_coords_idx(plane, tolerance)
        tolerance *= 2
    return polyline.encode([(float(coords[i, 0]), float(coords[i, 1])) for i in keep], 5)


def decoded_route(route: str) -> list[Point]:
    """The stored route as (lat, lon) pairs."""
    return polyline.decode(route, 5) if route else []
