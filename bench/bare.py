"""The bare reference server: the app's Socket.IO stack with no database and no auth.

`bench/run.py` measures the app against this server, side by side and with the
same load client, so each figure reads as "how much of what Flask-SocketIO on
eventlet can do on this machine does the app keep". It is served exactly as
`app.py` serves the app (same monkey-patching, collector setting, listening
socket and server from `deploy/serving.py`, ping settings, no WebSocket compression,
the same Redis message queue when REDIS_URL is set), and it sends the same
events for the same requests: a workout POST emits `notification` and
`unread_count` to the user's room; a broadcast POST emits one `notification`
to everyone. What is missing is exactly what the app adds: sessions, logins,
CSRF, forms, SQL and templates.

A client names its user in `auth: {"user": <id>}`; nothing checks it.
"""

import os

ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import gc  # noqa: E402
import itertools  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import ConnectionRefusedError, SocketIO, join_room  # noqa: E402
from werkzeug.wrappers import Response  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from deploy import serving  # noqa: E402

# The same collector setting as app.py; see the reason there.
gc.set_threshold(100_000, 10, 10)
app = Flask(__name__)
socketio = SocketIO(
    app,
    async_mode=ASYNC_MODE,
    message_queue=os.environ.get("REDIS_URL") or None,
    max_http_buffer_size=64 * 1024,
    ping_interval=int(os.environ.get("SOCKETIO_PING_INTERVAL", "25")),
    ping_timeout=int(os.environ.get("SOCKETIO_PING_TIMEOUT", "20")),
)
_inner_wsgi_app = app.wsgi_app


def _without_compression_offer(environ: dict[str, Any], start_response: Any) -> Any:
    """The app's transport setting (fitness_app/realtime/transport.py): no permessage-deflate."""
    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
    return _inner_wsgi_app(environ, start_response)


app.wsgi_app = _without_compression_offer
_ids = itertools.count(1)
_unread: dict[int, int] = {}


def _payload(kind: str, title: str, message: str, data: dict[str, Any]) -> dict[str, Any]:
    """The app's `notification` payload, so both servers put the same bytes on the wire."""
    return {
        "id": next(_ids),
        "kind": kind,
        "title": title,
        "message": message,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    """Join the room of the user the client names; refuse a client that names none."""
    user = auth.get("user") if isinstance(auth, dict) else None
    if isinstance(user, bool) or not isinstance(user, int):
        raise ConnectionRefusedError("unauthorized")
    join_room(f"user:{user}")


@app.post("/notify/<int:user_id>")
def notify(user_id: int) -> tuple[str, int]:
    """The app's workout completion without the workout: one notification, one count."""
    title = request.form.get("title", "")
    minutes = request.form.get("duration_minutes", "0")
    payload = _payload(
        "workout_completed",
        "Workout completed",
        f"{title}, {minutes} min",
        {"workout_id": len(_unread) + 1, "activity": request.form.get("activity", "run")},
    )
    room = f"user:{user_id}"
    socketio.emit("notification", payload, to=room)
    _unread[user_id] = _unread.get(user_id, 0) + 1
    socketio.emit("unread_count", {"count": _unread[user_id]}, to=room)
    return "", 204


@app.post("/broadcast")
def broadcast() -> tuple[str, int]:
    """An announcement: one emit to every connection."""
    message = request.form.get("message", "")
    socketio.emit("notification", _payload("announcement", "Announcement", message, {}))
    return "", 204


@app.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


if __name__ == "__main__":
    listener = serving.listen(os.environ.get("HOST", "127.0.0.1"),
                              int(os.environ.get("PORT", "5001")), ASYNC_MODE)
    serving.serve(app, listener, ASYNC_MODE, log_output=False,
                  max_connections=int(os.environ.get("MAX_CONNECTIONS", "20000")))
