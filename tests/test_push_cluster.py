"""Two workers on PostgreSQL and Redis: a device with a socket on one gets no push from the other.

Presence in Redis carries each worker's connected devices, so the worker that
commits a notification knows that the phone's socket is open on the other
worker, and sends a push only to the devices with no socket anywhere.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
import redis
import requests

from fitness_app.services.push.keys import b64url
from tests.databases import PG_SKIP_REASON, postgres_schema
from tests.live import LiveServer, post_form, register, wait_until
from tests.services import TEST_REDIS_URL, require, shared_redis_reason
from tests.sio_client import Listener

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def workers(tmp_path_factory, push_service) -> Iterator[tuple[LiveServer, LiveServer]]:
    require("PostgreSQL", PG_SKIP_REASON)
    require("Redis", shared_redis_reason())
    from cryptography.hazmat.primitives.asymmetric import ec

    vapid = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    shared = {
        "ASYNC_MODE": "gevent",
        "REDIS_URL": TEST_REDIS_URL,
        "SOCKETIO_CHANNEL": f"push-{uuid.uuid4().hex[:8]}",
        "SECRET_KEY": secrets.token_hex(32),
        "VAPID_PRIVATE_KEY": b64url(vapid.to_bytes(32, "big")),
        "PUSH_SERVICES": push_service.origin,
    }
    with postgres_schema() as database_url:
        env = {**shared, "DATABASE_URL": database_url}
        with LiveServer(tmp_path_factory.mktemp("push-a"), env=env) as first, \
                LiveServer(tmp_path_factory.mktemp("push-b"), env=env) as second:
            yield first, second


def subscribe(base: str, session: requests.Session, subscription: dict) -> str:
    page = session.get(f"{base}/settings/", timeout=5).text
    token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = session.post(f"{base}/push/subscriptions", json=subscription,
                            headers={"X-CSRFToken": token}, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def device_connected(channel: str, device_id: str) -> bool:
    """What every worker reads: the device in some worker's presence hash in Redis."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    return any(client.hget(key, device_id)
               for key in client.scan_iter(match=f"fitness:{channel}:devices:*"))


def complete(base: str, session: requests.Session, title: str) -> None:
    response = post_form(session, base, "/workouts/new", "/workouts/new", {
        "title": title, "activity": "run", "duration_minutes": "30", "distance_km": "5",
        "performed_on": date.today().isoformat(), "completed": "y"})
    assert response.status_code == 302, response.text[:300]


def test_a_device_connected_to_one_worker_gets_no_push_from_the_other(workers, push_service):
    first, second = workers
    name = f"ann{uuid.uuid4().hex[:8]}"
    phone_http = register(first.url, name)
    phone, laptop = push_service.subscription(), push_service.subscription()
    phone_device = subscribe(first.url, phone_http, phone)
    laptop_http = requests.Session()
    post_form(laptop_http, second.url, "/auth/login", "/auth/login",
              {"email": f"{name}@example.com", "password": "password1"})
    subscribe(second.url, laptop_http, laptop)

    socket = Listener(first.url, phone_http, ["websocket"], device=phone_device).connect()
    try:
        complete(second.url, laptop_http, "Phone awake")
        socket.wait_for(1)
        [to_laptop] = push_service.wait(lambda s: s.for_(laptop))
        assert to_laptop.payload["message"].startswith("Phone awake")
    finally:
        socket.disconnect()
    wait_until(lambda: not device_connected(first.env["SOCKETIO_CHANNEL"], phone_device),
               timeout=10, message="the phone's socket to leave presence")
    complete(second.url, laptop_http, "Phone asleep")
    [to_phone] = push_service.wait(lambda s: s.for_(phone))
    assert to_phone.payload["message"].startswith("Phone asleep")
    push_service.wait(lambda s: len(s.for_(laptop)) == 2)
