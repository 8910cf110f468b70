"""A python-socketio client that records what a real browser socket would receive."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import socketio

from tests.live import cookie_header

# How long a test waits for an event before it fails. Waits end as soon as the
# event arrives, so only a failing test pays it; it is long because a busy
# machine (CI, or two cores shared with other work) can hold a delivery for seconds.
DELIVERY_DEADLINE = 15.0


class Listener:
    """One Socket.IO connection with the session cookie of a signed-in HTTP session.

    `auth` is a callable, so a reconnect sends the highest id seen so far, as
    the browser client does; `device` is sent as `auth.device` (a push device
    that then hears this socket instead of Web Push).
    """

    def __init__(self, base: str, session: requests.Session, transports: list[str],
                 last_id: int | None = None, device: str | None = None) -> None:
        self.base = base
        self.session = session
        self.transports = transports
        self.last_id = last_id
        self.device = device
        self.notifications: list[dict[str, Any]] = []
        self.unread: list[int] = []
        self.connect_errors: list[Any] = []
        self.presence: list[dict[str, int]] = []
        self._changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("notification", self._on_notification)
        self.client.on("unread_count", self._on_unread)
        self.client.on("connect_error", self._on_connect_error)
        self.client.on("presence", self._on_presence)

    def _on_notification(self, payload: dict[str, Any]) -> None:
        with self._changed:
            if all(n["id"] != payload["id"] for n in self.notifications):
                self.notifications.append(payload)
                self.last_id = max(self.last_id or 0, payload["id"])
            self._changed.notify_all()

    def _on_unread(self, payload: dict[str, int]) -> None:
        with self._changed:
            self.unread.append(payload["count"])
            self._changed.notify_all()

    def _on_presence(self, payload: dict[str, int]) -> None:
        with self._changed:
            self.presence.append(payload)
            self._changed.notify_all()

    def wait_for_presence(self, users: int, connections: int,
                          timeout: float = DELIVERY_DEADLINE) -> None:
        """Block until the latest `presence` event shows these figures."""
        expected = {"users": users, "connections": connections}
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: bool(self.presence) and self.presence[-1] == expected, timeout
            )
            assert arrived, f"presence never became {expected}: {self.presence[-3:]}"

    def _on_connect_error(self, data: Any) -> None:
        self.connect_errors.append(data)

    def connect(self) -> Listener:
        self.client.connect(
            self.base,
            headers={"Cookie": cookie_header(self.session)},
            transports=self.transports,
            auth=self._auth,
            wait_timeout=10,
        )
        return self

    def _auth(self) -> dict[str, Any]:
        auth: dict[str, Any] = {} if self.last_id is None else {"last_id": self.last_id}
        if self.device is not None:
            auth["device"] = self.device
        return auth

    def disconnect(self) -> None:
        if self.client.connected:
            self.client.disconnect()

    def wait_for(self, count: int, timeout: float = DELIVERY_DEADLINE) -> list[dict[str, Any]]:
        """Block until `count` notifications arrived; fail after `timeout` seconds."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.notifications) >= count, timeout)
            assert arrived, (
                f"{len(self.notifications)} of {count} notifications after {timeout}s "
                f"over {self.transports}: {self.notifications}"
            )
            return list(self.notifications)

    def transport(self) -> str:
        return self.client.transport()


@contextmanager
def both_transports(base: str, session: requests.Session) -> Iterator[list[Listener]]:
    """A WebSocket-only and a polling-only socket of one user, closed afterwards."""
    listeners = [Listener(base, session, ["websocket"]), Listener(base, session, ["polling"])]
    try:
        yield [listener.connect() for listener in listeners]
    finally:
        for listener in listeners:
            listener.disconnect()
