"""Presence on the real server: a connection that vanishes without a goodbye."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.live import LiveServer, cookie_header, register
from tests.sio_client import Listener

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def quick_ping_server(tmp_path_factory):
    """A server that drops a silent client after about two seconds."""
    with LiveServer(
        tmp_path_factory.mktemp("presence"),
        env={"SOCKETIO_PING_INTERVAL": "1", "SOCKETIO_PING_TIMEOUT": "1"},
    ) as server:
        yield server


def promote(server: LiveServer, username: str) -> None:
    result = server.flask("create-admin", "--email", f"{username}@example.com",
                          "--username", username, "--password", "unused-password")
    assert result.returncode == 0, result.stderr


def open_silent_polling_socket(base: str, session: requests.Session) -> None:
    """Handshake and join over long-polling, then never poll again: a phone gone dark."""
    headers = {"Cookie": cookie_header(session)}
    handshake = requests.get(f"{base}/socket.io/?EIO=4&transport=polling", headers=headers,
                             timeout=5)
    sid = re.search(r'"sid":"([^"]+)"', handshake.text).group(1)
    joined = requests.post(f"{base}/socket.io/?EIO=4&transport=polling&sid={sid}",
                           data="40", headers=headers, timeout=5)
    assert joined.text == "OK"


def test_a_connection_dropped_without_goodbye_leaves_the_count(quick_ping_server):
    base = quick_ping_server.url
    boss_name = f"boss{uuid.uuid4().hex[:6]}"
    boss = register(base, boss_name)
    promote(quick_ping_server, boss_name)
    admin = Listener(base, boss, ["websocket"]).connect()
    try:
        admin.wait_for_presence(users=1, connections=1)
        phone = register(base, f"ann{uuid.uuid4().hex[:6]}")
        open_silent_polling_socket(base, phone)
        admin.wait_for_presence(users=2, connections=2)
        # No goodbye was sent: the ping timeout (1 s + 1 s) is what removes it.
        admin.wait_for_presence(users=1, connections=1, timeout=10)
    finally:
        admin.disconnect()
