"""PostgreSQL stopped under a server started as `make run` starts it, and started again.

The server runs with ASYNC_MODE=gevent, the mode PostgreSQL is served with
(docs/deployment.md), on a private PostgreSQL (never the shared one). A
browser-like client keeps its socket open through the outage, and a page in
Chromium whose socket is refused meanwhile connects again by itself.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
import socketio

from deploy.processes import PostgresServer
from tests.conftest import CHROMIUM
from tests.live import LiveServer, csrf_token, register
from tests.services import postgres_server_reason, require
from tests.sio_client import Listener

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LiveServer, PostgresServer]]:
    require("a private PostgreSQL", postgres_server_reason())
    with PostgresServer() as database:
        workdir = Path(tempfile.mkdtemp(prefix="fitness-outage-live-"))
        env = {"DATABASE_URL": database.url, "ASYNC_MODE": "gevent"}
        with LiveServer(workdir, env) as server:
            yield server, database


def post_workout(session: requests.Session, base: str, token: str, title: str):
    return session.post(
        f"{base}/workouts/new", allow_redirects=False, timeout=30,
        data={"csrf_token": token, "title": title, "activity": "run", "duration_minutes": "30",
              "distance_km": "5", "performed_on": date.today().isoformat(), "completed": "y"},
    )


def test_a_database_restart_under_a_live_server(served):
    server, database = served
    ann = register(server.url, "ann")
    token = csrf_token(ann, f"{server.url}/workouts/new")
    assert post_workout(ann, server.url, token, "Before").status_code == 302
    steady = Listener(server.url, ann, ["websocket"], last_id=0).connect()
    first = steady.wait_for(1)[0]["id"]

    database.stop()
    try:
        during = post_workout(ann, server.url, token, "During")
        health = requests.get(f"{server.url}/healthz", timeout=30)
        ack = steady.client.call("mark_read", {"id": first}, timeout=30)
        late = Listener(server.url, ann, ["websocket"], last_id=0)
        with pytest.raises(socketio.exceptions.ConnectionError):
            late.connect()
    finally:
        database.start()

    assert (during.status_code, during.headers["Retry-After"]) == (503, "5")
    assert (health.status_code, health.json()) == (503, {"status": "unavailable"})
    assert ack == {"ok": False, "error": "unavailable"}
    assert late.connect_errors == [{"message": "unavailable"}]
    assert steady.client.connected

    # The first request after the return succeeds, with no restart of the server.
    assert post_workout(ann, server.url, token, "After").status_code == 302
    messages = [n["message"] for n in steady.wait_for(2)]
    assert messages == ["Before, 5 km in 30 min", "After, 5 km in 30 min"]
    late.connect()
    assert [n["message"] for n in late.wait_for(2)] == messages
    for listener in (steady, late):
        listener.disconnect()
    log = server.log_path.read_text()
    assert "Traceback" not in log
    assert log.count("database unreachable") == 1


CONNECTED = "() => Boolean(window.fitnessSocket && window.fitnessSocket.connected)"
REFUSALS = """() => { window.refusals = [];
  window.fitnessSocket.on("connect_error", (e) => window.refusals.push(e.message));
  window.fitnessSocket.disconnect(); window.fitnessSocket.connect(); }"""


def test_a_page_refused_during_the_outage_connects_again_after_it(served, request):
    require("Chromium", None if CHROMIUM.exists() else "not installed at /usr/bin/chromium")
    from playwright.sync_api import expect

    server, database = served
    bea = register(server.url, "bea")
    context = request.getfixturevalue("browser").new_context(base_url=server.url)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": c.name, "value": c.value, "url": server.url}
                         for c in bea.cookies])
    page = context.new_page()
    page.goto("/")
    page.wait_for_function(CONNECTED)
    database.stop()
    try:
        # The page reconnects (as after a worker's restart) while the database is away.
        page.evaluate(REFUSALS)
        page.wait_for_function("() => window.refusals.includes('unavailable')")
        expect(page.locator("#connection-status")).to_be_visible()
    finally:
        database.start()
    # socket.io gives up on a refusal; the page tries again 2-5 s later.
    page.wait_for_function(CONNECTED)
    expect(page.locator("#connection-status")).to_be_hidden()
    token = csrf_token(bea, f"{server.url}/workouts/new")
    assert post_workout(bea, server.url, token, "Back online").status_code == 302
    expect(page.locator("#notification-container .toast")).to_contain_text("Back online")
    context.close()
