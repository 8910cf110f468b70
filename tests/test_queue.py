"""The message queue on a Redis of the test's own: gaps close, and every URL form works.

The server is the real one (`make run`, tests/live.py) on a private
redis-server (tests/conftest.py `private_redis`), because these tests kill its
pub/sub clients, and on a Sentinel started beside it for the `redis+sentinel://`
form. An app built in the test process on the same database and queue plays the
other worker: its `flask announce` publishes through a write-only manager, as in
production.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from deploy.processes import RedisSentinel, wait_until
from fitness_app.realtime.redis_client import connect
from tests.conftest import built_app
from tests.live import LiveServer, register
from tests.sio_client import DELIVERY_DEADLINE, Listener

pytestmark = pytest.mark.live


def subscribers(server_url: str, channel: str) -> int:
    client = redis.Redis.from_url(server_url)
    try:
        return client.pubsub_numsub(channel)[0][1]
    finally:
        client.close()


@contextmanager
def worker_with_other(tmp_path, redis_url: str) -> Iterator[tuple[LiveServer, object, str]]:
    """The live server on `redis_url`, and an app of this process on its database and queue."""
    channel = f"test-{uuid.uuid4().hex}"
    env = {"REDIS_URL": redis_url, "SOCKETIO_CHANNEL": channel}
    with LiveServer(tmp_path, env=env) as server, built_app(
        server.env["DATABASE_URL"], REDIS_URL=redis_url, SOCKETIO_CHANNEL=channel
    ) as other:
        yield server, other, channel


def announce(other, text: str) -> int:
    """`flask announce` on the other worker: its emit reaches the server only through Redis."""
    result = other.test_cli_runner().invoke(args=["announce", text])
    assert "sent live through" in result.output, result.output
    return int(result.output.split("Announcement ", 1)[1].split()[0])


@contextmanager
def killing_subscriptions(server, channel: str) -> Iterator[None]:
    """`CLIENT KILL TYPE pubsub` every 20 ms while the block runs, from a first kill on."""
    stop = threading.Event()

    def kill() -> None:
        while not stop.is_set():
            server.call("CLIENT", "KILL", "TYPE", "pubsub")
            stop.wait(0.02)

    killer = threading.Thread(target=kill)
    killer.start()
    wait_until(lambda: subscribers(server.url, channel) == 0, DELIVERY_DEADLINE, "a first kill")
    try:
        yield
    finally:
        stop.set()
        killer.join()


def received(listener: Listener, ids: set[int]) -> bool:
    return ids <= {n["id"] for n in listener.notifications}


def test_a_killed_subscription_loses_no_notification(tmp_path, private_redis):
    with worker_with_other(tmp_path, private_redis.url) as (server, other, channel):
        listener = Listener(server.url, register(server.url, "ann"), ["websocket"]).connect()
        try:
            wait_until(lambda: subscribers(private_redis.url, channel) == 1, DELIVERY_DEADLINE,
                       "the server to subscribe")
            # Keep killing the server's subscription (it comes back after a second)
            # and announce meanwhile. Redis drops what it publishes to nobody; a
            # publish that met the subscription proves nothing, so try until one
            # lands in the gap.
            lost: set[int] = set()
            for attempt in range(5):
                with killing_subscriptions(private_redis, channel):
                    announced = announce(other, f"While away {attempt}")
                    alone = subscribers(private_redis.url, channel) == 0
                if alone:
                    lost.add(announced)
                    break
                met = {announced}
                wait_until(lambda met=met: received(listener, met), DELIVERY_DEADLINE,
                           "the announcement that met the subscription")
            assert lost, "the server subscribed again before any announcement: no gap to test"

            # Subscribed again, the server resends what the gap held, unasked.
            wait_until(lambda: received(listener, lost), DELIVERY_DEADLINE,
                       f"the resend of {lost} after the gap")
            after = announce(other, "After the gap")
            wait_until(lambda: received(listener, {after}), DELIVERY_DEADLINE,
                       "live delivery after the gap")
            assert listener.client.connected
        finally:
            listener.disconnect()


@pytest.fixture
def sentinel(private_redis, tmp_path):
    service = f"fitness{uuid.uuid4().hex[:6]}"
    with RedisSentinel(tmp_path, private_redis, service=service) as sentinel:
        yield sentinel


def test_queue_and_presence_run_on_a_sentinel_url(tmp_path, private_redis, sentinel):
    assert sentinel.url.startswith("redis+sentinel://")
    with worker_with_other(tmp_path, sentinel.url) as (server, other, channel):
        listener = Listener(server.url, register(server.url, "ann"), ["websocket"]).connect()
        try:
            # The Sentinel named the master: the subscription is on that server.
            wait_until(lambda: subscribers(private_redis.url, channel) == 1, DELIVERY_DEADLINE,
                       "the server to subscribe through the Sentinel")
            announced = announce(other, "Through the Sentinel")
            wait_until(lambda: received(listener, {announced}), DELIVERY_DEADLINE,
                       "the announcement through the Sentinel")
            # Presence keeps this connection in a hash on the master.
            master = redis.Redis.from_url(private_redis.url, decode_responses=True)
            keys = list(master.scan_iter(match=f"fitness:{channel}:presence:*"))
            assert [len(master.hgetall(key)) for key in keys] == [1]
            master.close()
        finally:
            listener.disconnect()


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("scheme", "expected"),
    [("redis", "redis"), ("valkey", "redis"), ("rediss", "rediss"), ("valkeys", "rediss")],
)
def test_every_plain_url_form_names_the_same_server(scheme, expected):
    client = connect(f"{scheme}://:secret@cache.example:6380/3", "chan")
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "cache.example", 6380, 3, "secret")
    secure = client.connection_pool.connection_class.__name__ == "SSLConnection"
    assert secure == (expected == "rediss")


def test_a_sentinel_url_without_a_service_name_uses_the_channel():
    client = connect("redis+sentinel://:pw@s1:26379,s2:26380/2", "flask-socketio")
    pool = client.connection_pool
    assert pool.service_name == "flask-socketio"
    assert pool.connection_kwargs["db"] == 2
    addresses = [(s.connection_pool.connection_kwargs["host"],
                  s.connection_pool.connection_kwargs["port"])
                 for s in pool.sentinel_manager.sentinels]
    assert addresses == [("s1", 26379), ("s2", 26380)]
