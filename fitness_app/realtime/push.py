"""The one place that talks to connected browsers: emits, fan-outs, disconnects.

Everything the app sends to browsers goes through `emit`, so there is a single
point that decides which server instance speaks: the app's own `socketio`, or a
write-only one bound to the Redis message queue when a command runs outside the
web process (`flask announce`). This package imports nothing from
`fitness_app.services`; services call down into it, never the other way.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app

from fitness_app.extensions import socketio
from fitness_app.realtime import presence
from fitness_app.realtime.pubsub import RedisPubSub

_EXTENSION_KEY = "fitness_push_emitter"

Packet = tuple[str, dict[str, Any], str | list[str] | None]


def emit(event: str, payload: dict[str, Any], to: str | list[str] | None = None) -> None:
    """Send `event` to a room, a list of rooms, or everyone connected when `to` is None.

    Never raises. Emits run after COMMIT, so an exception here would turn a
    request whose data is already stored into a 500. A failed emit costs only
    live delivery: the row is in the inbox, and the resend after a pub/sub gap
    (`services/notifications/replay.py`) or `last_id` replay on the next connection brings it.
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


#: Emits between two yields of a long fan-out (a scheduler batch: two per user).
YIELD_EVERY = 100


def fan_out(packets: Iterable[Packet]) -> None:
    """Emit (event, payload, to) packets with the collector paused, then yield.

    Under eventlet an emit only queues packets for each socket's writer; the
    yield lets the writers send them now, before the caller's HTTP response.
    A long fan-out (a scheduler batch of 500 users is 1,000 emits) also
    yields every YIELD_EVERY emits, so other requests are served meanwhile.
    """
    with collector_paused():
        for count, (event, payload, to) in enumerate(packets, 1):
            emit(event, payload, to=to)
            if count % YIELD_EVERY == 0:
                socketio.sleep(0)
        socketio.sleep(0)


class _CollectorPause:
    """A process-wide pause of the garbage collector, counted across callers.

    A broadcast allocates per recipient, and every packet stays alive until
    its socket's writer has sent it, so a young collection in the middle walks
    them all: 0.2-0.5 s with 15,000 sockets (docs/performance.md). Paused, the
    collection comes after, when they are garbage. Counted, so that in
    threading mode one request's end never resumes the collector during
    another's fan-out, and only a pause that found it running resumes it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._resume:
                    gc.enable()


collector_paused = _CollectorPause()


def disconnect(sids: Iterable[str]) -> None:
    """Close these sockets, in whichever worker holds them (through the queue)."""
    for sid in sids:
        socketio.server.disconnect(sid, namespace="/")


def close_connection(sid: str) -> None:
    """Close a socket of this worker down to its transport, dropping what it still sends.

    A namespace disconnect alone leaves the Engine.IO connection open, and
    every packet still buffered on it would be read, decoded and refused one
    by one; closing the transport discards them.
    """
    eio_sid = socketio.server.manager.eio_sid_from_sid(sid, "/")
    socketio.server.disconnect(sid, namespace="/")
    if eio_sid is not None:
        socketio.server.eio.disconnect(eio_sid)


def disconnect_login(login_id: str) -> None:
    """Close every socket opened under one login session, in any worker.

    Flask-SocketIO copies the session at connect, so ending a login over HTTP
    does not reach open sockets by itself; the auth and logins services call
    this after their COMMIT.
    """
    if login_id:
        disconnect(presence.store().sids_for_login(login_id))
