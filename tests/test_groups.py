"""One action, one group: the `group` of each notification, and marking a group read.

Through Flask-SocketIO's test client and the HTTP routes, as a browser sees
them: the live payload, replay, `/api/notifications` and the export.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from fitness_app import create_app
from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.services.notifications import inbox, store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.notifications.links import links_for
from fitness_app.services.notifications.payload import serialize
from tests.conftest import log_workout, signed_in_client
from tests.test_realtime import connect, received


def api(client: FlaskClient) -> list[dict]:
    return client.get("/api/notifications").json["notifications"]


def set_up_a_big_day(client: FlaskClient) -> None:
    """Two days of runs and two all-time goals: today's long run completes both,
    beats the distance record and makes a three-day streak."""
    today = date.today()
    log_workout(client, title="Easy run", performed_on=(today - timedelta(days=2)).isoformat())
    log_workout(client, title="Short run", distance_km="5",
                performed_on=(today - timedelta(days=1)).isoformat())
    for kind, target in (("workouts", "3"), ("distance_km", "19")):
        response = client.post("/goals/new", data={"kind": kind, "target": target,
                                                   "period": "all_time"})
        assert response.status_code == 302


def test_one_completion_is_one_group_keyed_by_its_first_notification(app):
    ann = signed_in_client(app, "ann")
    set_up_a_big_day(ann)
    before = {n["id"] for n in api(ann)}
    socket = connect(app, ann)
    socket.get_received()

    log_workout(ann, title="Long run by the river", distance_km="8")

    live = received(socket, "notification")
    assert [n["kind"] for n in live][0] == "workout_completed"
    assert sorted(n["kind"] for n in live) == [
        "goal_achieved", "goal_achieved", "personal_record", "streak", "workout_completed"]
    first = live[0]["id"]
    assert {n["group"] for n in live} == {str(first)}
    assert first == min(n["id"] for n in live)
    # The earlier completions are groups of their own.
    assert {n["group"] for n in api(ann) if n["id"] in before} == {str(i) for i in before}
    # The same groups on replay and over the JSON API.
    replayed = received(connect(app, ann, last_id=min(before)), "notification")
    assert [(n["id"], n["group"]) for n in replayed] == [
        (n["id"], n["group"]) for n in api(ann) if n["id"] > min(before)]
    assert [n["group"] for n in api(ann) if n["id"] >= first] == [str(first)] * 5


def test_announcements_are_groups_of_their_own(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    for message in ("Gym closed", "Gym open"):
        assert admin.post("/admin/broadcast", data={"message": message}).status_code == 302
    news = api(ann)
    assert [n["group"] for n in news] == [str(n["id"]) for n in news]


def test_the_export_carries_the_group(app):
    ann = signed_in_client(app, "ann")
    set_up_a_big_day(ann)
    log_workout(ann, title="Long run by the river", distance_km="8")
    exported = json.loads(ann.get("/settings/export").data)["notifications"]
    assert [(n["id"], n["group"]) for n in exported] == [(n["id"], n["group"]) for n in api(ann)]
    assert all("group_key" not in n for n in exported)


def test_new_group_splits_a_unit_and_groups_lists_them_by_user(app):
    ann = signed_in_client(app, "ann")
    signed_in_client(app, "bob")
    ann.post("/settings/", data={"timezone": "UTC", "muted": ["workout_completed"]})
    with app.app_context():
        ann_id, bob_id = (db.session.scalar(db.select(User.id).filter_by(username=n))
                          for n in ("ann", "bob"))
        with delivery() as unit:
            quiet = store.notify(ann_id, "workout_completed", "Workout completed", "a")
            goal = store.notify(ann_id, "goal_achieved", "Goal achieved", "b")
            for_bob = store.notify(bob_id, "streak", "Streak", "c")
            reminder = store.notify(ann_id, "streak", "Streak", "d", new_group=True)
            after = store.notify(ann_id, "goal_achieved", "Goal achieved", "e")
        groups = unit.groups()
    assert [(g.user_id, g.key, [p["message"] for p in g.payloads]) for g in groups] == [
        (ann_id, str(quiet.id), ["a", "b"]),
        (bob_id, str(for_bob.id), ["c"]),
        (ann_id, str(reminder.id), ["d", "e"]),
    ]
    # The first that is not silent leads: the muted completion is listed, not shown on top.
    assert groups[0].lead["id"] == goal.id and groups[0].payloads[0]["silent"] is True
    assert [p["id"] for p in groups[0].audible] == [goal.id]
    assert groups[2].lead["id"] == reminder.id and after.group_key == str(reminder.id)
    assert [n["group"] for n in api(ann)] == [str(quiet.id)] * 2 + [str(reminder.id)] * 2


def test_an_all_silent_group_has_no_lead(app):
    signed_in_client(app, "ann")
    with app.app_context():
        ann_id = db.session.scalar(db.select(User.id).filter_by(username="ann"))
        with delivery() as unit:
            store.notify(ann_id, "streak", "Streak", "quiet", silent=True)
        [group] = unit.groups()
    assert group.lead is None and group.audible == []


def group_ids(client: FlaskClient) -> list[int]:
    set_up_a_big_day(client)
    log_workout(client, title="Long run by the river", distance_km="8")
    newest = api(client)[-1]
    return [n["id"] for n in api(client) if n["group"] == newest["group"]]


def test_marking_a_group_read_over_the_socket_is_one_event_and_one_count(app):
    ann = signed_in_client(app, "ann")
    ids = group_ids(ann)
    unread_before = ann.get("/api/notifications").json["unread"]
    tab, other_tab = connect(app, ann), connect(app, ann)
    tab.get_received()
    other_tab.get_received()

    assert tab.emit("mark_read", {"ids": ids}, callback=True) == {"ok": True}

    assert received(other_tab, "unread_count") == [{"count": unread_before - len(ids)}]
    # Again: nothing changes, nothing is pushed.
    assert tab.emit("mark_read", {"ids": ids}, callback=True) == {"ok": True}
    assert received(other_tab, "unread_count") == []
    page = ann.get("/notifications/").data.decode()
    for notification_id in ids:
        assert f'data-notification-id="{notification_id}"' in page


def test_a_group_with_someone_elses_id_marks_nothing(app):
    ann = signed_in_client(app, "ann")
    bob = signed_in_client(app, "bob")
    log_workout(bob)
    bobs = api(bob)[0]["id"]
    ids = group_ids(ann)
    unread_before = ann.get("/api/notifications").json["unread"]
    socket = connect(app, ann)

    ack = socket.emit("mark_read", {"ids": [*ids, bobs]}, callback=True)

    assert ack == {"ok": False, "error": "no such notification"}
    assert ann.get("/api/notifications").json["unread"] == unread_before
    assert bob.get("/api/notifications").json["unread"] == 1
    form = {"ids": [str(i) for i in [*ids, bobs]]}
    assert ann.post("/notifications/read", data=form).status_code == 404
    assert ann.get("/api/notifications").json["unread"] == unread_before


def test_marking_a_group_read_over_http(app):
    ann = signed_in_client(app, "ann")
    ids = group_ids(ann)
    unread_before = ann.get("/api/notifications").json["unread"]
    socket = connect(app, ann)
    socket.get_received()

    response = ann.post("/notifications/read", data={"ids": [str(i) for i in ids]})

    assert response.status_code == 204
    assert ann.get("/api/notifications").json["unread"] == unread_before - len(ids)
    assert received(socket, "unread_count") == [{"count": unread_before - len(ids)}]


def test_a_group_with_an_announcement_counts_it_once(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    log_workout(ann)
    assert admin.post("/admin/broadcast", data={"message": "Gym closed"}).status_code == 302
    ids = [n["id"] for n in api(ann)]
    assert ann.get("/api/notifications").json["unread"] == 2
    assert ann.post("/notifications/read", data={"ids": [str(i) for i in ids]}).status_code == 204
    assert ann.get("/api/notifications").json["unread"] == 0
    assert ann.post("/notifications/read", data={"ids": [str(i) for i in ids]}).status_code == 204
    assert ann.get("/api/notifications").json["unread"] == 0


@pytest.mark.one_database
@pytest.mark.parametrize("ids", [[], "7", [0], [-1], [True], [1.5], ["3"], [None],
                                 [10**30], list(range(1, 52)), {"a": 1}])
def test_mark_read_with_malformed_ids(app: Flask, ids):
    ann = signed_in_client(app, "ann")
    ack = connect(app, ann).emit("mark_read", {"ids": ids}, callback=True)
    assert ack["ok"] is False and ack["error"].startswith("ids must be")


@pytest.mark.one_database
@pytest.mark.parametrize("form", [{}, {"ids": ""}, {"ids": "x"}, {"ids": "-1"}, {"ids": "0"},
                                  {"ids": "1,2"}, {"ids": "9" * 11}, {"ids": "²"},
                                  {"ids": [str(i) for i in range(1, 52)]}])
def test_marking_read_over_http_with_malformed_ids(app: Flask, form):
    ann = signed_in_client(app, "ann")
    response = ann.post("/notifications/read", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "notification ids" in response.json["error"]


def test_marking_a_group_read_needs_a_sign_in(app: Flask, client: FlaskClient):
    response = client.post("/notifications/read", data={"ids": "1"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_notifications_from_before_the_upgrade_are_groups_of_their_own(database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision="d7e1f3a5b9c2")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (id, username, email, password_hash, is_admin, created_at)"
                " VALUES (1, 'ann', 'ann@example.com', 'x', false, CURRENT_TIMESTAMP)"))
            for number in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO notifications (id, user_id, kind, title, message, data,"
                    " created_at, silent) VALUES (:id, 1, 'goal_achieved', 'Goal achieved',"
                    " 'm', '{}', CURRENT_TIMESTAMP, false)"), {"id": number})
        upgrade()
        rows = inbox.list_after(db.session.get(User, 1), 0, 10)
        assert [serialize(n, links_for(rows))["group"] for n in rows] == ["1", "2"]
        db.session.remove()
        db.engine.dispose()
