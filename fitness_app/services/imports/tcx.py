"""TCX (Garmin Training Center) as a small streaming reader on defusedxml.

Why not a TCX library: python-tcxparser builds the whole file with lxml's
objectify (lxml expands internal entities and keeps every point in memory),
and tcxreader uses the standard library's ElementTree on the whole document;
neither caps anything. TCX is a simple schema and we need six fields of it,
so reading the first activity from defusedxml's iterparse, one track point at
a time, is both safer and smaller (docs/architecture.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import IO
from xml.etree.ElementTree import Element

from fitness_app.services.imports import xmlsafe
from fitness_app.services.imports.track import (
    MAX_POINTS,
    Parsed,
    Point,
    Progress,
    Refused,
    activity_from,
    elevation_gain,
    encoded_route,
    track_length_m,
    utc,
    valid_point,
)


def _number(element: Element | None, path: str) -> float | None:
    found = element.find(path) if element is not None else None
    try:
        return float(found.text) if found is not None and found.text else None
    except ValueError:
        return None


def _time(text: str | None) -> datetime | None:
    try:
        return utc(datetime.fromisoformat(text.strip())) if text else None
    except ValueError:
        return None


class _FirstActivity:
    """What the first <Activity> holds, gathered while the file streams past."""

    def __init__(self) -> None:
        self.sport: str | None = None
        self.started_at: datetime | None = None
        self.notes: str | None = None
        self.lap_seconds = 0.0
        self.lap_metres: float | None = None
        self.points: list[Point] = []
        self.elevations: list[float | None] = []
        self.first_time: datetime | None = None
        self.count = 0

    def point(self, element: Element) -> None:
        self.count += 1
        if self.count > MAX_POINTS:
            raise Refused(f"Its track has over {MAX_POINTS:,} points; refused.")
        if self.first_time is None:
            self.first_time = _time(element.findtext("{*}Time"))
        lat = _number(element, "{*}Position/{*}LatitudeDegrees")
        lon = _number(element, "{*}Position/{*}LongitudeDegrees")
        if valid_point(lat, lon):
            self.points.append((lat, lon))
        self.elevations.append(_number(element, "{*}AltitudeMeters"))

    def lap(self, element: Element) -> None:
        self.lap_seconds += _number(element, "{*}TotalTimeSeconds") or 0.0
        metres = _number(element, "{*}DistanceMeters")
        if metres is not None:
            self.lap_metres = (self.lap_metres or 0.0) + metres
        if self.started_at is None:
            self.started_at = _time(element.get("StartTime"))


def read(stream: IO[bytes], size: int, progress: Progress) -> Parsed:
    found = _FirstActivity()
    in_activity = False
    seen_root = False
    for event, element in xmlsafe.elements(stream, size, "Trackpoint", progress, 0.95):
        tag = xmlsafe.local(element.tag)
        if event == "start":
            if not seen_root and tag != "TrainingCenterDatabase":
                raise Refused("It is XML, but not a TCX file.")
            seen_root = True
            if tag == "Activity":
                in_activity = True
                found.sport = element.get("Sport")
            continue
        if not in_activity:
            continue
        if tag == "Trackpoint":
            found.point(element)
        elif tag == "Lap":
            found.lap(element)
            element.clear()
        elif tag == "Id" and found.started_at is None:
            found.started_at = _time(element.text)
        elif tag == "Notes":
            found.notes = (element.text or "").strip() or None
        elif tag == "Activity":
            break  # the first activity is the workout; a multi-sport file's others are not read
    if not in_activity:
        raise Refused("It holds no activity (a course or an empty file).")
    started_at = found.started_at or found.first_time
    if started_at is None:
        raise Refused("It has no times, so when it happened is unknown.")
    distance = found.lap_metres if found.lap_metres else track_length_m(found.points)
    return Parsed(
        started_at=started_at,
        activity=activity_from(found.sport, found.notes),
        duration_seconds=found.lap_seconds,
        distance_m=distance or None,
        elevation_gain_m=elevation_gain(found.elevations),
        route=encoded_route(found.points),
        points=len(found.points),
        name=found.notes,
    )
