"""Socket.IO handlers: who may connect, which room they join, what they can ask.

The browser sends nothing but `auth` (`last_id`, `device`) on connect and
`mark_read` afterwards; every other event travels server → client through `push`.
Like the blueprints, these handlers call services; nothing imports them.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room
from sqlalchemy.exc import SQLAlchemyError

from fitness_app import outages
from fitness_app.extensions import db, socketio
from fitness_app.realtime import presence, push, queue
from fitness_app.realtime.presence_feed import ensure_presence_loop
from fitness_app.realtime.rooms import ADMINS_ROOM, user_room
from fitness_app.services.notifications import inbox, read_marks
from fitness_app.services.notifications.links import links_for
from fitness_app.services.notifications.payload import serialize
from fitness_app.services.notifications.unread_counts import unread_count
from fitness_app.services.push import devices
from fitness_app.sockets import limits

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def _last_id(auth: Any) -> int | None:
    if not isinstance(auth, dict):
        return None
    value = auth.get("last_id")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        return None
    return value


def _device(auth: Any, login_id: int | None) -> str | None:
    """`auth.device`, when it names a push device of this very login session.

    Anything else is ignored: a connection cannot silence another session's
    (or another user's) pushes by naming its device.
    """
    value = auth.get("device") if isinstance(auth, dict) else None
    if not devices.is_device_id(value) or login_id is None:
        return None
    return value if devices.of_login(value, login_id) else None


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    """Browser → server. Refuse anonymous sockets; put the rest in their user's room.

    With `auth.last_id`, first send this connection every stored notification
    above it (oldest first, at most REPLAY_LIMIT), so a reconnect loses nothing.
    With `auth.device`, that device gets no Web Push while this socket is open.
    Whatever fails on the way refuses the connection, undoing what was done:
    a socket accepted without its room would look connected and hear nothing.
    While the database is away the refusal says "unavailable", and the page's
    client tries again a little later.
    """
    try:
        _join(auth)
    except ConnectionRefusedError:
        raise
    except Exception as error:
        presence.store().remove(request.sid)
        queue.forget(request.sid)
        if isinstance(error, SQLAlchemyError) and outages.is_database_outage(error):
            outages.give_up_transaction()
            outages.state().noted(error)
            raise ConnectionRefusedError("unavailable") from error
        db.session.rollback()
        current_app.logger.exception("socket.io connect failed")
        raise ConnectionRefusedError("server error") from error


def _join(auth: Any) -> None:
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("unauthorized")
    user = current_user._get_current_object()
    # The room first, then the replay: a notification stored in between is
    # both replayed and pushed, never neither. Clients show an id once.
    join_room(user_room(user.id))
    device_id = _device(auth, user.login_id)
    presence.store().add(request.sid, user.id, str(user.login_id), device_id)
    if user.is_admin:
        join_room(ADMINS_ROOM)
        presence.store().watch(request.sid)
    ensure_presence_loop(current_app._get_current_object())
    last_id = _last_id(auth)
    queue.track(request.sid, user.id, last_id)
    packets: list[push.Packet] = []
    if last_id is not None:
        missed = inbox.list_after(user, last_id, current_app.config["REPLAY_LIMIT"])
        links = links_for(missed)
        for notification in missed:
            packets.append(("notification", serialize(notification, links), request.sid))
    packets.append(("unread_count", {"count": unread_count(user.id)}, request.sid))
    if user.is_admin:
        packets.append(("presence", presence.store().snapshot().as_payload(), request.sid))
    db.session.rollback()
    for event, payload, to in packets:
        push.emit(event, payload, to=to)


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    """Server-side cleanup for a goodbye, a ping timeout, or a logout."""
    presence.store().remove(request.sid)
    queue.forget(request.sid)
    limits.forget(request.sid)


def _is_id(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= MAX_ID


@socketio.on("mark_read")
@limits.limited
def on_mark_read(data: Any) -> dict[str, Any]:
    """Browser → server, with an ack: `{"id": N}`, or `{"ids": [N, …]}` for a popup's group.

    The count change goes to all the user's sockets.
    """
    if not current_user.is_authenticated:
        return {"ok": False, "error": "unauthorized"}
    if isinstance(data, dict) and "ids" in data:
        ids = data["ids"]
        if (
            not isinstance(ids, list)
            or not 0 < len(ids) <= read_marks.MAX_MARKED
            or not all(_is_id(i) for i in ids)
        ):
            return {"ok": False, "error": (
                f"ids must be a list of 1 to {read_marks.MAX_MARKED} positive integers")}
        if not read_marks.mark_many_read(current_user, ids):
            return {"ok": False, "error": "no such notification"}
        return {"ok": True}
    notification_id = data.get("id") if isinstance(data, dict) else None
    if not _is_id(notification_id):
        return {"ok": False, "error": "id must be a positive integer"}
    if not read_marks.mark_read(current_user, notification_id):
        return {"ok": False, "error": "no such notification"}
    return {"ok": True}


@socketio.on_error_default
def on_error(exc: Exception) -> dict[str, Any]:
    """Any failure in a handler: roll back, log, and answer the ack instead of hanging.

    The database being away is an outage, not a failure: "unavailable", logged
    once per outage.
    """
    if isinstance(exc, SQLAlchemyError) and outages.is_database_outage(exc):
        outages.give_up_transaction()
        outages.state().noted(exc)
        return {"ok": False, "error": "unavailable"}
    db.session.rollback()
    current_app.logger.exception("socket.io handler failed", exc_info=exc)
    return {"ok": False, "error": "server error"}
