"""Workout files for import tests, made on the spot, and helpers to upload them and wait.

Real-world samples live in tests/data/ (README there says where from); these
are generated so a test controls every figure.
"""

from __future__ import annotations

import gzip
import io
import math
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from deploy.processes import wait_until
from fitness_app.extensions import db
from fitness_app.models import WorkoutImport

DATA = Path(__file__).parent / "data"
START = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def gpx(points: int = 600, start: datetime = START, kind: str = "running",
        name: str | None = "Morning Run", step_m: float = 3.0) -> bytes:
    """A track heading north from Paris, a point a second, `step_m` metres apart."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="tests" '
           'xmlns="http://www.topografix.com/GPX/1/1"><trk>']
    if name:
        out.append(f"<name>{name}</name>")
    out.append(f"<type>{kind}</type><trkseg>")
    for i in range(points):
        lat = 48.85 + i * step_m / 111_320
        lon = 2.35 + 0.0001 * math.sin(i / 30)  # a few metres of wiggle, for the route
        ele = 35 + 10 * math.sin(i / 60)
        moment = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{ele:.1f}</ele>'
                   f"<time>{moment}</time></trkpt>")
    out.append("</trkseg></trk></gpx>\n")
    return "".join(out).encode()


def tcx(points: int = 300, start: datetime = START, sport: str = "Biking") -> bytes:
    stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
           'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities>'
           f'<Activity Sport="{sport}"><Id>{stamp}</Id><Lap StartTime="{stamp}">'
           f"<TotalTimeSeconds>{points}</TotalTimeSeconds><DistanceMeters>{points * 8}"
           "</DistanceMeters><Track>"]
    for i in range(points):
        moment = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(f"<Trackpoint><Time>{moment}</Time><Position><LatitudeDegrees>"
                   f"{45 + i * 8 / 111_320:.7f}</LatitudeDegrees><LongitudeDegrees>7"
                   "</LongitudeDegrees></Position><AltitudeMeters>200</AltitudeMeters>"
                   "</Trackpoint>")
    out.append("</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n")
    return "".join(out).encode()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def strava_export(count: int, start: datetime = START) -> bytes:
    """A Strava-like export: activities/ with .gpx and .gpx.gz, and files that are not workouts."""
    files = {"activities.csv": b"Activity ID,Activity Date\n", "profile.json": b"{}"}
    for i in range(count):
        content = gpx(120, start + timedelta(days=i))
        files[f"activities/{1000 + i}.gpx" + (".gz" if i % 2 else "")] = (
            gzip.compress(content) if i % 2 else content
        )
    return zipped(files)


def upload(client: FlaskClient, content: bytes, filename: str, **extra: str):
    return client.post("/workouts/import", data={"file": (io.BytesIO(content), filename), **extra},
                       content_type="multipart/form-data")


def finished(app: Flask, import_id: int, timeout: float = 60) -> WorkoutImport:
    """Wait for an import to end, and return its row."""

    def ended() -> WorkoutImport | None:
        with app.app_context():
            job = db.session.get(WorkoutImport, import_id)
            if job is not None and job.status in ("done", "failed"):
                db.session.expunge(job)
                return job
            return None

    return wait_until(ended, timeout=timeout, message=f"import {import_id} to finish")


def import_id_of(response) -> int:
    assert response.status_code == 303, response.data[:500]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
