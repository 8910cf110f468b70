"""GPX through gpxpy, after defusedxml has checked the file and counted its points.

gpxpy parses with the standard library's ElementTree (or lxml when installed),
which expands internal entities; and it builds the whole document in memory.
So the streaming pass in `xmlsafe` goes first: it refuses any DOCTYPE and a
track over a million points while holding one point at a time, and only a
file that passed is handed to gpxpy.
"""

from __future__ import annotations

import time
from typing import IO

import gpxpy
import gpxpy.gpx

from fitness_app.services.imports import xmlsafe
from fitness_app.services.imports.track import (
    Parsed,
    Progress,
    Refused,
    activity_from,
    encoded_route,
    utc,
    valid_point,
)

#: gpxpy takes about this many times as long as the defusedxml pass (measured
#: on generated one-hour tracks); it paces the progress bar while gpxpy runs.
GPXPY_TO_SCAN = 4.0
SCAN_SHARE = 0.2


def read(stream: IO[bytes], size: int, progress: Progress) -> Parsed:
    started = time.monotonic()
    if xmlsafe.count_points(stream, size, "gpx", "trkpt", progress, SCAN_SHARE) == 0:
        raise Refused("It has no track points: a route or waypoints only, not a workout.")
    stream.seek(0)
    expected = (time.monotonic() - started) * GPXPY_TO_SCAN
    with progress.during(SCAN_SHARE, 0.95, expected):
        try:
            gpx = gpxpy.parse(stream.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise Refused("It is not UTF-8 text.") from exc
        except (gpxpy.gpx.GPXException, ValueError) as exc:
            raise Refused(f"gpxpy could not read it ({exc}).") from exc
    return _workout(gpx)


def _workout(gpx: gpxpy.gpx.GPX) -> Parsed:
    bounds = gpx.get_time_bounds()
    if bounds.start_time is None:
        raise Refused("Its track has no times, so when it happened is unknown.")
    points = [(p.latitude, p.longitude) for p, *_ in gpx.walk()
              if valid_point(p.latitude, p.longitude)]
    track = gpx.tracks[0] if gpx.tracks else None
    moving = gpx.get_moving_data()
    duration = (moving.moving_time if moving and moving.moving_time
                else gpx.get_duration() or 0.0)
    has_elevation = any(p.elevation is not None for p, *_ in gpx.walk())
    name = (track.name if track else None) or gpx.name
    return Parsed(
        started_at=utc(bounds.start_time),
        activity=activity_from(track.type if track else None, name),
        duration_seconds=float(duration),
        distance_m=gpx.length_2d() or None,
        elevation_gain_m=(round(gpx.get_uphill_downhill().uphill, 1)
                          if has_elevation else None),
        route=encoded_route(points),
        points=len(points),
        name=name,
    )
