"""The `notification` event payload, the same for live pushes, replay and the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fitness_app.models import Notification


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; SQLite hands datetimes back without a zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def serialize(notification: Notification) -> dict[str, Any]:
    """The `notification` event payload named in the interface contract."""
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "message": notification.message,
        "created_at": iso_utc(notification.created_at),
        "data": notification.data or {},
        "url": page_for(notification),
        "silent": bool(notification.silent),
    }


def page_for(notification: Notification) -> str:
    """The local path a popup or inbox row leads to: the page the notification is about.

    Literal paths rather than `url_for`, because `flask announce` serialises
    outside any request, where `url_for` cannot build URLs.
    """
    data = notification.data or {}
    if notification.kind == "workout_completed" and isinstance(data.get("workout_id"), int):
        return f"/workouts/{data['workout_id']}/edit"
    if notification.kind == "workout_completed":
        return "/workouts/"
    if notification.kind in ("goal_achieved", "personal_record", "streak"):
        return "/goals/"
    if notification.kind == "announcement":
        return "/notifications/"
    if notification.kind == "import_finished" and isinstance(data.get("import_id"), int):
        return f"/workouts/imports/{data['import_id']}"
    return "/"
