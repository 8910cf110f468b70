"""/settings/, the registration time zone, and what the user's settings change.

Flows go through the forms over HTTP and arrive through Flask-SocketIO's test
client, as a browser's socket would see them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import User
from fitness_app.services import timezones
from tests.conftest import AuthActions, log_workout, make_admin

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14
KOLKATA = "Asia/Kolkata"  # UTC+05:30


def settings(client: FlaskClient, **fields: object):
    data = {"timezone": "UTC", "quiet_start": "", "quiet_end": "", **fields}
    return client.post("/settings/", data=data)


def connect(app: Flask, client: FlaskClient):
    socket = socketio.test_client(app, flask_test_client=client)
    socket.get_received()
    return socket


def notes(socket) -> list[dict]:
    return [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]


def stored_user(app: Flask, username: str = "ann") -> User:
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(username=username))
        db.session.expunge(user)
        return user


@pytest.fixture
def signed_in(auth: AuthActions) -> AuthActions:
    auth.register()
    return auth


def test_settings_page_has_every_labelled_field_and_the_system_button(client, signed_in):
    page = client.get("/settings/").data.decode()
    for name, label in [("timezone", "Time zone"), ("quiet_start", "Quiet hours start"),
                        ("quiet_end", "Quiet hours end")]:
        assert f'<label for="{name}">{label}</label>' in page
    for index, label in enumerate(["Workout completed", "Goal achieved", "Personal record",
                                   "Streak"]):
        assert f'<label for="muted-{index}">{label}</label>' in page
    assert 'value="announcement"' not in page
    assert 'id="enable-system-notifications"' in page
    assert 'href="/settings/"' in client.get("/").data.decode()


def test_settings_need_a_login(client):
    response = client.get("/settings/")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_settings_are_saved_and_shown_again(app, client, signed_in):
    response = settings(client, timezone="Pacific/Auckland", quiet_start="22:00",
                        quiet_end="07:00", muted=["streak", "goal_achieved"])
    assert response.status_code == 302 and response.location.endswith("/settings/")
    user = stored_user(app)
    assert user.timezone == "Pacific/Auckland"
    assert (user.quiet_start.isoformat(), user.quiet_end.isoformat()) == ("22:00:00", "07:00:00")
    assert user.muted == "goal_achieved,streak"
    page = client.get("/settings/").data.decode()
    assert 'value="Pacific/Auckland"' in page
    assert 'value="22:00"' in page and 'value="07:00"' in page
    assert page.count("checked") == 2

    settings(client, timezone="UTC")
    user = stored_user(app)
    assert (user.quiet_start, user.quiet_end, user.muted) == (None, None, "")


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "Enter a time zone such as Europe/Paris"),
        ({"timezone": ""}, "Enter a time zone such as Europe/Paris."),
        ({"quiet_start": "22:00"}, "Give both a start and an end, or neither."),
        ({"quiet_end": "07:00"}, "Give both a start and an end, or neither."),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "Enter a time."),
        ({"muted": ["announcement"]}, "not a valid choice"),
    ],
)
def test_bad_settings_get_400_with_a_message(app, client, signed_in, fields, message):
    response = settings(client, **fields)
    assert response.status_code == 400
    assert message in response.data.decode()
    assert stored_user(app).timezone == "UTC"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("Pacific/Auckland", "Pacific/Auckland"), ("Nowhere/Land", "UTC"), (None, "UTC")],
)
def test_registration_takes_the_browsers_zone_or_utc(app, client, sent, stored):
    data = {"username": "ann", "email": "ann@example.com", "password": "password1",
            "confirm": "password1"}
    if sent is not None:
        data["timezone"] = sent
    assert client.post("/auth/register", data=data).status_code == 302
    assert stored_user(app).timezone == stored


def test_register_page_has_the_hidden_zone_field_and_its_script(client):
    page = client.get("/auth/register").data.decode()
    assert '<input id="timezone" name="timezone" type="hidden" value="">' in page
    assert "/static/js/timezone.js" in page


def test_workout_date_defaults_to_the_users_today_and_allows_their_tomorrow(client, signed_in):
    settings(client, timezone=KIRITIMATI)
    today = timezones.local_today(KIRITIMATI)
    assert f'value="{today.isoformat()}"' in client.get("/workouts/new").data.decode()
    tomorrow = today + timedelta(days=1)
    assert log_workout(client, performed_on=tomorrow.isoformat()).status_code == 302
    too_late = log_workout(client, performed_on=(tomorrow + timedelta(days=1)).isoformat())
    assert too_late.status_code == 400
    assert "The date can be no later than tomorrow." in too_late.data.decode()


def test_inbox_shows_times_in_the_users_zone(app, client, signed_in):
    log_workout(client)
    settings(client, timezone=KOLKATA)
    created = client.get("/api/notifications").json["notifications"][0]["created_at"]
    local = timezones.local_time(datetime.fromisoformat(created), KOLKATA)
    page = client.get("/notifications/").data.decode()
    assert local.strftime("%H:%M IST") in page


def test_a_muted_kind_arrives_silent_and_is_still_stored_and_counted(app, client, signed_in):
    settings(client, muted=["workout_completed"])
    socket = connect(app, client)
    log_workout(client, title="Muted run")
    events = socket.get_received()
    [note] = [e["args"][0] for e in events if e["name"] == "notification"]
    assert note["kind"] == "workout_completed" and note["silent"] is True
    assert [e["args"][0] for e in events if e["name"] == "unread_count"] == [{"count": 1}]
    api = client.get("/api/notifications").json
    assert api["unread"] == 1 and api["notifications"][0]["silent"] is True
    assert "Muted run" in client.get("/notifications/").data.decode()

    settings(client)
    log_workout(client, title="Loud run")
    assert [n["silent"] for n in notes(socket)] == [False]


def test_quiet_hours_silence_everything_but_announcements(app, client, signed_in):
    zone = "Pacific/Honolulu"
    now = timezones.local_now(zone)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    settings(client, timezone=zone, quiet_start=f"{start:%H:%M}", quiet_end=f"{end:%H:%M}")
    socket = connect(app, client)
    log_workout(client)
    assert [(n["kind"], n["silent"]) for n in notes(socket)] == [("workout_completed", True)]

    admin = app.test_client()
    AuthActions(admin).register(username="boss", email="boss@example.com")
    make_admin(app, "boss@example.com")
    admin.post("/admin/broadcast", data={"message": "Gym closed tomorrow"})
    assert [(n["kind"], n["silent"]) for n in notes(socket)] == [("announcement", False)]
    assert client.get("/api/notifications").json["unread"] == 2
