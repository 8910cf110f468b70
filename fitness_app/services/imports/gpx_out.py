"""A stored route written back as GPX (gpxpy), so the export takes tracks elsewhere.

What is kept is the simplified route, so the file holds those points, the
start time on the first and the workout's name and activity on the track.
"""

from __future__ import annotations

from datetime import datetime

import gpxpy.gpx

from fitness_app.services.imports.track import decoded_route


def track_gpx(route: str, title: str, activity: str, started_at: datetime) -> str:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Stride"
    track = gpxpy.gpx.GPXTrack(name=title)
    track.type = activity
    segment = gpxpy.gpx.GPXTrackSegment()
    for index, (lat, lon) in enumerate(decoded_route(route)):
        segment.points.append(gpxpy.gpx.GPXTrackPoint(
            lat, lon, time=started_at if index == 0 else None))
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml(version="1.1")
