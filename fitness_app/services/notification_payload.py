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
        "silent": bool(notification.silent),
    }
