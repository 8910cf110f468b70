"""Stored notifications, and the announcements each user read one by one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models.accounts import User
from fitness_app.models.common import GROWING_IDS, utcnow

NOTIFICATION_KINDS = (
    "workout_completed", "goal_achieved", "personal_record", "streak", "announcement"
)


class Notification(db.Model):
    """A stored notification. `user_id` NULL means an announcement to everyone."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_id_id", "user_id", "id"),
        sa.Index("uq_notifications_announcement_seq", "announcement_seq", unique=True),
        # Announcements only: "the last announcement at or below this id" is
        # then the first entry of a backward scan, however many personal
        # notifications lie between, and whatever the planner's statistics say.
        sa.Index(
            "ix_notifications_announcements",
            "id",
            "announcement_seq",
            postgresql_where=sa.text("user_id IS NULL"),
            sqlite_where=sa.text("user_id IS NULL"),
        ),
        GROWING_IDS,
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    # Indexed so deleting a user finds their announcements without a scan.
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    message: so.Mapped[str] = so.mapped_column(sa.String(500))
    data: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    read_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    # 1, 2, 3… over announcements only (NULL on personal rows): how many
    # announcements lie between two ids is a subtraction, not a count.
    announcement_seq: so.Mapped[int | None]
    # Decided once, at creation: the page shows no popup for a silent one.
    silent: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # The id, as a string, of the first notification of the action this one belongs
    # to (a completion, its goals, record and streak); NULL on that first one,
    # whose group is its own id (services/notifications/store.py).
    group_key: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    author: so.Mapped[User | None] = so.relationship(foreign_keys=[author_id])


class AnnouncementRead(db.Model):
    """An announcement one user read on its own, above their read watermark.

    Only single reads make these rows; "mark all read" moves the watermark and
    deletes the user's rows, so they never number users × announcements.
    """

    __tablename__ = "announcement_reads"

    notification_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed so deleting a user finds their read marks without a scan: the
    # primary key leads with notification_id.
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
