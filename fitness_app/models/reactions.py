"""Reactions to a workout: kudos, comments, and reports of comments to the admins."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models.common import GROWING_IDS, utcnow


class Kudos(db.Model):
    """`user` gave kudos to `workout`: once, by the primary key.

    `ix_kudos_workout_latest` lists a workout's latest givers without sorting
    them all; `ix_kudos_user` finds a user's kudos for the export and for
    account deletion (which takes them off the workouts' counters).
    """

    __tablename__ = "kudos"
    __table_args__ = (
        sa.Index("ix_kudos_workout_latest", "workout_id", "created_at"),
        sa.Index("ix_kudos_user", "user_id", "workout_id"),
    )

    workout_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class Comment(db.Model):
    """A plain-text comment on a workout, seen by whoever may see the workout.

    Its id is never reused (GROWING_IDS): a report or a page cursor names
    this comment and no later one.
    """

    __tablename__ = "comments"
    __table_args__ = (
        # The page, oldest first, in keyset pages.
        sa.Index("ix_comments_workout", "workout_id", "id"),
        # The distinct earlier commenters a new comment notifies, in batches.
        sa.Index("ix_comments_workout_user", "workout_id", "user_id"),
        # The export and account deletion.
        sa.Index("ix_comments_user", "user_id", "id"),
        GROWING_IDS,
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workout_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    body: so.Mapped[str] = so.mapped_column(sa.String(1000))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class CommentReport(db.Model):
    """Someone asked the admins to look at a comment; open until resolved.

    One open report per reporter and comment (a partial unique index), so
    pressing Report again adds nothing; the partial `ix_comment_reports_open`
    lists the open ones for /admin/reports without reading the resolved.
    Deleting the comment deletes its reports.
    """

    __tablename__ = "comment_reports"
    __table_args__ = (
        sa.Index(
            "uq_comment_reports_open",
            "comment_id",
            "reporter_id",
            unique=True,
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        ),
        sa.Index(
            "ix_comment_reports_open",
            "id",
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        ),
        GROWING_IDS,
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    comment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("comments.id", ondelete="CASCADE")
    )
    reporter_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    # When an admin dismissed it; NULL while open.
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
