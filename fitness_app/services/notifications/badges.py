"""After an announcement: every online user's badge, refreshed in bounded batches.

An announcement changes the unread count of everyone online. Each batch reads
the counts of at most `BATCH` users (a fixed number of index lookups each),
groups them by count so one emit serves every room that shares it, sends, and
yields before the next batch: the cost grows with the users online, never
with users × announcements, and no batch holds the loop for long.
"""

from __future__ import annotations

from flask import Flask

from fitness_app import outages
from fitness_app.extensions import db, socketio
from fitness_app.realtime import presence, push
from fitness_app.realtime.rooms import user_room
from fitness_app.services.notifications.unread_counts import BATCH, unread_counts


def refresh_online() -> int:
    """Push the current unread count to every user online; returns how many."""
    online = sorted(presence.online_user_ids())
    for start in range(0, len(online), BATCH):
        counts = unread_counts(online[start : start + BATCH])
        db.session.rollback()
        by_count: dict[int, list[str]] = {}
        for user_id, count in counts.items():
            by_count.setdefault(count, []).append(user_room(user_id))
        push.fan_out(
            ("unread_count", {"count": count}, rooms) for count, rooms in by_count.items()
        )
    return len(online)


def refresh_online_in_background(app: Flask) -> None:
    """Start `refresh_online` as a background task, so the broadcast POST returns at once."""

    def run() -> None:
        try:
            # Through a database outage too: the badges are stale until it runs.
            outages.retry_through(app, "the badge refresh", refresh_online, patience=300)
        except Exception:  # noqa: BLE001 - a background task: log, never kill the worker
            app.logger.exception("badge refresh after an announcement failed")

    socketio.start_background_task(run)
