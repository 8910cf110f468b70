"""The Redis message queue between workers, and what to do about the gaps it leaves.

Flask-SocketIO's message queue is Redis pub/sub, which keeps nothing for a
subscriber that is away. While a worker is not subscribed (Redis stopped or
restarting, the connection cut, the worker just started), emits from other
workers never reach its clients, and the clients cannot notice: the next
notification that does arrive moves their `last_id` past the lost ones, so no
replay on a later reconnect would fetch them.

A worker killed between a COMMIT and its publish leaves the same kind of gap
for every other worker; the survivors notice when its presence entry expires
(realtime/presence_feed.py) and resend the same way.

So every subscription closes a gap: the worker then resends to each
connection it holds the stored notifications created since shortly before the
gap opened, and the current unread count. A connection that arrived before the
gap gets only the ids above the `last_id` it arrived with (the page showed the
rest). One that arrived during the gap gets those below too: its `last_id`
may already have jumped the gap, on a page that received a newer notification
from its own worker. Clients show an id once, so what they already have costs
only bytes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import socketio as socketio_server
from flask import Flask, current_app

from fitness_app.extensions import socketio
from fitness_app.realtime.pubsub import RedisPubSub

log = logging.getLogger(__name__)

# Rows created this long before the gap opened are resent too: a notification
# is stamped before its transaction commits and is published after.
RESYNC_MARGIN = timedelta(seconds=10)
_CURSORS_KEY = "fitness_resync_cursors"
_ON_GAP_KEY = "fitness_resync_on_gap"


class _Cursors:
    """sid → (user id, the `last_id` it arrived with, when), for this worker's connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sid: dict[str, tuple[int, int, datetime]] = {}

    def track(self, sid: str, user_id: int, last_id: int) -> None:
        with self._lock:
            self._by_sid[sid] = (user_id, last_id, datetime.now(UTC))

    def forget(self, sid: str) -> None:
        with self._lock:
            self._by_sid.pop(sid, None)

    def copy(self) -> dict[str, tuple[int, int, datetime]]:
        with self._lock:
            return dict(self._by_sid)


def client_manager(
    app: Flask, on_gap: Callable[[Flask, datetime], None]
) -> socketio_server.Manager:
    """The Socket.IO client manager: Redis pub/sub with REDIS_URL (any URL form), else memory.

    `on_gap(app, since)` resends what a gap may have dropped (the replay
    service; this package never imports services). Always a fresh object
    passed explicitly, because Flask-SocketIO keeps the options of an earlier
    `init_app` on the shared `socketio` extension.
    """
    app.extensions[_CURSORS_KEY] = _Cursors()
    app.extensions[_ON_GAP_KEY] = on_gap
    url = app.config.get("REDIS_URL")
    if not url:
        return socketio_server.Manager()

    def on_subscribed(gap_began: datetime) -> None:
        socketio.start_background_task(on_gap, app, gap_began - RESYNC_MARGIN)

    return RedisPubSub(url, app.config["SOCKETIO_CHANNEL"], on_subscribed=on_subscribed)


def worker_departed(app: Flask, ttl_seconds: float) -> None:
    """Another worker died: resend what it may have stored and never published.

    A worker killed between its COMMIT and its publish leaves rows no live
    socket heard of, and a client that then receives a newer notification has
    a `last_id` past them. Its death is noticed when its presence entry
    expires, `ttl_seconds` after its last heartbeat, so the resend reaches back
    that far, plus the margin.
    """
    since = datetime.now(UTC) - timedelta(seconds=ttl_seconds) - RESYNC_MARGIN
    log.warning("message queue: a worker's presence expired; resending what it may have "
                "left unpublished since %s", since.isoformat())
    socketio.start_background_task(app.extensions[_ON_GAP_KEY], app, since)


def track(sid: str, user_id: int, last_id: int | None) -> None:
    """Remember a new connection; `last_id` None means it has seen nothing yet."""
    current_app.extensions[_CURSORS_KEY].track(sid, user_id, last_id or 0)


def forget(sid: str) -> None:
    current_app.extensions[_CURSORS_KEY].forget(sid)


def connections(app: Flask) -> dict[str, tuple[int, int, datetime]]:
    """This worker's connections: sid → (user id, `last_id` at arrival, arrival time)."""
    return app.extensions[_CURSORS_KEY].copy()
