"""Socket.IO handlers: who may connect, which room they join, what they can ask.

The browser sends nothing but `auth.last_id` on connect and `mark_read`
afterwards; every other event travels server → client through `push.emit`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room

from fitness_app.extensions import db, socketio
from fitness_app.realtime import presence, push, queue
from fitness_app.realtime.rooms import ADMINS_ROOM, user_room
from fitness_app.services import notifications

_LOOP_KEY = "fitness_presence_loop"
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def _last_id(auth: Any) -> int | None:
    if not isinstance(auth, dict):
        return None
    value = auth.get("last_id")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        return None
    return value


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    """Browser → server. Refuse anonymous sockets; put the rest in their user's room.

    With `auth.last_id`, first send this connection every stored notification
    above it (oldest first, at most REPLAY_LIMIT), so a reconnect loses nothing.
    """
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("unauthorized")
    user = current_user._get_current_object()
    join_room(user_room(user.id))
    presence.store().add(request.sid, user.id, str(user.login_id))
    if user.is_admin:
        join_room(ADMINS_ROOM)
        presence.store().watch(request.sid)
    _ensure_presence_loop(current_app._get_current_object())
    last_id = _last_id(auth)
    queue.track(request.sid, user.id, last_id)
    if last_id is not None:
        for notification in notifications.list_after(
            user, last_id, current_app.config["REPLAY_LIMIT"]
        ):
            push.emit("notification", notifications.serialize(notification), to=request.sid)
    push.emit("unread_count", {"count": notifications.unread_count(user.id)}, to=request.sid)
    if user.is_admin:
        push.emit("presence", presence.store().snapshot().as_payload(), to=request.sid)


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    """Server-side cleanup for a goodbye, a ping timeout, or a logout."""
    presence.store().remove(request.sid)
    queue.forget(request.sid)


@socketio.on("mark_read")
def on_mark_read(data: Any) -> dict[str, Any]:
    """Browser → server, with an ack. The count change goes to all the user's sockets."""
    if not current_user.is_authenticated:
        return {"ok": False, "error": "unauthorized"}
    notification_id = data.get("id") if isinstance(data, dict) else None
    if (
        isinstance(notification_id, bool)
        or not isinstance(notification_id, int)
        or not 1 <= notification_id <= MAX_ID
    ):
        return {"ok": False, "error": "id must be a positive integer"}
    if not notifications.mark_read(current_user, notification_id):
        return {"ok": False, "error": "no such notification"}
    return {"ok": True}


@socketio.on_error_default
def on_error(exc: Exception) -> dict[str, Any]:
    """Any failure in a handler: roll back, log, and answer the ack instead of hanging."""
    db.session.rollback()
    current_app.logger.exception("socket.io handler failed", exc_info=exc)
    return {"ok": False, "error": "server error"}


def _ensure_presence_loop(app: Flask) -> None:
    if app.extensions.get(_LOOP_KEY):
        return
    app.extensions[_LOOP_KEY] = {"stop": False}
    socketio.start_background_task(_presence_loop, app)


def _presence_loop(app: Flask) -> None:
    """Tell admins the online figures when they change; keep this worker's entry alive.

    Counting reads every worker's entries, so only a worker holding an admin's
    socket counts; each admin then hears it from their own worker.
    """
    state = app.extensions[_LOOP_KEY]
    interval = app.config["PRESENCE_INTERVAL_SECONDS"]
    last: presence.Snapshot | None = None
    while not state["stop"]:
        socketio.sleep(interval)
        with app.app_context():
            try:
                store = presence.store()
                store.heartbeat()
                if not store.admins_watching():
                    last = None
                    continue
                snapshot = store.snapshot()
                if snapshot != last:
                    push.emit("presence", snapshot.as_payload(), to=ADMINS_ROOM)
                    last = snapshot
            except Exception:  # noqa: BLE001 - Redis down must not end the loop
                app.logger.exception("presence update failed")


def stop_presence_loop(app: Flask) -> None:
    """Let the loop end; tests call it so no thread outlives its app."""
    state = app.extensions.get(_LOOP_KEY)
    if state:
        state["stop"] = True
