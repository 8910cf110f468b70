"""Workouts through the forms: log, plan, complete, edit, delete, and bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fitness_app.extensions import db
from fitness_app.models import Notification, Workout
from tests.conftest import log_workout


def workouts(app) -> list[Workout]:
    with app.app_context():
        return list(db.session.scalars(db.select(Workout).order_by(Workout.id)))


def notifications(app) -> list[Notification]:
    with app.app_context():
        return list(db.session.scalars(db.select(Notification).order_by(Notification.id)))


def test_log_completed_workout_notifies(client, app, signed_in):
    response = log_workout(client)
    assert response.status_code == 302
    [workout] = workouts(app)
    assert workout.completed
    [note] = notifications(app)
    assert note.kind == "workout_completed"
    assert note.message == "Tempo run, 6.2 km in 31 min"
    page = client.get("/workouts/").data
    assert b"Tempo run" in page and b"Completed" in page


def test_plan_then_complete_once(client, app, signed_in):
    log_workout(client, completed=None, title="Long run")
    [workout] = workouts(app)
    assert not workout.completed
    assert notifications(app) == []
    assert client.post(f"/workouts/{workout.id}/complete").status_code == 302
    assert client.post(f"/workouts/{workout.id}/complete").status_code == 302
    assert workouts(app)[0].completed
    assert [n.kind for n in notifications(app)] == ["workout_completed"]


def test_complete_someone_elses_workout_is_404(client, app, auth):
    auth.register()
    log_workout(client, completed=None)
    auth.logout()
    auth.register(username="bob", email="bob@example.com")
    [workout] = workouts(app)
    assert client.post(f"/workouts/{workout.id}/complete").status_code == 404
    assert client.get(f"/workouts/{workout.id}/edit").status_code == 404
    assert client.post(f"/workouts/{workout.id}/delete").status_code == 404
    assert not workouts(app)[0].completed


def test_list_is_newest_first_and_paginated(client, app, signed_in):
    today = date.today()
    for offset in range(25):
        log_workout(client, title=f"Day {offset}", performed_on=today - timedelta(days=offset))
    first = client.get("/workouts/").data.decode()
    assert first.index("Day 0<") < first.index("Day 1<")
    assert "Day 24<" not in first
    assert "Page 1 of 2" in first
    second = client.get("/workouts/?page=2").data.decode()
    assert "Day 24<" in second


def test_edit_and_delete(client, app, signed_in):
    log_workout(client)
    [workout] = workouts(app)
    response = client.post(
        f"/workouts/{workout.id}/edit",
        data={"title": "Easy run", "activity": "run", "duration_minutes": "40",
              "distance_km": "", "performed_on": workout.performed_on.isoformat()},
    )
    assert response.status_code == 302
    [edited] = workouts(app)
    assert (edited.title, edited.duration_minutes, edited.distance_km) == ("Easy run", 40, None)
    assert edited.completed
    assert client.post(f"/workouts/{workout.id}/delete").status_code == 302
    assert workouts(app) == []


TOMORROW = date.today() + timedelta(days=1)


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Give the workout a title."),
        ("title", "x" * 121, "Keep the title to 120 characters."),
        ("activity", "dance", "Choose one of the options."),
        ("duration_minutes", "", "Enter the duration in whole minutes."),
        ("duration_minutes", "0", "Enter a duration from 1 to 1440 minutes."),
        ("duration_minutes", "1441", "Enter a duration from 1 to 1440 minutes."),
        ("duration_minutes", "-5", "Enter a duration from 1 to 1440 minutes."),
        ("duration_minutes", "abc", "Enter a whole number."),
        ("duration_minutes", "12.5", "Enter a whole number."),
        ("duration_minutes", "nan", "Enter a whole number."),
        ("duration_minutes", "inf", "Enter a whole number."),
        ("distance_km", "-1", "Enter a distance from 0 to 1000 km."),
        ("distance_km", "1000.5", "Enter a distance from 0 to 1000 km."),
        ("distance_km", "abc", "Enter a number."),
        ("distance_km", "nan", "Enter a distance from 0 to 1000 km."),
        ("distance_km", "inf", "Enter a distance from 0 to 1000 km."),
        ("distance_km", "-inf", "Enter a distance from 0 to 1000 km."),
        ("performed_on", "", "Enter the date."),
        ("performed_on", "not-a-date", "Enter a date."),
        ("performed_on", (TOMORROW + timedelta(days=1)).isoformat(),
         "The date can be no later than tomorrow."),
    ],
)
def test_bad_workout_input_gets_a_400_and_a_message(client, app, signed_in, field, value,
                                                     message):
    response = log_workout(client, **{field: value})
    assert response.status_code == 400
    assert message in response.data.decode()
    assert workouts(app) == []


def test_tomorrow_is_allowed(client, app, signed_in):
    assert log_workout(client, performed_on=TOMORROW.isoformat(), completed=None).status_code == 302


def test_bad_edit_gets_a_400(client, app, signed_in):
    log_workout(client)
    [workout] = workouts(app)
    response = client.post(
        f"/workouts/{workout.id}/edit",
        data={"title": "x", "activity": "run", "duration_minutes": "inf",
              "distance_km": "1", "performed_on": date.today().isoformat()},
    )
    assert response.status_code == 400
    assert workouts(app)[0].duration_minutes == 31


def test_workout_form_labels(client, signed_in):
    page = client.get("/workouts/new").data.decode()
    for field, label in [("title", "Title"), ("activity", "Activity"),
                         ("duration_minutes", "Duration (minutes)"),
                         ("distance_km", "Distance (km)"), ("performed_on", "Date"),
                         ("completed", "Completed")]:
        assert f'<label for="{field}">{label}</label>' in page
    for activity in ["run", "ride", "swim", "walk", "strength", "yoga", "other"]:
        assert f'value="{activity}"' in page
