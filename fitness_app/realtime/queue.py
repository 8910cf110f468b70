"""The Redis message queue between workers, and what to do about the gaps it leaves.

Flask-SocketIO's message queue is Redis pub/sub, which keeps nothing for a
subscriber that is away. While a worker is not subscribed (Redis stopped or
restarting, the connection cut, the worker just started), emits from other
workers never reach its clients, and the clients cannot notice: the next
notification that does arrive moves their `last_id` past the lost ones, so no
replay on a later reconnect would fetch them.

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
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import socketio as socketio_server
from flask import Flask, current_app

from fitness_app.extensions import socketio

log = logging.getLogger(__name__)

# Rows created this long before the gap opened are resent too: a notification
# is stamped before its transaction commits and is published after.
RESYNC_MARGIN = timedelta(seconds=10)
_CURSORS_KEY = "fitness_resync_cursors"


class GapReportingRedisManager(socketio_server.RedisManager):
    """python-socketio's RedisManager, reporting when each subscription starts.

    It overrides the listener loop of python-socketio 5.18 (a private method)
    in two ways. The loop subscribes through a Redis client of its own without
    redis-py's silent retries, which would re-subscribe behind its back and
    hide a gap; and after each subscription it calls `on_subscribed` with the
    moment the gap began. tests/test_cluster.py restarts Redis under it.
    """

    def __init__(self, url: str, channel: str,
                 on_subscribed: Callable[[datetime], None]) -> None:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Publishing: fail fast while Redis is down (the caller logs and moves on).
        super().__init__(url, channel=channel, redis_options={
            "socket_connect_timeout": 2, "socket_timeout": 2, "retry": Retry(NoBackoff(), 1),
        })
        self._listen_options = {"socket_connect_timeout": 2, "retry": Retry(NoBackoff(), 0)}
        self._on_subscribed = on_subscribed
        self._gap_began = datetime.now(UTC)

    def _redis_listen_with_retries(self) -> Iterator[dict[str, Any]]:
        retry_sleep = 1
        while True:
            pubsub = None
            try:
                client = self._get_redis_module().Redis.from_url(
                    self.redis_url, **self._listen_options
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                retry_sleep = 1
                self._on_subscribed(self._gap_began)
                try:
                    yield from pubsub.listen()
                finally:
                    self._gap_began = datetime.now(UTC)
            except Exception as exc:  # noqa: BLE001 - as python-socketio's loop: retry anything
                log.warning("message queue: cannot receive from Redis (%s); retrying in %s s",
                            exc, retry_sleep)
                time.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 30)
            finally:
                if pubsub is not None:
                    pubsub.close()


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
    """The Socket.IO client manager: gap-reporting Redis with REDIS_URL, else in memory.

    `on_gap(app, since)` resends what a gap may have dropped (the replay
    service; this package never imports services). Always a fresh object
    passed explicitly, because Flask-SocketIO keeps the options of an earlier
    `init_app` on the shared `socketio` extension.
    """
    app.extensions[_CURSORS_KEY] = _Cursors()
    url = app.config.get("REDIS_URL")
    if not url:
        return socketio_server.Manager()

    def on_subscribed(gap_began: datetime) -> None:
        socketio.start_background_task(on_gap, app, gap_began - RESYNC_MARGIN)

    return GapReportingRedisManager(url, app.config["SOCKETIO_CHANNEL"], on_subscribed)


def track(sid: str, user_id: int, last_id: int | None) -> None:
    """Remember a new connection; `last_id` None means it has seen nothing yet."""
    current_app.extensions[_CURSORS_KEY].track(sid, user_id, last_id or 0)


def forget(sid: str) -> None:
    current_app.extensions[_CURSORS_KEY].forget(sid)


def connections(app: Flask) -> dict[str, tuple[int, int, datetime]]:
    """This worker's connections: sid → (user id, `last_id` at arrival, arrival time)."""
    return app.extensions[_CURSORS_KEY].copy()
