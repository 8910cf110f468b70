"""Marking notifications read: one by one, a popup's group at once, or all by a watermark.

Each change and the counter it moves are written in one transaction, under the
user's lock, so the stored count and the rows never disagree. A mark that
changes nothing commits nothing and pushes nothing.
"""

from __future__ import annotations

from collections.abc import Collection

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


MAX_MARKED = 50  # far above any group; a bound on what one request may ask


def mark_many_read(user: User, ids: Collection[int]) -> bool:
    """Mark several notifications read in one transaction: a popup's group, one click.

    False, and nothing marked, when any id is not the user's to read. One
    unread count is pushed, whatever the number marked; ids already read
    change nothing.
    """
    wanted = sorted(set(ids))
    if not 0 < len(wanted) <= MAX_MARKED:
        raise ValueError(f"mark 1 to {MAX_MARKED} notifications at once")
    found = db.session.execute(
        sa.select(Notification.id, Notification.user_id).where(
            Notification.id.in_(wanted), visible_to(user)
        )
    ).all()
    if len(found) != len(wanted):
        db.session.rollback()
        return False
    with delivery() as unit:
        lock_user(user.id)
        # The first statement writes the users row, so SQLite too reads the
        # watermarks inside the write transaction that a "mark all read" would
        # otherwise slip in front of (a leading SELECT runs before BEGIN there).
        users = User.__table__
        read_through, joined = db.session.execute(
            sa.update(users)
            .where(users.c.id == user.id)
            .values(unread_count=users.c.unread_count)
            .returning(users.c.read_through_id, users.c.announcements_after_id)
        ).one()
        personal = [i for i, owner in found if owner is not None and i > read_through]
        announced = [i for i, owner in found if owner is None and i > max(read_through, joined)]
        changed = 0
        if personal:
            changed += db.session.execute(
                sa.update(Notification)
                .where(Notification.id.in_(personal), Notification.read_at.is_(None))
                .values(read_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
        for notification_id in announced:
            changed += insert_ignoring_duplicates(
                AnnouncementRead, {"notification_id": notification_id, "user_id": user.id}
            )
        if not changed:
            unit.abandon()
            return True
        db.session.execute(
            sa.update(User)
            .where(User.id == user.id)
            .values(unread_count=User.unread_count - changed)
            .execution_options(synchronize_session=False)
        )
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
