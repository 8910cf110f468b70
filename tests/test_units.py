"""Kilometres or miles: the conversions, and every distance an imperial user reads or types.

Distances stay stored in km; only pages, forms and the messages written for a
user change with their `units` setting.
"""

from __future__ import annotations

import pytest

from fitness_app.extensions import db, socketio
from fitness_app.models import Goal, Notification, User, Workout
from fitness_app.services import units
from tests.conftest import log_workout


def test_a_mile_is_exactly_1_609344_km():
    assert units.to_km(1, units.IMPERIAL) == 1.609344
    assert units.from_km(1.609344, units.IMPERIAL) == 1
    assert units.to_km(5, units.METRIC) == 5


@pytest.mark.parametrize(("km", "unit", "text"), [
    (6.2, units.METRIC, "6.2 km"),
    (10, units.METRIC, "10 km"),
    (10, units.IMPERIAL, "6.2 mi"),
    (160.9344, units.IMPERIAL, "100 mi"),
    (42.195, units.IMPERIAL, "26.2 mi"),
    (0.04, units.METRIC, "0 km"),
])
def test_distances_read_in_the_unit(km, unit, text):
    assert units.distance(km, unit) == text


def test_pace_per_km_or_per_mile_and_speed():
    assert units.pace(25 * 60, 5, units.METRIC) == "5:00 /km"
    assert units.pace(25 * 60, 5, units.IMPERIAL) == "8:03 /mi"
    assert units.pace(600, 0, units.METRIC) is None
    assert units.speed(3600, 30, units.METRIC) == "30.0 km/h"
    assert units.speed(3600, 30, units.IMPERIAL) == "18.6 mph"


def test_unknown_or_missing_units_read_as_metric():
    assert units.of(None) == units.METRIC
    assert units.of(User(units="furlongs")) == units.METRIC


def imperial(client) -> None:
    response = client.post("/settings/", data={"timezone": "UTC", "units": "imperial"})
    assert response.status_code == 302


def stored(app, model, **filters):
    with app.app_context():
        return db.session.scalars(db.select(model).filter_by(**filters)).all()


def test_settings_has_the_units_field_and_keeps_it_when_left_out(client, app, signed_in):
    page = client.get("/settings/").data.decode()
    assert '<label for="units">Units</label>' in page
    assert 'value="metric"' in page and 'value="imperial"' in page
    imperial(client)
    assert stored(app, User)[0].units == "imperial"
    # A client that does not know the field leaves the choice as it was.
    client.post("/settings/", data={"timezone": "Europe/Paris"})
    assert stored(app, User)[0].units == "imperial"
    bad = client.post("/settings/", data={"timezone": "UTC", "units": "leagues"})
    assert bad.status_code == 400


def test_imperial_user_types_and_reads_miles_everywhere(client, app, signed_in):
    imperial(client)
    form = client.get("/workouts/new").data.decode()
    assert '<label for="distance_mi">Distance (mi)</label>' in form
    assert 'name="distance_km"' not in form
    socket = socketio.test_client(app, flask_test_client=client)
    socket.get_received()

    response = log_workout(client, distance_km=None, distance_mi="3.1", title="Parkrun")
    assert response.status_code == 302
    [workout] = stored(app, Workout)
    assert workout.distance_km == pytest.approx(3.1 * 1.609344)
    [note] = [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]
    assert note["message"] == "Parkrun, 3.1 mi in 31 min"
    assert "3.1 mi" in client.get("/workouts/").data.decode()

    edit = client.get(f"/workouts/{workout.id}/edit").data.decode()
    assert 'name="distance_mi"' in edit and 'value="3.1"' in edit

    # The metric name still works from any client, and a longer run is a record in miles.
    log_workout(client, distance_km="10", title="Long one")
    records = [n for n in stored(app, Notification) if n.kind == "personal_record"]
    assert records[0].message == "Longest run yet: 6.2 mi, 3.1 mi more than before"
    assert records[0].data["value"] == 10  # machine-readable figures stay in km
    assert "Run: 6.2 mi" in client.get("/").data.decode()
    socket.disconnect()


def test_imperial_distance_goals_are_set_and_shown_in_miles(client, app, signed_in):
    imperial(client)
    form = client.get("/goals/new").data.decode()
    assert "Distance (mi)" in form and "Distance (km)" not in form
    client.post("/goals/new", data={"kind": "distance_km", "target": "5", "period": "week"})
    [goal] = stored(app, Goal)
    assert goal.target == pytest.approx(5 * 1.609344)
    page = client.get("/goals/").data.decode()
    assert "5 mi this week" in page and "0 / 5 mi" in page
    assert 'value="5"' in client.get(f"/goals/{goal.id}/edit").data.decode()

    log_workout(client, distance_km=None, distance_mi="5.5")
    achieved = [n for n in stored(app, Notification) if n.kind == "goal_achieved"]
    assert [n.message for n in achieved] == ["5 mi this week"]
    assert "5.5 / 5 mi" in client.get("/goals/").data.decode()


def test_metric_stays_in_km(client, app, signed_in):
    form = client.get("/workouts/new").data.decode()
    assert '<label for="distance_km">Distance (km)</label>' in form
    log_workout(client, distance_km=None, distance_mi="1")  # a client may send miles
    [workout] = stored(app, Workout)
    assert workout.distance_km == pytest.approx(1.609344)
    assert "1.6 km" in client.get("/workouts/").data.decode()
