"""Unread counts and read marks: what the badge, the inbox and the API say after each change."""

from __future__ import annotations

import gc
import re
import threading

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import AnnouncementRead, Notification, User
from fitness_app.realtime import push
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from tests.conftest import built_app, log_workout, signed_in_client
from tests.live import wait_until


def unread(client: FlaskClient) -> int:
    return client.get("/api/notifications").json["unread"]


def ids(client: FlaskClient) -> list[int]:
    return [n["id"] for n in client.get("/api/notifications").json["notifications"]]


def unread_on_page(client: FlaskClient) -> set[int]:
    """Ids the inbox page marks unread: items whose class names `unread`."""
    page = client.get("/notifications/").data.decode()
    tags = re.findall(r"<[^>]*data-notification-id=[^>]*>", page)
    return {
        int(re.search(r'data-notification-id="(\d+)"', tag).group(1))
        for tag in tags
        if re.search(r'class="[^"]*\bunread\b', tag)
    }


def counts_pushed(socket) -> list[int]:
    return [e["args"][0]["count"] for e in socket.get_received() if e["name"] == "unread_count"]


def announce(admin: FlaskClient, message: str) -> None:
    assert admin.post("/admin/broadcast", data={"message": message}).status_code == 302


def test_counts_after_workouts_broadcasts_and_reads(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    log_workout(ann)
    log_workout(ann, title="Second")
    announce(admin, "Gym closed")
    announce(admin, "Gym open")
    assert unread(ann) == 4
    personal, _, first_news, _ = ids(ann)
    ann.post(f"/notifications/{personal}/read")
    assert unread(ann) == 3
    ann.post(f"/notifications/{first_news}/read")
    assert unread(ann) == 2
    assert len(unread_on_page(ann)) == 2
    assert personal not in unread_on_page(ann) and first_news not in unread_on_page(ann)
    # Reading again changes nothing.
    ann.post(f"/notifications/{first_news}/read")
    assert unread(ann) == 2
    ann.post("/notifications/read-all")
    assert unread(ann) == 0
    announce(admin, "After the read-all")
    log_workout(ann, title="Third")
    assert unread(ann) == 2


def test_a_user_who_joins_later_sees_and_counts_only_later_announcements(app):
    admin = signed_in_client(app, "boss", admin=True)
    announce(admin, "Before Bea joined")
    bea = signed_in_client(app, "bea")
    assert unread(bea) == 0 and ids(bea) == []
    announce(admin, "After Bea joined")
    assert unread(bea) == 1
    assert [n["message"] for n in bea.get("/api/notifications").json["notifications"]] == [
        "After Bea joined"]


def test_mark_all_read_adds_no_row_per_announcement(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    for n in range(5):
        announce(admin, f"News {n}")
    ann.post(f"/notifications/{ids(ann)[0]}/read")
    ann.post("/notifications/read-all")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AnnouncementRead)) == 0
    assert unread(ann) == 0
    assert unread_on_page(ann) == set()


def test_badges_follow_mark_read_mark_all_and_broadcasts_live(app):
    admin = signed_in_client(app, "boss", admin=True)
    ann = signed_in_client(app, "ann")
    log_workout(ann)
    socket = socketio.test_client(app, flask_test_client=ann)
    assert counts_pushed(socket) == [1]
    (note,) = ids(ann)
    assert socket.emit("mark_read", {"id": note}, callback=True) == {"ok": True}
    assert counts_pushed(socket) == [0]
    log_workout(ann, title="Again")
    socket.get_received()
    ann.post("/notifications/read-all")
    assert counts_pushed(socket) == [0]
    announce(admin, "Badges refresh in the background")
    pushed: list[int] = []
    assert wait_until(lambda: pushed.extend(counts_pushed(socket)) or pushed, timeout=5,
                      message="the badge refresh") == [1]


def _count_commits(app: Flask) -> list[int]:
    commits: list[int] = []
    with app.app_context():
        sa.event.listen(db.engine, "commit", lambda conn: commits.append(1))
    return commits


