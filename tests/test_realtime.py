"""Socket.IO through Flask-SocketIO's test client, with the login cookie at connect."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import Notification, User, Workout
from fitness_app.signals import workout_completed
from tests.conftest import AuthActions, log_workout, signed_in_client


def connect(app: Flask, client: FlaskClient, last_id: int | None = None):
    auth = {"last_id": last_id} if last_id is not None else None
    return socketio.test_client(app, flask_test_client=client, auth=auth)


def received(socket, name: str) -> list[dict]:
    return [event["args"][0] for event in socket.get_received() if event["name"] == name]


def test_anonymous_connection_is_refused(app, client):
    socket = connect(app, client)
    assert not socket.is_connected()


def test_connect_sends_the_unread_count(app, client, auth):
    auth.register()
    log_workout(client)
    socket = connect(app, client)
    assert socket.is_connected()
    assert received(socket, "unread_count") == [{"count": 1}]


def test_a_user_receives_only_their_own_notifications(app):
    ann = signed_in_client(app, "ann")
    bob = signed_in_client(app, "bob")
    ann_socket, ann_tab2, bob_socket = connect(app, ann), connect(app, ann), connect(app, bob)
    for socket in (ann_socket, ann_tab2, bob_socket):
        socket.get_received()
    log_workout(ann, title="Hill repeats", distance_km="8", duration_minutes="45")
    for socket in (ann_socket, ann_tab2):
        events = socket.get_received()
        assert [e["name"] for e in events] == ["notification", "unread_count"]
        note = events[0]["args"][0]
        assert note["kind"] == "workout_completed"
        assert note["message"] == "Hill repeats, 8 km in 45 min"
        assert note["title"] == "Workout completed"
        assert note["created_at"].endswith("Z")
        assert isinstance(note["id"], int) and note["data"]["workout_id"] >= 1
        assert events[1]["args"][0] == {"count": 1}
    assert bob_socket.get_received() == []


def test_replay_from_last_id_oldest_first_then_live(app, client, auth):
    auth.register()
    for title in ["One", "Two", "Three"]:
        log_workout(client, title=title)
    first_id = client.get("/api/notifications").json["notifications"][0]["id"]
    socket = connect(app, client, last_id=first_id)
    replayed = received(socket, "notification")
    assert [n["message"].split(",")[0] for n in replayed] == ["Two", "Three"]
    assert replayed[0]["id"] < replayed[1]["id"]
    log_workout(client, title="Four")
    assert [n["message"] for n in received(socket, "notification")] == [
        "Four, 6.2 km in 31 min"]


def test_replay_is_capped_at_one_hundred(app, client, auth):
    auth.register()
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).filter_by(email="ann@example.com"))
        for i in range(105):
            db.session.add(Notification(user_id=user_id, kind="workout_completed",
                                        title="Workout completed", message=f"n{i}"))
        db.session.commit()
    replayed = received(connect(app, client, last_id=0), "notification")
    assert [n["message"] for n in replayed] == [f"n{i}" for i in range(100)]


@pytest.mark.one_database
@pytest.mark.parametrize("last_id", ["7", -1, True, 1.5, None])
def test_a_malformed_last_id_replays_nothing_but_connects(app, client, auth, last_id):
    auth.register()
    log_workout(client)
    socket = socketio.test_client(app, flask_test_client=client, auth={"last_id": last_id})
    assert socket.is_connected()
    assert received(socket, "notification") == []


def test_mark_read_acks_and_updates_every_connection(app):
    ann = signed_in_client(app, "ann")
    bob = signed_in_client(app, "bob")
    log_workout(ann)
    log_workout(ann)
    log_workout(bob)
    ann_ids = [n["id"] for n in ann.get("/api/notifications").json["notifications"]]
    bob_id = bob.get("/api/notifications").json["notifications"][0]["id"]
    ann_socket, ann_tab2 = connect(app, ann), connect(app, ann)
    ann_socket.get_received()
    ann_tab2.get_received()

    assert ann_socket.emit("mark_read", {"id": ann_ids[0]}, callback=True) == {"ok": True}
    assert received(ann_tab2, "unread_count") == [{"count": 1}]
    assert received(ann_socket, "unread_count") == [{"count": 1}]
    # Reading it again is fine and changes nothing.
    assert ann_socket.emit("mark_read", {"id": ann_ids[0]}, callback=True) == {"ok": True}
    assert received(ann_tab2, "unread_count") == []

    ack = ann_socket.emit("mark_read", {"id": bob_id}, callback=True)
    assert ack == {"ok": False, "error": "no such notification"}
    assert bob.get("/api/notifications").json["unread"] == 1
    assert ann_socket.is_connected()


@pytest.mark.one_database
@pytest.mark.parametrize(
    "payload", [{"id": "abc"}, {"id": None}, {"id": -1}, {"id": 0}, {"id": True},
                {"id": 1.5}, {}, [], "1", None, {"id": 10**30}]
)
def test_mark_read_with_a_malformed_id(app, client, auth, payload):
    auth.register()
    socket = connect(app, client)
    ack = socket.emit("mark_read", payload, callback=True)
    assert ack["ok"] is False
    assert ack["error"]
    assert socket.is_connected()


def test_unread_counts_follow_new_and_read_notifications(app, client, auth):
    auth.register()
    socket = connect(app, client)
    socket.get_received()
    log_workout(client)
    log_workout(client)
    assert received(socket, "unread_count") == [{"count": 1}, {"count": 2}]
    client.post("/notifications/read-all")
    assert received(socket, "unread_count") == [{"count": 0}]


def test_a_rolled_back_completion_emits_nothing(app, client, auth):
    auth.register()
    log_workout(client, completed=None)
    socket = connect(app, client)
    socket.get_received()
    with app.app_context():
        workout_id = db.session.scalar(db.select(Workout.id))

    def fail(sender, **extra):
        raise RuntimeError("goal evaluation failed")

    workout_completed.connect(fail)
    try:
        with pytest.raises(RuntimeError, match="goal evaluation failed"):
            client.post(f"/workouts/{workout_id}/complete")
    finally:
        workout_completed.disconnect(fail)
    assert socket.get_received() == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0
        assert db.session.get(Workout, workout_id).completed_at is None
    # Once the fault is gone the same completion goes through and notifies.
    client.post(f"/workouts/{workout_id}/complete")
    assert len(received(socket, "notification")) == 1


def test_logout_disconnects_only_that_sessions_sockets(app):
    laptop = signed_in_client(app, "ann")
    phone = app.test_client()
    AuthActions(phone).login()
    laptop_socket, laptop_tab2, phone_socket = (
        connect(app, laptop), connect(app, laptop), connect(app, phone))
    assert AuthActions(laptop).logout().status_code == 302
    assert not laptop_socket.is_connected()
    assert not laptop_tab2.is_connected()
    assert phone_socket.is_connected()
    # The logged-out browser cannot open a new socket.
    assert not connect(app, laptop).is_connected()
