"""The real server (eventlet, started as `make run` starts it) driven by python-socketio."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
import socketio

from tests.live import (
    LiveServer,
    cookie_header,
    csrf_token,
    post_form,
    post_together,
    register,
    wait_until,
)
from tests.services import TEST_REDIS_URL, require, shared_redis_reason
from tests.sio_client import Listener, both_transports

pytestmark = pytest.mark.live

WORKOUT = {"title": "Tempo run", "activity": "run", "duration_minutes": "31",
           "distance_km": "6.2", "performed_on": date.today().isoformat()}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def log_workout(session, base, completed=True, **fields):
    data = {**WORKOUT, **fields}
    if completed:
        data["completed"] = "y"
    response = post_form(session, base, "/workouts/new", "/workouts/new", data)
    assert response.status_code == 302, response.text[:300]


def api(session, base, after=0):
    return session.get(f"{base}/api/notifications?after={after}", timeout=5).json()


def test_websocket_and_polling_clients_both_receive_and_nobody_else(live_server):
    base = live_server.url
    ann, bob = register(base, unique("ann")), register(base, unique("bob"))
    ws = Listener(base, ann, ["websocket"]).connect()
    polling = Listener(base, ann, ["polling"]).connect()
    bobs = Listener(base, bob, ["websocket"]).connect()
    try:
        assert (ws.transport(), polling.transport()) == ("websocket", "polling")
        log_workout(ann, base)
        for listener in (ws, polling):
            [note] = listener.wait_for(1)
            assert note["message"] == "Tempo run, 6.2 km in 31 min"
        # Bob's first notification is his own: nothing of Ann's reached him before it.
        log_workout(bob, base, title="Bob's ride", activity="ride")
        [own] = bobs.wait_for(1)
        assert own["message"].startswith("Bob's ride")
        assert [n["id"] for n in bobs.notifications] == [own["id"]]
        assert len(ws.notifications) == len(polling.notifications) == 1
    finally:
        for listener in (ws, polling, bobs):
            listener.disconnect()


def test_anonymous_socket_is_refused_as_unauthorized(live_server):
    for transports in (["websocket"], ["polling"]):
        listener = Listener(live_server.url, requests.Session(), transports)
        with pytest.raises(socketio.exceptions.ConnectionError):
            listener.connect()
        assert listener.connect_errors == [{"message": "unauthorized"}]


def test_twenty_concurrent_completions_give_one_notification(live_server):
    base = live_server.url
    ann = register(base, unique("ann"))
    log_workout(ann, base, completed=False, title="Race day")
    listener = Listener(base, ann, ["websocket"]).connect()
    workout_id = int(
        ann.get(f"{base}/workouts/", timeout=5).text.split('data-workout-id="')[1].split('"')[0]
    )
    token = csrf_token(ann, f"{base}/workouts/")
    try:
        statuses = post_together(ann, [f"{base}/workouts/{workout_id}/complete"] * 20, token)
        assert statuses == [302] * 20
        notes = api(ann, base)["notifications"]
        assert [n["kind"] for n in notes] == ["workout_completed"]
        [pushed] = listener.wait_for(1)
        assert pushed["id"] == notes[0]["id"]
    finally:
        listener.disconnect()


def test_goal_achieved_exactly_once_under_concurrent_completions(live_server):
    base = live_server.url
    ann = register(base, unique("ann"))
    response = post_form(ann, base, "/goals/new", "/goals/new",
                         {"kind": "workouts", "target": "3", "period": "week"})
    assert response.status_code == 302
    for i in range(8):
        log_workout(ann, base, completed=False, title=f"Session {i}")
    page = ann.get(f"{base}/workouts/", timeout=5).text
    ids = [int(chunk.split('"')[0]) for chunk in page.split('data-workout-id="')[1:]]
    token = csrf_token(ann, f"{base}/workouts/")
    urls = [f"{base}/workouts/{workout_id}/complete" for workout_id in ids]
    assert post_together(ann, urls, token) == [302] * len(ids)
    kinds = [n["kind"] for n in api(ann, base)["notifications"]]
    assert kinds.count("workout_completed") == 8
    assert kinds.count("goal_achieved") == 1


def test_reconnect_with_last_id_gets_what_was_missed_in_order(live_server):
    base = live_server.url
    ann = register(base, unique("ann"))
    for transports in (["websocket"], ["polling"]):
        listener = Listener(base, ann, transports, last_id=0).connect()
        log_workout(ann, base, title="Seen")
        seen = listener.wait_for(1)[-1]
        listener.disconnect()
        log_workout(ann, base, title="Missed one")
        log_workout(ann, base, title="Missed two")
        listener.notifications.clear()
        listener.connect()
        try:
            missed = listener.wait_for(2)
            assert [n["message"].split(",")[0] for n in missed] == [
                "Missed one", "Missed two"]
            assert seen["id"] < missed[0]["id"] < missed[1]["id"]
        finally:
            listener.disconnect()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    require("Redis", shared_redis_reason())
    channel = f"fitness-test-{uuid.uuid4().hex[:8]}"
    with LiveServer(tmp_path_factory.mktemp("redis-live"),
                        env={"REDIS_URL": TEST_REDIS_URL,
                             "SOCKETIO_CHANNEL": channel}) as server:
        yield server


def test_flask_announce_through_redis_reaches_a_live_client(redis_server):
    base = redis_server.url
    ann = register(base, unique("ann"))
    with both_transports(base, ann) as listeners:
        result = redis_server.flask("announce", "Gym closed <b>Friday</b>")
        assert result.returncode == 0, result.stderr
        assert "sent live" in result.stdout
        for listener in listeners:
            [note] = listener.wait_for(1)
            assert (note["kind"], note["message"]) == ("announcement", "Gym closed <b>Friday</b>")


def test_flask_announce_without_redis_says_how_to_make_it_live(live_server):
    result = live_server.flask("announce", "Inbox only")
    assert result.returncode == 0, result.stderr
    assert "users get it in their inbox and on their next connection" in result.stdout
    assert "Set REDIS_URL to make it live." in result.stdout


def test_a_socket_from_another_origin_is_refused(live_server):
    ann = register(live_server.url, unique("ann"))
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, transports=["polling"], wait_timeout=5,
                       headers={"Cookie": cookie_header(ann), "Origin": "https://evil.example"})
    assert not client.connected


@pytest.fixture(scope="module")
def gevent_server(tmp_path_factory):
    with LiveServer(tmp_path_factory.mktemp("gevent"), env={"ASYNC_MODE": "gevent"}) as server:
        yield server


def test_gevent_is_a_working_alternative(gevent_server):
    base = gevent_server.url
    ann = register(base, unique("ann"))
    with both_transports(base, ann) as listeners:
        log_workout(ann, base)
        for listener in listeners:
            [note] = listener.wait_for(1)
            assert note["kind"] == "workout_completed"


def test_muted_and_quiet_notifications_arrive_silent_and_are_counted(live_server):
    base = live_server.url
    ann = register(base, unique("ann"))
    listener = Listener(base, ann, ["websocket"]).connect()
    try:
        muted = {"timezone": "UTC", "muted": "workout_completed"}
        assert post_form(ann, base, "/settings/", "/settings/", muted).status_code == 302
        log_workout(ann, base, title="Muted run")
        [muted] = listener.wait_for(1)
        assert (muted["kind"], muted["silent"]) == ("workout_completed", True)

        # Quiet from an hour ago to an hour ahead, in UTC: everything but announcements.
        now = datetime.now(UTC)
        quiet = {"timezone": "UTC", "quiet_start": f"{now - timedelta(hours=1):%H:%M}",
                 "quiet_end": f"{now + timedelta(hours=1):%H:%M}"}
        assert post_form(ann, base, "/settings/", "/settings/", quiet).status_code == 302
        log_workout(ann, base, title="Late run")
        second = listener.wait_for(2)[1]
        assert (second["kind"], second["silent"]) == ("workout_completed", True)

        loud = {"timezone": "UTC"}
        assert post_form(ann, base, "/settings/", "/settings/", loud).status_code == 302
        log_workout(ann, base, title="Loud run")
        assert listener.wait_for(3)[2]["silent"] is False

        stored = api(ann, base)
        assert [n["silent"] for n in stored["notifications"]] == [True, True, False]
        assert stored["unread"] == 3
        # The count leaves after the notification, in a packet of its own.
        wait_until(lambda: listener.unread and listener.unread[-1] == 3, timeout=5,
                   message="the badge's count of 3")
        inbox = ann.get(f"{base}/notifications/", timeout=5).text
        assert "Muted run" in inbox and "Late run" in inbox
    finally:
        listener.disconnect()


def test_one_record_and_one_streak_milestone_under_twenty_racing_completions(live_server):
    base = live_server.url
    ann = register(base, unique("ann"))
    today = date.today()
    for offset in range(6, 0, -1):
        log_workout(ann, base, distance_km="5", title=f"Day {offset}",
                    performed_on=(today - timedelta(days=offset)).isoformat())
    for i in range(20):
        log_workout(ann, base, completed=False, distance_km="12", title=f"Long {i}")
    page = ann.get(f"{base}/workouts/", timeout=5).text
    ids = sorted({int(found) for found in re.findall(r"/workouts/(\d+)/complete", page)})
    assert len(ids) == 20
    token = csrf_token(ann, f"{base}/workouts/")
    after = api(ann, base)["notifications"][-1]["id"]
    listener = Listener(base, ann, ["websocket"], last_id=after).connect()
    try:
        urls = [f"{base}/workouts/{workout_id}/complete" for workout_id in ids]
        assert post_together(ann, urls, token) == [302] * len(ids)
        notes = api(ann, base, after)["notifications"]
        news = [(n["kind"], n["data"]) for n in notes if n["kind"] != "workout_completed"]
        since = (today - timedelta(days=6)).isoformat()
        assert news == [
            ("streak", {"days": 7, "since": since}),
            ("personal_record", {"activity": "run", "record": "distance_km", "value": 12.0,
                                 "previous": 5.0}),
        ]
        pushed = listener.wait_for(len(notes))
        assert [n["id"] for n in pushed] == [n["id"] for n in notes]
    finally:
        listener.disconnect()
