"""Redis down or restarted: live delivery and presence degrade, requests never fail.

The emit path and presence are the only code that talks to Redis. Here they
meet an emitter that raises and a Redis address where nothing listens; the
restart cases use the local Redis (TEST_REDIS_URL, default
redis://127.0.0.1:6379/0) under a channel of their own.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db, socketio
from fitness_app.models import User
from fitness_app.realtime import presence, pubsub, push
from fitness_app.realtime.presence import MemoryPresence
from fitness_app.realtime.presence_redis import RedisPresence
from fitness_app.services.notifications import replay, store
from fitness_app.services.notifications.delivery import delivery
from tests.conftest import log_workout
from tests.live import free_port
from tests.services import TEST_REDIS_URL

# The shared Redis: fails under CI when missing, skips loudly elsewhere.
needs_redis = pytest.mark.usefixtures("shared_redis")


def unreachable_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def logs(caplog, monkeypatch) -> pytest.LogCaptureFixture:
    """caplog, with the app's loggers enabled again.

    Alembic's fileConfig (tests/test_migrations.py runs it in this process)
    disables every logger that existed before it.
    """
    for name in ("fitness_app", presence.__name__, pubsub.__name__):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    return caplog


def test_a_failing_emit_is_logged_and_the_committed_request_succeeds(
    app, client, auth, monkeypatch, logs
):
    auth.register()

    def broken_emit(*args: object, **kwargs: object) -> None:
        raise ConnectionError("message queue unreachable")

    monkeypatch.setattr(socketio, "emit", broken_emit)
    with logs.at_level(logging.ERROR):
        response = log_workout(client, title="Stored anyway")
    assert response.status_code == 302
    assert "Stored anyway" in client.get("/notifications/").get_data(as_text=True)
    assert any("emit of 'notification'" in r.getMessage() for r in logs.records)


def test_presence_without_redis_counts_this_worker_and_logs_once(logs):
    store = RedisPresence(unreachable_url(), "down")
    with logs.at_level(logging.WARNING, logger=presence.__name__):
        store.add("sid-a", 1, "login-a")
        store.add("sid-b", 2, "login-b")
        store.remove("sid-b")
        store.heartbeat()
        assert store.snapshot() == presence.Snapshot(users=1, connections=1)
        assert store.sids_for_login("login-a") == ["sid-a"]
    outages = [r for r in logs.records if "unreachable" in r.getMessage()]
    assert len(outages) == 1


def test_a_socket_connects_while_presence_cannot_reach_redis(app: Flask, client, auth):
    auth.register()
    app.extensions["fitness_presence"] = RedisPresence(unreachable_url(), "down")
    socket = socketio.test_client(app, flask_test_client=client)
    assert socket.is_connected()
    assert [e["name"] for e in socket.get_received()] == ["unread_count"]
    socket.disconnect()


def test_through_message_queue_emits_are_best_effort(app, logs):
    """`flask announce`'s emitter: a Redis that does not answer is logged, never raised."""
    with logs.at_level(logging.ERROR), app.app_context():
        with push.through_message_queue(unreachable_url(), "down"):
            push.emit("notification", {"id": 1}, to="user:1")
        assert "fitness_push_emitter" not in app.extensions
    failures = [r.getMessage() for r in logs.records]
    assert any("cannot publish 'emit' to Redis" in m for m in failures), failures


@pytest.fixture
def channel() -> str:
    """A channel of its own, so parallel runs sharing the Redis never meet."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter(match=f"fitness:{name}:*"):
        client.delete(key)
    client.close()


@needs_redis
def test_two_workers_see_each_others_connections(channel):
    first, second = RedisPresence(TEST_REDIS_URL, channel), RedisPresence(TEST_REDIS_URL, channel)
    first.add("sid-1", 1, "login-1")
    second.add("sid-2", 2, "login-2")
    second.add("sid-3", 2, "login-3")
    assert first.snapshot() == presence.Snapshot(users=2, connections=3)
    assert first.sids_for_login("login-3") == ["sid-3"]
    second.remove("sid-3")
    assert first.snapshot() == presence.Snapshot(users=2, connections=2)


@needs_redis
def test_a_worker_notices_another_one_dying_once(channel):
    survivor = RedisPresence(TEST_REDIS_URL, channel)
    doomed = RedisPresence(TEST_REDIS_URL, channel)
    survivor.add("sid-1", 1, "login-1")
    doomed.add("sid-2", 2, "login-2")
    for worker in (survivor, doomed):
        worker.heartbeat()
    assert survivor.departed() == 0
    # A kill -9: no goodbye, and the hash expires after the TTL.
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.delete(doomed._key)
    client.close()
    assert survivor.departed() == 1
    assert survivor.departed() == 0
    assert MemoryPresence().departed() == 0


@needs_redis
def test_heartbeat_restores_a_hash_that_a_redis_restart_emptied(channel):
    store = RedisPresence(TEST_REDIS_URL, channel)
    store.add("sid-1", 1, "login-1")
    store.add("sid-2", 2, "login-2")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    # A restart without persistence: everything is gone, then one new connection arrives.
    for key in client.scan_iter(match=f"fitness:{channel}:*"):
        client.delete(key)
    store.add("sid-3", 3, "login-3")
    assert store.snapshot().connections == 1
    store.heartbeat()
    assert store.snapshot() == presence.Snapshot(users=3, connections=3)
    client.close()


@needs_redis
def test_heartbeat_drops_entries_whose_removal_failed(channel):
    store = RedisPresence(TEST_REDIS_URL, channel)
    store.add("sid-1", 1, "login-1")
    store.add("sid-2", 2, "login-2")
    healthy = store._redis
    store._redis = redis.Redis.from_url(unreachable_url())
    store.remove("sid-2")  # Redis missed this one
    store._redis = healthy
    assert store.snapshot().connections == 2
    store.heartbeat()
    assert store.snapshot() == presence.Snapshot(users=1, connections=1)


def _notification_ids(socket) -> list[int]:
    return [e["args"][0]["id"] for e in socket.get_received() if e["name"] == "notification"]


def test_resync_resends_what_a_pubsub_gap_may_have_lost(app: Flask, client, auth):
    """After a gap, each connection gets what was made since, minus what its page had shown."""
    auth.register()
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id))

        def note(text: str) -> int:
            with delivery():
                notification = store.notify(user_id, "workout_completed", "Done", text)
            return notification.id

        old = note("before the gap")
        steady = socketio.test_client(app, flask_test_client=client, auth={"last_id": old})
        since = datetime.now(UTC)
        during = [note("in the gap"), note("in the gap too")]
        # A page loaded during the gap, whose last_id already passed both.
        reloaded = socketio.test_client(app, flask_test_client=client, auth={"last_id": during[1]})
        later = note("after that page loaded")
        for socket in (steady, reloaded):
            socket.get_received()
        replay.resend_since(app, since)
    assert _notification_ids(steady) == [*during, later]
    assert _notification_ids(reloaded) == [*during, later]
