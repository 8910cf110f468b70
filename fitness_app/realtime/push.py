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

from fitness_app.extensions import socketio
from fitness_app.realtime.pubsub import RedisPubSub

_EXTENSION_KEY = "fitness_push_emitter"


def emit(event: str, payload: dict[str, Any], to: str | list[str] | None = None) -> None:
    """Send `event` to a room, a list of rooms, or everyone connected when `to` is None.

    Never raises. Emits run after COMMIT, so an exception here would turn a
    request whose data is already stored into a 500. A failed emit costs only
    live delivery: the row is in the inbox, and the resend after a pub/sub gap
    (`queue.resync`) or `last_id` replay on the next connection brings it.
    python-socketio's RedisManager already logs and swallows a publish that
    fails while Redis is down (after delivering to this worker's own clients);
    this guard covers every other failure.
    """
    emitter = current_app.extensions.get(_EXTENSION_KEY, socketio)
    try:
        emitter.emit(event, payload, to=to, namespace="/")
    except Exception:  # noqa: BLE001 - see the docstring: delivery is best effort
        current_app.logger.exception("emit of %r to %r failed; replay will cover it", event, to)


@contextmanager
def through_message_queue(url: str, channel: str) -> Iterator[None]:
    """Route emits through a write-only client manager on the message queue at `url`.

    python-socketio's documented way to emit from a process that serves no
    clients; it starts no server, so a command never imports eventlet.
    """
    current_app.extensions[_EXTENSION_KEY] = RedisPubSub(url, channel, write_only=True)
    try:
        yield
    finally:
        current_app.extensions.pop(_EXTENSION_KEY, None)
