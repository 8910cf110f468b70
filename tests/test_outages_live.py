"""PostgreSQL stopped under a server started as `make run` starts it, and started again.

The server runs with ASYNC_MODE=gevent, the mode PostgreSQL is served with
(docs/deployment.md), on a private PostgreSQL (never the shared one). A
browser-like client keeps its socket open through the outage.
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
