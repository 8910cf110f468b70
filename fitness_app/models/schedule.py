"""The scheduler's due rows (services/schedule/)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models.common import GROWING_IDS


class DueItem(db.Model):
    """Something to do at `due_at` (UTC): a reminder, a nudge, a summary, a digest.

    The scheduler (services/schedule/) claims the rows whose time has come
    through the `due_at` index, does the work and deletes the row (a reminder)
    or moves `due_at` to the next occurrence, all in one transaction. A
    reminder belongs to its workout (deleted with it); the daily and weekly
    kinds are one row per user and kind.
    """

    __tablename__ = "due_items"
    __table_args__ = (
        sa.Index("ix_due_items_due_at", "due_at"),
        sa.Index("ix_due_items_user_id", "user_id"),
        sa.Index(
            "uq_due_items_user_kind",
            "user_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("workout_id IS NULL"),
            sqlite_where=sa.text("workout_id IS NULL"),
        ),
        GROWING_IDS,
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    workout_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="CASCADE"), unique=True
    )
    due_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True))
