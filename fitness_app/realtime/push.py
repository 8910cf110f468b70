"""The one place that emits Socket.IO events.

Everything the app sends to browsers goes through `emit`, so there is a single
point that decides which server instance speaks: the app's own `socketio`, or a
write-only one bound to the Redis message queue when a command runs outside the
web process (`flask announce`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app
from flask_socketio import SocketIO

from fitness_app.extensions import socketio

_EXTENSION_KEY = "fitness_push_emitter"


def emit(event: str, payload: dict[str, Any], to: str | list[str] | None = None) -> None:
    """Send `event` to a room, a list of rooms, or everyone connected when `to` is None."""
    emitter = current_app.extensions.get(_EXTENSION_KEY, socketio)
    emitter.emit(event, payload, to=to, namespace="/")


@contextmanager
def through_message_queue(url: str, channel: str) -> Iterator[None]:
    """Route emits through a write-only Socket.IO bound to the message queue at `url`."""
    current_app.extensions[_EXTENSION_KEY] = SocketIO(message_queue=url, channel=channel)
    try:
        yield
    finally:
        current_app.extensions.pop(_EXTENSION_KEY, None)
