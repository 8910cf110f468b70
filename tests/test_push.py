"""Web Push end to end in-process: subscribe, complete a workout, read what the push service got.

The app sends to the local push service (tests/pushservice.py), which checks
the VAPID JWT, the headers and the encryption as a real one would, and
decrypts each message with the subscription's private key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from deploy.processes import wait_until
from fitness_app.extensions import db, socketio
from fitness_app.models import Goal, PushDevice, User
from fitness_app.services.push import fanout, keys
from tests.conftest import AuthActions, built_app, log_workout, signed_in_client
from tests.pushservice import PushService


@pytest.fixture
def app(database: str, push_service: PushService) -> Iterator[Flask]:
    with built_app(database, PUSH_SERVICES=[push_service.origin]) as app:
        yield app


def subscribe(client: FlaskClient, subscription: dict, user_agent: str = "") -> tuple[int, dict]:
    response = client.post("/push/subscriptions", json=subscription,
                           headers={"User-Agent": user_agent} if user_agent else {})
    return response.status_code, response.get_json()


def device_ids(app: Flask, username: str) -> set[str]:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        return set(db.session.scalars(
            sa.select(PushDevice.id).where(PushDevice.user_id == user.id)))


def test_a_completed_workout_reaches_the_device_as_the_socket_event(app, push_service):
    ann = signed_in_client(app, "ann")
    phone = push_service.subscription()
    status, body = subscribe(ann, phone)
    assert status == 201
    socket = socketio.test_client(app, flask_test_client=ann)
    socket.get_received()
    log_workout(ann, title="Hill repeats", distance_km="8", duration_minutes="45")
    [event] = [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]
    [push] = push_service.wait(lambda s: s.for_(phone))
    assert push.payload == event
    assert push.payload["message"] == "Hill repeats, 8 km in 45 min"
    assert 3600 <= push.ttl <= 28 * 24 * 3600
    assert push.urgency == "normal"
    with app.app_context():
        assert push.vapid_key == keys.of_app(app).public_key
        assert push.claims["sub"] == app.config["VAPID_SUBJECT"]
    wait_until(lambda: "Last used not yet" not in ann.get("/settings/devices").get_data(
        as_text=True), timeout=10, message="the device's last use on the devices page")


def test_one_push_per_action_listing_what_else_happened(app, push_service):
    ann = signed_in_client(app, "ann")
    phone = push_service.subscription()
    subscribe(ann, phone)
    ann.post("/goals/new", data={"kind": "workouts", "target": "1", "period": "week"})
    log_workout(ann, title="Tempo run")
    [push] = push_service.wait(lambda s: s.for_(phone))
    fanout_of(app).wait_idle(10)
    assert len(push_service.for_(phone)) == 1
    assert push.payload["kind"] == "workout_completed"
    lines = push.payload["message"].split("\n")
    assert lines[0].startswith("Tempo run")
    assert any(line.startswith("Goal achieved") for line in lines[1:]), lines


def fanout_of(app: Flask) -> fanout.Fanout:
    with app.app_context():
        return fanout.current()


def test_a_connected_device_hears_its_socket_and_gets_no_push(app, push_service):
    ann = signed_in_client(app, "ann")
    laptop, phone = push_service.subscription(), push_service.subscription()
    _, laptop_device = subscribe(ann, laptop)
    _, phone_device = subscribe(ann, phone)
    socket = socketio.test_client(app, flask_test_client=ann, auth={"device": laptop_device["id"]})
    assert socket.is_connected()
    log_workout(ann, title="First")
    push_service.wait(lambda s: s.for_(phone))
    fanout_of(app).wait_idle(10)
    assert push_service.for_(laptop) == []
    socket.disconnect()
    log_workout(ann, title="Second")
    [second] = push_service.wait(lambda s: s.for_(laptop))
    assert second.payload["message"].startswith("Second")
    push_service.wait(lambda s: len(s.for_(phone)) == 2)


def test_a_device_of_another_login_cannot_silence_pushes(app, push_service):
    ann_phone = signed_in_client(app, "ann")
    phone = push_service.subscription()
    _, device = subscribe(ann_phone, phone)
    ann_laptop = app.test_client()
    AuthActions(ann_laptop).login()
    socket = socketio.test_client(app, flask_test_client=ann_laptop, auth={"device": device["id"]})
    assert socket.is_connected()
    log_workout(ann_laptop, title="Laptop run")
    [push] = push_service.wait(lambda s: s.for_(phone))
    assert push.payload["message"].startswith("Laptop run")


def test_silent_notifications_are_not_pushed(app, push_service):
    ann = signed_in_client(app, "ann")
    phone = push_service.subscription()
    subscribe(ann, phone)
    ann.post("/settings/", data={"timezone": "UTC", "muted": ["workout_completed"]})
    log_workout(ann, title="Muted run")
    ann.post("/settings/", data={"timezone": "UTC"})
    log_workout(ann, title="Loud run")
    [push] = push_service.wait(lambda s: s.for_(phone))
    assert push.payload["message"].startswith("Loud run")
    fanout_of(app).wait_idle(10)
    assert len(push_service.for_(phone)) == 1


def test_an_announcement_reaches_every_users_devices(app, push_service):
    admin = signed_in_client(app, "root", admin=True)
    phones = []
    for name in ("ann", "bob"):
        client = signed_in_client(app, name)
        phones.append(push_service.subscription())
        subscribe(client, phones[-1])
    admin.post("/admin/broadcast", data={"message": "Pool closed on Sunday"})
    for phone in phones:
        [push] = push_service.wait(lambda s, phone=phone: s.for_(phone))
        assert push.payload["kind"] == "announcement"
        assert push.payload["message"] == "Pool closed on Sunday"


def test_a_forgotten_device_is_deleted(app, push_service):
    ann = signed_in_client(app, "ann")
    gone, kept = push_service.subscription(), push_service.subscription()
    subscribe(ann, gone)
    subscribe(ann, kept)
    push_service.answer(gone, 410)
    log_workout(ann)
    push_service.wait(lambda s: s.for_(kept))
    service = fanout_of(app)
    assert service.wait_idle(10)
    wait_until(lambda: len(device_ids(app, "ann")) == 1, timeout=10, message="410 deletes")


def test_429_is_tried_again_after_retry_after(app, push_service):
    ann = signed_in_client(app, "ann")
    phone = push_service.subscription()
    subscribe(ann, phone)
    push_service.answer(phone, 429, 503, retry_after="1")
    log_workout(ann, title="Busy service")
    [push] = push_service.wait(lambda s: s.for_(phone))
    assert push.payload["message"].startswith("Busy service")
    token = push_service.token_of(phone)
    times = [when for t, when, _ in push_service.attempts if t == token]
    statuses = [status for t, _, status in push_service.attempts if t == token]
    assert statuses == [429, 503, 201]
    assert all(later - earlier >= 0.99 for earlier, later in zip(times, times[1:], strict=False))


def test_403_is_our_error_and_deletes_nothing(app, push_service, caplog):
    ann = signed_in_client(app, "ann")
    phone = push_service.subscription()
    subscribe(ann, phone)
    push_service.answer(phone, 403)
    log_workout(ann)
    push_service.wait(lambda s: any(t == s.token_of(phone) for t, _, _ in s.attempts))
    assert fanout_of(app).wait_idle(10)
    assert len(device_ids(app, "ann")) == 1
    assert any("refused our request" in r.getMessage() and r.levelname == "ERROR"
               for r in caplog.records)


def test_goal_fixture_sanity(app):
    """The goal route used above stores a goal (guards the grouping test against a silent no-op)."""
    ann = signed_in_client(app, "ann")
    ann.post("/goals/new", data={"kind": "workouts", "target": "1", "period": "week"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Goal)) == 1


def counted_and_stored(app: Flask, *usernames: str) -> list[tuple[int, int]]:
    """Per user, (`push_devices_count`, the devices actually stored)."""
    with app.app_context():
        found = []
        for name in usernames:
            user = db.session.scalar(sa.select(User).where(User.username == name))
            found.append((user.push_devices_count, len(device_ids(app, name))))
        return found


def test_the_device_counter_follows_every_way_a_device_comes_and_goes(app, push_service):
    """A delivery hands nothing to the dispatchers for a user whose counter says no devices,
    so the counter must never be lower than the rows: checked after each way they change."""
    ann_phone, bob = signed_in_client(app, "ann"), signed_in_client(app, "bob")
    ann_laptop = app.test_client()
    AuthActions(ann_laptop).login()
    phone, laptop, tablet = (push_service.subscription() for _ in range(3))
    assert counted_and_stored(app, "ann", "bob") == [(0, 0), (0, 0)]

    _, first = subscribe(ann_phone, phone)
    subscribe(ann_phone, phone)  # the same browser again: the same device
    subscribe(ann_laptop, laptop)
    subscribe(ann_laptop, tablet)
    assert counted_and_stored(app, "ann") == [(3, 3)]

    assert ann_phone.delete(f"/push/subscriptions/{first['id']}").status_code == 204
    assert counted_and_stored(app, "ann") == [(2, 2)]

    subscribe(bob, tablet)  # the tablet now belongs to bob, who signed in on it
    assert counted_and_stored(app, "ann", "bob") == [(1, 1), (1, 1)]

    push_service.answer(tablet, 410)  # the push service forgot it
    log_workout(bob, title="Forgotten")
    wait_until(lambda: counted_and_stored(app, "bob") == [(0, 0)], timeout=10,
               message="410 deletes the device and counts it out")

    AuthActions(ann_laptop).logout()  # the laptop's login ends, and its device with it
    assert counted_and_stored(app, "ann") == [(0, 0)]

    subscribe(ann_phone, phone)
    log_workout(ann_phone, title="Counted again")
    [push] = push_service.wait(lambda s: [p for p in s.for_(phone)
                                          if p.payload["message"].startswith("Counted again")])
    assert push.payload["kind"] == "workout_completed"
    assert ann_phone.post("/auth/logout-everywhere").status_code == 302
    assert counted_and_stored(app, "ann") == [(0, 0)]
