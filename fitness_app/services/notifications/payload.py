"""The `notification` event payload, the same for live pushes, replay and the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fitness_app.models import Notification
from fitness_app.services.notifications.links import Links


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; SQLite hands datetimes back without a zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def serialize(notification: Notification, links: Links) -> dict[str, Any]:
    """The `notification` event payload named in the interface contract.

    A stored notification is serialised with the `links` of its batch
    (`links.links_for`), so one whose workout was deleted leads to the
    workouts list; one created in this transaction with `links.FRESH`.
    """
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "message": notification.message,
        "created_at": iso_utc(notification.created_at),
        "data": notification.data or {},
        "url": links.url(notification),
        "silent": bool(notification.silent),
        "group": group_of(notification),
    }


def group_of(notification: Notification) -> str:
    """The group key: the first notification of the action stores NULL and is keyed by its id."""
    return notification.group_key or str(notification.id)
