"""The admins' live figures: a background loop that emits `presence` when they change."""

from __future__ import annotations

from flask import Flask

from fitness_app.extensions import socketio
from fitness_app.realtime import presence, push, queue
from fitness_app.realtime.rooms import ADMINS_ROOM

_LOOP_KEY = "fitness_presence_loop"


def ensure_presence_loop(app: Flask) -> None:
    """Start the loop once per app, at the first connection."""
    if app.extensions.get(_LOOP_KEY):
        return
    app.extensions[_LOOP_KEY] = {"stop": False}
    socketio.start_background_task(_presence_loop, app)


def _presence_loop(app: Flask) -> None:
    """Tell admins the online figures when they change; keep this worker's entry alive.

    And notice another worker's death (its entry expired), so that what it
    stored and died before publishing reaches this worker's connections.

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
                if store.departed():
                    queue.worker_departed(app, store.ttl)
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