def test_a_mark_read_that_changes_nothing_commits_and_pushes_nothing(app):
    ann = signed_in_client(app, "ann")
    log_workout(ann)
    (note,) = ids(ann)
    socket = socketio.test_client(app, flask_test_client=ann)
    assert socket.emit("mark_read", {"id": note}, callback=True) == {"ok": True}
    socket.get_received()
    commits = _count_commits(app)
    assert socket.emit("mark_read", {"id": note}, callback=True) == {"ok": True}
    assert socket.emit("mark_read", {"id": note + 100}, callback=True) == {
        "ok": False, "error": "no such notification"}
    assert commits == []
    assert socket.get_received() == []


def test_notifying_outside_a_delivery_is_refused(app):
    ann = signed_in_client(app, "ann")
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id))
        with pytest.raises(RuntimeError, match="delivery"):
            store.notify(user_id, "workout_completed", "Done", "Nowhere to go")
        db.session.rollback()
    assert unread(ann) == 0


def test_a_delivery_that_raises_stores_and_pushes_nothing(app):
    ann = signed_in_client(app, "ann")
    socket = socketio.test_client(app, flask_test_client=ann)
    socket.get_received()
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id))
        with pytest.raises(ValueError), delivery():
            store.notify(user_id, "workout_completed", "Done", "Rolled back")
            raise ValueError("the caller changed its mind")
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert socket.get_received() == []
    assert unread(ann) == 0


def test_collector_pauses_overlap_without_resuming_early():
    """Threading mode: one fan-out ending must not resume the collector under another."""
    assert gc.isenabled()
    first_in, second_out = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with push.collector_paused():
            first_in.set()
            second_out.wait(5)
            seen.append(gc.isenabled())

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(5)
    with push.collector_paused():
        assert not gc.isenabled()
    second_out.set()
    thread.join(5)
    assert seen == [False]
    assert gc.isenabled()


@pytest.fixture
def strict_app(database: str):
    """A burst of 3 events, no refill to speak of, and a flood ends at its 6th refusal."""
    with built_app(database, SOCKET_EVENT_BURST=3, SOCKET_EVENT_RATE=0.001,
                   SOCKET_FLOOD_DISCONNECT=5) as app:
        yield app


def test_events_beyond_the_burst_are_refused_then_the_flood_is_disconnected(strict_app):
    ann = signed_in_client(strict_app, "ann")
    log_workout(ann)
    log_workout(ann, title="Two")
    first, second = ids(ann)
    socket = socketio.test_client(strict_app, flask_test_client=ann)
    acks = [socket.emit("mark_read", {"id": first}, callback=True) for _ in range(3)]
    assert acks == [{"ok": True}] * 3
    refused = socket.emit("mark_read", {"id": second}, callback=True)
    assert refused == {"ok": False, "error": "rate limited"}
    assert unread(ann) == 1  # the refused event did no work
    for _ in range(4):
        assert socket.emit("mark_read", {"id": second}, callback=True) == {
            "ok": False, "error": "rate limited"}
    assert socket.is_connected()
    socket.emit("mark_read", {"id": second}, callback=True)
    assert not socket.is_connected()
    assert unread(ann) == 1


def test_another_connection_keeps_its_own_bucket(strict_app):
    ann = signed_in_client(strict_app, "ann")
    log_workout(ann)
    (note,) = ids(ann)
    flooding = socketio.test_client(strict_app, flask_test_client=ann)
    for _ in range(4):
        flooding.emit("mark_read", {"id": note}, callback=True)
    calm = socketio.test_client(strict_app, flask_test_client=ann)
    assert calm.emit("mark_read", {"id": note}, callback=True) == {"ok": True}


def test_inbox_pages_merge_own_rows_and_announcements_newest_first(database):
    with built_app(database, NOTIFICATIONS_PER_PAGE=4) as app:
        admin = signed_in_client(app, "boss", admin=True)
        ann = signed_in_client(app, "ann")
        for n in range(3):
            log_workout(ann, title=f"Run {n}")
            announce(admin, f"News {n}")
        newest_first = sorted(ids(ann), reverse=True)
        pages = [ann.get(f"/notifications/?page={p}").data.decode() for p in (1, 2)]
        shown = [[int(i) for i in re.findall(r'data-notification-id="(\d+)"', page)]
                 for page in pages]
        assert [list(dict.fromkeys(ids_)) for ids_ in shown] == [newest_first[:4],
                                                                 newest_first[4:]]
        assert "Page 1 of 2" in pages[0] and "Page 2 of 2" in pages[1]
