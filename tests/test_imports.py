"""Importing workout files through /workouts/import: what a person sees on the pages and popups.

Uploads go through the real route, are read by the real reader process and
stored by the background task; progress and the finished notification
arrive through Flask-SocketIO's test client.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import gpxpy
import pytest
from flask import render_template_string
from flask_login import login_user

from fitness_app.extensions import db, socketio
from fitness_app.models import ImportEntry, Notification, User, Workout, WorkoutTrack
from fitness_app.services.imports import rows
from tests.conftest import built_app, signed_in_client
from tests.imports_helpers import (
    DATA,
    START,
    finished,
    gpx,
    import_id_of,
    strava_export,
    tcx,
    upload,
    zipped,
)


@pytest.fixture
def app(database, tmp_path):
    """The testing app, its uploads in a folder of this test's own."""
    with built_app(database, IMPORT_DIR=str(tmp_path / "uploads")) as app:
        yield app


def stored(app, model, **filters):
    with app.app_context():
        rows = db.session.scalars(db.select(model).filter_by(**filters)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def events(socket, name):
    return [e["args"][0] for e in socket.get_received() if e["name"] == name]


@pytest.mark.one_database
def test_import_page_has_the_labelled_file_field(client, signed_in):
    page = client.get("/workouts/import").data.decode()
    assert '<label for="file">Workout file</label>' in page
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page


def test_a_gpx_file_becomes_a_workout_with_its_track(client, app, signed_in):
    socket = socketio.test_client(app, flask_test_client=client)
    socket.get_received()
    response = upload(client, gpx(600), "morning.gpx")
    job = finished(app, import_id_of(response))
    assert (job.status, job.added, job.skipped, job.refused) == ("done", 1, 0, 0)

    [workout] = stored(app, Workout)
    assert (workout.title, workout.activity, workout.duration_minutes) == ("Morning Run", "run", 10)
    assert workout.performed_on == START.date() and workout.completed
    assert workout.distance_km == pytest.approx(1.8, rel=0.02)
    [track] = stored(app, WorkoutTrack)
    assert track.started_at.replace(tzinfo=None) == START.replace(tzinfo=None)
    assert track.points == 600 and track.route
    assert track.elevation_gain_m > 0

    received = socket.get_received()
    progress = [e["args"][0] for e in received if e["name"] == "import_progress"]
    assert progress and progress[-1] == {"import_id": job.id, "done": 10, "total": 10,
                                         "unit": "tenths"}
    [note] = [e["args"][0] for e in received if e["name"] == "notification"]
    assert note["kind"] == "import_finished"
    assert note["message"] == "1 workout added, 0 skipped as duplicates, 0 refused."
    assert note["data"] == {"import_id": job.id, "added": 1, "skipped": 0, "refused": 0}
    assert note["url"] == f"/workouts/imports/{job.id}"

    page = client.get(f"/workouts/imports/{job.id}").data.decode()
    assert "Finished" in page and "morning.gpx" in page and "Morning Run" in page
    socket.disconnect()


def test_a_strava_export_imports_every_activity_and_skips_duplicates(client, app, signed_in):
    export = strava_export(6)
    job = finished(app, import_id_of(upload(client, export, "export_123.zip")))
    assert (job.total, job.added, job.skipped, job.refused) == (6, 6, 0, 0)
    again = finished(app, import_id_of(upload(client, export, "export_123.zip")))
    assert (again.added, again.skipped) == (0, 6)
    assert len(stored(app, Workout)) == 6
    # A start within a minute of one already there, same activity: the same workout.
    near = finished(app, import_id_of(upload(client, gpx(120, START + timedelta(seconds=40)),
                                             "near.gpx")))
    assert (near.added, near.skipped) == (0, 1)
    # Same start, another activity: a different workout.
    ride = finished(app, import_id_of(upload(client, tcx(60, START), "ride.tcx")))
    assert ride.added == 1 and stored(app, Workout, activity="ride")


@pytest.mark.parametrize(("name", "activity"), [
    ("garmin-fenix-5-run.fit", "run"),
    ("garmin-edge-820-bike.fit", "ride"),
    ("korita-zbevnica.gpx", "other"),
    ("sup_activity_1.tcx", "other"),
])
def test_real_device_files_import(client, app, signed_in, name, activity):
    job = finished(app, import_id_of(upload(client, (DATA / name).read_bytes(), name)))
    assert job.added == 1, stored(app, ImportEntry)
    [workout] = stored(app, Workout)
    assert workout.activity == activity
    assert workout.distance_km and workout.duration_minutes >= 1


def test_refusals_are_listed_file_by_file(client, app, signed_in):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><gpx>&b;</gpx>')
    archive = zipped({
        "activities/good.gpx": gpx(60),
        "activities/bomb.gpx": bomb,
        "../../etc/evil.gpx": gpx(60, START + timedelta(days=3)),
        "activities/broken.fit": (DATA / "invalid-filecrc.fit").read_bytes(),
        "activities/cut.gpx": gpx(60)[:500],
    })
    job = finished(app, import_id_of(upload(client, archive, "mixed.zip")))
    assert (job.added, job.refused) == (1, 4)
    messages = {e.name: e.message for e in stored(app, ImportEntry, outcome="refused")}
    assert "DOCTYPE" in messages["activities/bomb.gpx"]
    assert "outside the archive" in messages["../../etc/evil.gpx"]
    assert "checksum" in messages["activities/broken.fit"]
    assert "well-formed" in messages["activities/cut.gpx"]
    page = client.get(f"/workouts/imports/{job.id}").data.decode()
    assert "1 workout added, 0 skipped as duplicates, 4 refused." in page
    assert "outside the archive" in page


def test_not_a_workout_file_fails_the_import_with_a_message(client, app, signed_in):
    job = finished(app, import_id_of(upload(client, b"hello", "notes.txt")))
    assert job.status == "failed" and "not a workout file" in job.error
    [note] = stored(app, Notification, kind="import_finished")
    assert note.title == "Import failed"


@pytest.mark.one_database
def test_uploads_need_a_file_and_stay_under_50_mb(client, app, signed_in):
    response = client.post("/workouts/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and b"Choose a .gpx" in response.data
    big = b"<gpx>" + b" " * (50 * 1024 * 1024 + 10)
    assert upload(client, big, "big.gpx").status_code == 413
    assert list(Path(app.config["IMPORT_DIR"]).glob("*")) == []


def test_someone_elses_import_is_404(client, app, auth):
    auth.register()
    job = finished(app, import_id_of(upload(client, gpx(60), "a.gpx")))
    auth.logout()
    auth.register(username="bob", email="bob@example.com")
    assert client.get(f"/workouts/imports/{job.id}").status_code == 404


def test_the_route_partial_draws_the_track_and_figures_in_the_unit(client, app, signed_in):
    client.post("/settings/", data={"timezone": "UTC", "units": "imperial"})
    job = finished(app, import_id_of(upload(client, gpx(1200, step_m=4.0), "tempo.gpx")))
    [workout] = stored(app, Workout)
    with app.test_request_context():
        user = db.session.get(User, workout.user_id)
        user.login_token = "test"
        login_user(user)
        html = render_template_string('{% include "workouts/_route.html" %}',
                                      workout=db.session.get(Workout, workout.id))
    assert '<svg class="route-map" viewBox="0 0 320 200" role="img"' in html
    assert 'd="M' in html and "<title>Start</title>" in html
    # 1199 steps of 4 m: 4.8 km = 3.0 mi in 20 min: 6:40 a mile.
    assert '<dd id="figure-moving">20 min</dd>' in html
    assert '<dd id="figure-pace">6:4' in html and "/mi</dd>" in html
    assert 'id="figure-elevation">' in html and " ft</dd>" in html
    assert job.added == 1


def test_the_export_carries_each_track_as_gpx(client, app, signed_in):
    finished(app, import_id_of(upload(client, gpx(300), "run.gpx")))
    document = json.loads(client.get("/settings/export").data)
    [track] = document["tracks"]
    parsed = gpxpy.parse(track["gpx"])
    assert parsed.tracks[0].name == "Morning Run" and parsed.tracks[0].type == "run"
    points = parsed.tracks[0].segments[0].points
    assert 2 <= len(points) <= 500 and points[0].latitude == pytest.approx(48.85, abs=1e-4)
    assert points[0].time is not None


def test_a_large_upload_streams_through_in_chunks(client, app, signed_in):
    # Megabytes: far above the 64 KB every other form is held to.
    content = gpx(20_000)
    assert len(content) > 1024 * 1024
    job = finished(app, import_id_of(upload(client, content, "long.gpx")))
    assert job.added == 1
    [track] = stored(app, WorkoutTrack)
    assert track.points == 20_000


def test_imports_are_limited_per_user(database, tmp_path):
    with built_app(database, IMPORT_DIR=str(tmp_path / "up"), RATELIMIT_IMPORT="2 per hour") as app:
        client = app.test_client()
        client.post("/auth/register", data={"username": "ann", "email": "ann@example.com",
                                             "password": "password1", "confirm": "password1"})
        first = [import_id_of(upload(client, gpx(30, START + timedelta(days=i)), f"{i}.gpx"))
                 for i in range(2)]
        refused = upload(client, gpx(30), "third.gpx")
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        assert b"many imports this hour" in refused.data
        for import_id in first:
            finished(app, import_id)


def test_progress_reaches_only_the_importers_connections(app, client, signed_in):
    other = signed_in_client(app, "bob")
    mine = socketio.test_client(app, flask_test_client=client)
    theirs = socketio.test_client(app, flask_test_client=other)
    mine.get_received()
    theirs.get_received()
    job = finished(app, import_id_of(upload(client, strava_export(3), "e.zip")))
    assert events(mine, "import_progress")[-1] == {"import_id": job.id, "done": 3, "total": 3,
                                                  "unit": "files"}
    assert [e["name"] for e in theirs.get_received()] == []
    mine.disconnect()
    theirs.disconnect()


def test_an_import_of_thousands_lists_its_files_in_pages(client, app, signed_in):
    with app.app_context():
        user = db.session.scalar(db.select(User))
        job = rows.create(user.id, "export.zip", "/nowhere")
        job.total = 250
        db.session.commit()
        for position in range(250):
            rows.record(job.id, position, f"activities/{position}.csv.gpx", None, "Not a GPX file.")
        rows.finish(job.id)
        import_id = job.id
    first = client.get(f"/workouts/imports/{import_id}").data.decode()
    assert first.count('data-outcome="refused"') == 200
    assert "Page 1 of 2" in first and f"/workouts/imports/{import_id}?page=2" in first
    second = client.get(f"/workouts/imports/{import_id}?page=2").data.decode()
    assert second.count('data-outcome="refused"') == 50 and "activities/249.csv.gpx" in second
