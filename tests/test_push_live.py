"""Web Push on a real server started as `make run` starts it (eventlet, OS threads for sending).

A phone that keeps its socket open hears notifications there and gets no
push; once it goes dark (the browser suspended the tab), what happens on the
laptop reaches it as a push at once; when it comes back, replay from its
`last_id` brings the same notifications into the page, and no extra push.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
import requests

from tests.live import LiveServer, post_form, register
from tests.pushservice import PushService
from tests.sio_client import Listener

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory, push_service: PushService) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("push-live"),
                    env={"PUSH_SERVICES": push_service.origin}) as server:
        yield server


def subscribe(server: LiveServer, session: requests.Session, subscription: dict) -> str:
    """POST the subscription as push.js does: JSON, the page's CSRF token in X-CSRFToken."""
    page = session.get(f"{server.url}/settings/", timeout=5).text
    token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = session.post(f"{server.url}/push/subscriptions", json=subscription,
                            headers={"X-CSRFToken": token}, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def complete(server: LiveServer, session: requests.Session, title: str) -> None:
    response = post_form(session, server.url, "/workouts/new", "/workouts/new", {
        "title": title, "activity": "run", "duration_minutes": "30", "distance_km": "5",
        "performed_on": date.today().isoformat(), "completed": "y"})
    assert response.status_code == 302, response.text[:300]


def test_a_phone_that_went_dark_gets_pushes_and_then_catches_up_once(server, push_service):
    name = f"ann{uuid.uuid4().hex[:8]}"
    phone_http = register(server.url, name)
    laptop_http = requests.Session()
    post_form(laptop_http, server.url, "/auth/login", "/auth/login",
              {"email": f"{name}@example.com", "password": "password1"})
    phone_subscription = push_service.subscription()
    device = subscribe(server, phone_http, phone_subscription)
    # The laptop's own device has no socket: its pushes show when the server
    # has looked at this user's devices for a notification (one look for both).
    laptop_subscription = push_service.subscription()
    subscribe(server, laptop_http, laptop_subscription)

    phone = Listener(server.url, phone_http, ["websocket"], last_id=0, device=device).connect()
    complete(server, laptop_http, "While awake")
    [awake] = phone.wait_for(1)
    # The phone's socket was open: it heard the event there, and no push was sent.
    complete(server, laptop_http, "Still awake")
    phone.wait_for(2)
    push_service.wait(lambda s: len(s.for_(laptop_subscription)) == 2)
    phone.disconnect()

    complete(server, laptop_http, "In the pocket")
    complete(server, laptop_http, "Still in the pocket")
    arrived = push_service.wait(lambda s: len(s.for_(phone_subscription)) >= 2 and
                                s.for_(phone_subscription))
    # Two pushes leave on their own and may reach the push service in either
    # order (Web Push promises no order; the phone shows each by its tag).
    pushes = sorted(arrived, key=lambda p: p.payload["id"])
    assert [p.payload["message"].split(",")[0] for p in pushes] == [
        "In the pocket", "Still in the pocket"]

    back = Listener(server.url, phone_http, ["websocket"], last_id=phone.last_id,
                    device=device).connect()
    try:
        caught_up = back.wait_for(2)
        assert [n["id"] for n in caught_up] == [p.payload["id"] for p in pushes]
        assert caught_up[0]["id"] > awake["id"]
        complete(server, laptop_http, "Awake again")
        back.wait_for(3)
    finally:
        back.disconnect()
    # The notifications made while the phone was connected were never pushed.
    assert len(push_service.for_(phone_subscription)) == 2


def sign_up_with_phones(server: LiveServer, push_service: PushService, count: int) -> list:
    phones = []
    for _ in range(count):
        session = register(server.url, f"bob{uuid.uuid4().hex[:8]}")
        phones.append(push_service.subscription(shared=True))
        subscribe(server, session, phones[-1])
    return phones


def test_an_admin_broadcast_reaches_every_device(server, push_service):
    phones = sign_up_with_phones(server, push_service, 3)
    admin_name = f"boss{uuid.uuid4().hex[:8]}"
    admin = register(server.url, admin_name)
    result = server.flask("create-admin", "--email", f"{admin_name}@example.com",
                          "--username", admin_name, "--password", "unused-password")
    assert result.returncode == 0, result.stderr
    response = post_form(admin, server.url, "/admin/", "/admin/broadcast",
                         {"message": "Track closed tomorrow"})
    assert response.status_code == 302
    for phone in phones:
        [push] = push_service.wait(lambda s, phone=phone: s.for_(phone))
        assert push.payload["message"] == "Track closed tomorrow"


def test_flask_announce_pushes_from_the_command(server, push_service):
    phones = sign_up_with_phones(server, push_service, 2)
    result = server.flask("announce", "Pool open late")
    assert result.returncode == 0, result.stderr
    assert "Pushed to" in result.stdout
    for phone in phones:
        assert [p.payload["message"] for p in push_service.for_(phone)] == ["Pool open late"]
