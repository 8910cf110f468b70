"""Storing notifications: one row per user event, one row per announcement.

`notify` adds a row to the current `delivery()` unit, which pushes it once the
transaction commits. Each notification and the unread counter it moves are
written in the same transaction.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Notification, User
from fitness_app.services import preferences
from fitness_app.services.delivery import current, delivery
from fitness_app.services.sql import lock_everyone, lock_user
from fitness_app.services.unread_counts import unread_expression


@functools.cache
def _one_more_unread() -> sa.Update:
    """Count one more unread and return the new total, announcements included.

    RETURNING saves the count query the push would otherwise need. Built once
    per process, like the count query: this runs on every notification.
    """
    users = User.__table__  # a Core UPDATE: the ORM's bulk-update machinery costs more
    return (
        sa.update(users)
        .where(users.c.id == sa.bindparam("user_id"))
        .values(unread_count=users.c.unread_count + 1)
        .returning(unread_expression())
    )


def notify(
    user_id: int | None,
    kind: str,
    title: str,
    message: str,
    data: dict[str, Any] | None = None,
    silent: bool | None = None,
) -> Notification:
    """Store a notification in the current `delivery()`; it is pushed once that commits.

    `user_id` None makes it an announcement for every user. The lock taken
    first keeps ids in commit order for everyone who sees the row, and keeps
    the counter and the watermark of "mark all read" consistent. `silent`
    None lets the user's settings decide (muted kinds, quiet hours);
    announcements are never silent.
    """
    unit = current()
    if user_id is None or kind == "announcement":
        silent = False
    elif silent is None:
        silent = preferences.silent_for(user_id, kind)
    notification = Notification(
        user_id=user_id, kind=kind, title=title, message=message, data=data or {},
        silent=silent,
    )
    if user_id is None:
        lock_everyone()
        notification.announcement_seq = (
            sa.select(sa.func.coalesce(sa.func.max(Notification.announcement_seq), 0) + 1)
            .scalar_subquery()
        )
    else:
        lock_user(user_id)
        unread = db.session.execute(_one_more_unread(), {"user_id": user_id}).scalar_one()
        unit.unread_is(user_id, unread)
    db.session.add(notification)
    unit.add(notification)
    return notification


def announce(author: User | None, message: str) -> Notification:
    """Store one announcement row for everyone, then emit it once to every connection.

    Badges are not refreshed here: `badges.refresh_online` does that in
    batches, after the response.
    """
    with delivery():
        notification = notify(
            None,
            "announcement",
            "Announcement",
            message,
            {"author": author.username if author else None},
        )
        notification.author_id = author.id if author else None
    return notification
