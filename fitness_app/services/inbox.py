"""Which notifications a user may see, read through index range scans only.

Personal rows are found by `(user_id, id)`; announcements by the same index
with `user_id` NULL, above the id the user joined at. Replay on connect, the
inbox page and `/api/notifications` all stay range scans, whatever the age of
the data.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Notification, User


def visible_to(user: User) -> sa.ColumnElement[bool]:
    """Rows a user may see: their own, and announcements made since they joined."""
    return sa.or_(
        Notification.user_id == user.id,
        sa.and_(
            Notification.user_id.is_(None), Notification.id > user.announcements_after_id
        ),
    )


def list_after(user: User, after: int, limit: int) -> list[Notification]:
    """The user's notifications with an id above `after`, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(visible_to(user), Notification.id > after)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def inbox_query(user: User) -> sa.Select[Any]:
    """Everything the user may see, newest first."""
    return sa.select(Notification).where(visible_to(user)).order_by(Notification.id.desc())


def latest_id(user: User) -> int:
    """The highest id the user may see: two index lookups, one per kind of row."""
    personal = sa.select(sa.func.max(Notification.id)).where(Notification.user_id == user.id)
    announced = sa.select(sa.func.max(Notification.id)).where(
        Notification.user_id.is_(None), Notification.id > user.announcements_after_id
    )
    return max(db.session.scalar(personal) or 0, db.session.scalar(announced) or 0)
