"""Admin broadcasts and presence, through HTTP and Flask-SocketIO's test client."""

from __future__ import annotations

import pytest

from fitness_app.extensions import db, socketio
from fitness_app.models import Notification, User
from tests.conftest import log_workout, signed_in_client
from tests.live import wait_until


def connect(app, client, **auth):
    return socketio.test_client(app, flask_test_client=client, auth=auth or None)


def notifications_named(socket, name):
    return [e["args"][0] for e in socket.get_received() if e["name"] == name]


def broadcast(client, message):
    return client.post("/admin/broadcast", data={"message": message})


def test_non_admin_gets_403_and_anonymous_goes_to_login(app):
    anonymous = app.test_client()
    for response in (anonymous.get("/admin/"), broadcast(anonymous, "hi")):
        assert response.status_code == 302
        assert response.location.startswith("/auth/login")
    member = signed_in_client(app, "ann")
    assert member.get("/admin/").status_code == 403
    assert broadcast(member, "hi").status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


def test_broadcast_without_csrf_token_is_refused(app):
    admin = signed_in_client(app, "boss", admin=True)
    app.config["WTF_CSRF_ENABLED"] = True
    response = broadcast(admin, "Gym closed")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("message", "error"),
    [("", "Write the announcement."), ("   ", "Write the announcement."),
     ("x" * 501, "Keep it to 500 characters.")],
)
def test_bad_announcement_gets_400(app, message, error):
    admin = signed_in_client(app, "boss", admin=True)
    response = broadcast(admin, message)
    assert response.status_code == 400
    assert error in response.data.decode()


def test_broadcast_reaches_every_connection_once_and_is_one_row(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann, bob = signed_in_client(app, "ann"), signed_in_client(app, "bob")
    sockets = [connect(app, ann), connect(app, ann), connect(app, bob), connect(app, admin)]
    for socket in sockets:
        socket.get_received()
    assert broadcast(admin, "Gym closed on Friday").status_code == 302
    for socket in sockets:
        events = wait_until(lambda s=socket: s.get_received() or None, timeout=5,
                            message="announcement")
        notes = [e["args"][0] for e in events if e["name"] == "notification"]
        assert len(notes) == 1
        assert notes[0]["kind"] == "announcement"
        assert notes[0]["message"] == "Gym closed on Friday"
        assert notes[0]["data"] == {"author": "boss"}
    with app.app_context():
        rows = db.session.scalars(db.select(Notification)).all()
        assert [(n.user_id, n.kind) for n in rows] == [(None, "announcement")]
    page = admin.get("/admin/").data.decode()
    assert "Gym closed on Friday" in page and "by boss" in page


def test_badges_refresh_after_a_broadcast(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    log_workout(ann)
    socket = connect(app, ann)
    socket.get_received()
    broadcast(admin, "New challenge")
    counts = []

    def got_count():
        counts.extend(notifications_named(socket, "unread_count"))
        return counts

    assert wait_until(got_count, timeout=5, message="unread_count") == [{"count": 2}]


def test_offline_user_finds_announcement_in_inbox_and_replay(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    log_workout(ann, title="Before")
    last_seen = ann.get("/api/notifications").json["notifications"][-1]["id"]
    broadcast(admin, "Pool closed")
    assert "Pool closed" in ann.get("/notifications/").data.decode()
    api = ann.get(f"/api/notifications?after={last_seen}").json
    assert [n["message"] for n in api["notifications"]] == ["Pool closed"]
    assert api["unread"] == 2
    replayed = notifications_named(connect(app, ann, last_id=last_seen), "notification")
    assert [n["message"] for n in replayed] == ["Pool closed"]


def test_read_state_of_an_announcement_is_per_user(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann, bob = signed_in_client(app, "ann"), signed_in_client(app, "bob")
    broadcast(admin, "Sauna open")
    note_id = ann.get("/api/notifications").json["notifications"][0]["id"]
    ann_socket = connect(app, ann)
    assert ann_socket.emit("mark_read", {"id": note_id}, callback=True) == {"ok": True}
    assert ann.get("/api/notifications").json["unread"] == 0
    assert bob.get("/api/notifications").json["unread"] == 1
    assert "inbox-item unread" in bob.get("/notifications/").data.decode()
    bob.post(f"/notifications/{note_id}/read")
    assert bob.get("/api/notifications").json["unread"] == 0
    ann.post("/notifications/read-all")
    assert ann.get("/api/notifications").json["unread"] == 0


def test_users_who_join_later_do_not_get_old_announcements(app):
    admin = signed_in_client(app, "boss", admin=True)
    broadcast(admin, "Before your time")
    late = signed_in_client(app, "late")
    assert late.get("/api/notifications").json == {"notifications": [], "unread": 0}


def test_announcements_and_personal_notifications_share_one_id_sequence(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    log_workout(ann)
    broadcast(admin, "Middle")
    log_workout(ann)
    ids = [n["id"] for n in ann.get("/api/notifications").json["notifications"]]
    assert ids == sorted(ids) and len(set(ids)) == 3
    kinds = [n["kind"] for n in ann.get("/api/notifications").json["notifications"]]
    assert kinds == ["workout_completed", "announcement", "workout_completed"]


def test_presence_counts_users_and_connections_for_admins_only(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann, bob = signed_in_client(app, "ann"), signed_in_client(app, "bob")
    admin_socket = connect(app, admin)
    latest = {}

    def presence_is(users, connections):
        for event in notifications_named(admin_socket, "presence"):
            latest.update(event)
        return latest == {"users": users, "connections": connections}

    wait_until(lambda: presence_is(1, 1), timeout=5, message="admin alone")
    ann_tabs = [connect(app, ann), connect(app, ann)]
    wait_until(lambda: presence_is(2, 3), timeout=5, message="two tabs count as one user")
    bob_socket = connect(app, bob)
    wait_until(lambda: presence_is(3, 4), timeout=5, message="bob online")
    assert notifications_named(bob_socket, "presence") == []
    ann_tabs[0].disconnect()
    wait_until(lambda: presence_is(3, 3), timeout=5, message="one of ann's tabs closed")
    ann_tabs[1].disconnect()
    wait_until(lambda: presence_is(2, 2), timeout=5, message="ann offline")
    page = admin.get("/admin/").data.decode()
    assert 'id="online-users">2<' in page and 'id="online-connections">2<' in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 3
