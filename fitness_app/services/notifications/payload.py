"""The `notification` event payload, the same for live pushes, replay and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fitness_app.models import Notification
from fitness_app.services.notifications.links import Links


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; SQLite hands datetimes back without a zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Stored:
    """A personal notification just written by `store.notify_many`, with its row's values.

    Read by `serialize` exactly as a `Notification` is; a plain record because
    building an ORM object per row cost more than the batch's INSERT of it.
    """

    id: int
    user_id: int
    kind: str
    title: str
    message: str
    data: dict[str, Any]
    created_at: datetime
    silent: bool
    group_key: str | None = None
    author_id: int | None = None
    announcement_seq: int | None = None
    read_at: datetime | None = None


def serialize(notification: Notification | Stored, links: Links) -> dict[str, Any]:
    """The `notification` event payload named in the interface contract.

    A stored notification is serialised with the `links` of its batch
    (`links.links_for`), so one whose workout was deleted leads to the
    workouts list, and one quoting a deleted comment quotes nothing; one
    created in this transaction with `links.FRESH`.
    """
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "message": links.message(notification),
        "created_at": iso_utc(notification.created_at),
        "data": notification.data or {},
        "url": links.url(notification),
        "silent": bool(notification.silent),
        "group": group_of(notification),
    }


def group_of(notification: Notification) -> str:
    """The group key: the first notification of the action stores NULL and is keyed by its id."""
    return notification.group_key or str(notification.id)
