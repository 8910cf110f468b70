"""Marking notifications read: one by one, or all at once by moving a watermark.

Each change and the counter it moves are written in one transaction, under the
user's lock, so the stored count and the rows never disagree. A mark that
changes nothing commits nothing and pushes nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import AnnouncementRead, Notification, User, utcnow
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.notifications.inbox import visible_to
from fitness_app.services.notifications.unread_counts import announcements_watermark, is_unread_for
from fitness_app.services.sql import insert_ignoring_duplicates, lock_user


def mark_read(user: User, notification_id: int) -> bool:
    """Mark one notification read. False when it is not the user's to read."""
    row = db.session.execute(
        sa.select(Notification.user_id, is_unread_for(user)).where(
            Notification.id == notification_id, visible_to(user)
        )
    ).first()
    if row is None or not row[1]:
        db.session.rollback()
        return row is not None
    personal = row[0] is not None
    with delivery() as unit:
        lock_user(user.id)
        # The counter moves first, guarded by the watermark: a "mark all read"
        # that committed meanwhile has already counted this row as read.
        watermark = (
            User.read_through_id
            if personal
            else announcements_watermark(User.read_through_id, User.announcements_after_id)
        )
        guarded = db.session.execute(
            sa.update(User)
            .where(User.id == user.id, watermark < notification_id)
            .values(unread_count=User.unread_count - 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if guarded and personal:
            changed = db.session.execute(
                sa.update(Notification)
                .where(Notification.id == notification_id, Notification.read_at.is_(None))
                .values(read_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
        elif guarded:
            changed = insert_ignoring_duplicates(
                AnnouncementRead, {"notification_id": notification_id, "user_id": user.id}
            )
        else:
            changed = False
        if not changed:
            unit.abandon()
            return True
        unit.unread_changed(user.id)
    return True


def mark_all_read(user: User) -> None:
    """Move the user's watermark to the newest id: no row per notification read."""
    with delivery() as unit:
        lock_user(user.id)
        newest = sa.select(sa.func.coalesce(sa.func.max(Notification.id), 0)).scalar_subquery()
        db.session.execute(
            sa.update(User)
            .where(User.id == user.id)
            .values(unread_count=0, read_through_id=newest)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(sa.delete(AnnouncementRead).where(AnnouncementRead.user_id == user.id))
        unit.unread_changed(user.id)
