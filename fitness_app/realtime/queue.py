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
from datetime import UTC, datetime, timedelta

import socketio as socketio_server
import sqlalchemy as sa
from flask import Flask, current_app

from fitness_app.extensions import db, socketio
from fitness_app.models import Notification, User
from fitness_app.realtime import push
from fitness_app.realtime.pubsub import RedisPubSub
from fitness_app.services import notifications

log = logging.getLogger(__name__)

# Rows created this long before the gap opened are resent too: a notification
# is stamped before its transaction commits and is published after.
RESYNC_MARGIN = timedelta(seconds=10)
_CURSORS_KEY = "fitness_resync_cursors"


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


def client_manager(app: Flask) -> socketio_server.Manager:
    """The Socket.IO client manager: Redis pub/sub with REDIS_URL (any URL form), else memory.

    Always a fresh object passed explicitly, because Flask-SocketIO keeps the
    options of an earlier `init_app` on the shared `socketio` extension.
    """
    app.extensions[_CURSORS_KEY] = _Cursors()
    url = app.config.get("REDIS_URL")
    if not url:
        return socketio_server.Manager()

    def on_subscribed(gap_began: datetime) -> None:
        socketio.start_background_task(resync, app, gap_began - RESYNC_MARGIN)

    return RedisPubSub(url, app.config["SOCKETIO_CHANNEL"], on_subscribed=on_subscribed)


def track(sid: str, user_id: int, last_id: int | None) -> None:
    """Remember a new connection; `last_id` None means it has seen nothing yet."""
    current_app.extensions[_CURSORS_KEY].track(sid, user_id, last_id or 0)


def forget(sid: str) -> None:
    current_app.extensions[_CURSORS_KEY].forget(sid)


def _created_since(user: User, since: datetime, limit: int) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(notifications.visible_to(user), Notification.created_at >= since)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resync(app: Flask, since: datetime) -> None:
    """Resend to this worker's connections what a pub/sub gap may have kept from them."""
    with app.app_context():
        try:
            by_user: dict[int, list[tuple[str, int, datetime]]] = {}
            for sid, (user_id, after, arrived) in app.extensions[_CURSORS_KEY].copy().items():
                by_user.setdefault(user_id, []).append((sid, after, arrived))
            counts = notifications.unread_counts(by_user)
            for user_id, connections in by_user.items():
                user = db.session.get(User, user_id)
                if user is None:
                    continue
                rows = _created_since(user, since, app.config["REPLAY_LIMIT"])
                missed = [(n.id, _utc(n.created_at), notifications.serialize(n)) for n in rows]
                for sid, after, arrived in connections:
                    for notification_id, created_at, payload in missed:
                        if notification_id > after or created_at <= arrived:
                            push.emit("notification", payload, to=sid)
                    push.emit("unread_count", {"count": counts.get(user_id, 0)}, to=sid)
            log.info("message queue: subscribed; resent to %d users what they may have "
                     "missed since %s", len(by_user), since.isoformat())
        except Exception:  # noqa: BLE001 - a background task: log, never kill the worker
            log.exception("message queue: resync after a gap failed")
        finally:
            db.session.remove()
