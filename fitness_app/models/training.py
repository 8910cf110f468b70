"""Workouts, goals and what they add up to: achievements, records, streaks, totals."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models.common import GROWING_IDS, utcnow

ACTIVITIES = ("run", "ride", "swim", "walk", "strength", "yoga", "other")

#: Who sees a workout (services/social/visibility.py): its owner only, the owner's
#: accepted followers too, or every signed-in user.
VISIBILITIES = ("private", "followers", "public")


def owner_default_visibility(context: Any) -> str:
    """A new workout's visibility when none is given: its owner's `default_visibility`.

    A column default, so every way a workout is inserted (the form, an import,
    a script) follows the owner's setting, not only the form that shows it.
    """
    user_id = context.get_current_parameters().get("user_id")
    users = sa.table("users", sa.column("id"), sa.column("default_visibility"))
    chosen = context.connection.scalar(
        sa.select(users.c.default_visibility).where(users.c.id == user_id)
    )
    return chosen or "followers"


class Workout(db.Model):
    __tablename__ = "workouts"
    __table_args__ = (
        sa.Index("ix_workouts_user_day", "user_id", "performed_on"),
        # Completed workouts of one owner and one visibility, newest first: the
        # profiles read one range of it per (owner, visibility)
        # they may see (services/social/visibility.py, `levels_for`), so no page grows with
        # history, nor walks past workouts the viewer may not see.
        sa.Index(
            "ix_workouts_shared",
            "user_id",
            "visibility",
            "performed_on",
            "id",
            postgresql_where=sa.text("completed_at IS NOT NULL"),
            sqlite_where=sa.text("completed_at IS NOT NULL"),
        ),
        # The same per (owner, visibility), in id order: the feed takes each
        # followed person's newest 20 ids below `before` from one range of it
        # (services/social/feed.py), however long their history.
        sa.Index(
            "ix_workouts_feed",
            "user_id",
            "visibility",
            "id",
            postgresql_where=sa.text("completed_at IS NOT NULL"),
            sqlite_where=sa.text("completed_at IS NOT NULL"),
        ),
        GROWING_IDS,
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(120))
    activity: so.Mapped[str] = so.mapped_column(sa.String(16))
    duration_minutes: so.Mapped[int]
    distance_km: so.Mapped[float | None]
    performed_on: so.Mapped[date] = so.mapped_column(sa.Date)
    # When it starts, on the wall clock of the user's zone (the form's `time`);
    # optional. A planned workout with a time gets a reminder.
    start_time: so.Mapped[time | None] = so.mapped_column(sa.Time)
    # NULL while planned; set once, by a conditional UPDATE, when completed.
    completed_at: so.Mapped[datetime | None] = so.mapped_column(
        sa.DateTime(timezone=True)
    )
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    visibility: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=owner_default_visibility, server_default="followers"
    )
    # Kept by services/social/kudos.py and comments.py in the same transaction
    # as each change, so the page never counts rows.
    kudos_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    comments_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class Goal(db.Model):
    __tablename__ = "goals"
    __table_args__ = GROWING_IDS

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))
    target: so.Mapped[float]
    period: so.Mapped[str] = so.mapped_column(sa.String(16))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    achievements: so.WriteOnlyMapped[Achievement] = so.relationship(
        back_populates="goal", cascade="all, delete-orphan", passive_deletes=True
    )


class Achievement(db.Model):
    """A goal reached within one period; the unique key makes it happen once."""

    __tablename__ = "achievements"
    __table_args__ = (sa.UniqueConstraint("goal_id", "period_key"), GROWING_IDS)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    goal_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("goals.id", ondelete="CASCADE")
    )
    period_key: so.Mapped[str] = so.mapped_column(sa.String(32))
    achieved_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    goal: so.Mapped[Goal] = so.relationship(back_populates="achievements")


class PersonalRecord(db.Model):
    """A user's best so far for one activity and one measure: one row, never a rescan."""

    __tablename__ = "personal_records"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    activity: so.Mapped[str] = so.mapped_column(sa.String(16), primary_key=True)
    record: so.Mapped[str] = so.mapped_column(sa.String(24), primary_key=True)
    value: so.Mapped[float]
    performed_on: so.Mapped[date] = so.mapped_column(sa.Date)
    # The workout that holds the record; NULL once it is deleted (then recomputed).
    workout_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="SET NULL")
    )
    set_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Streak(db.Model):
    """A user's latest run of consecutive local days with a completed workout.

    `since`..`last_day` are the run's first and last days; `notified` is the
    highest milestone announced for this run, so each is announced once.
    """

    __tablename__ = "streaks"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    since: so.Mapped[date] = so.mapped_column(sa.Date)
    last_day: so.Mapped[date] = so.mapped_column(sa.Date)
    notified: so.Mapped[int] = so.mapped_column(default=0)


class WorkoutTotals(db.Model):
    """What a user's completed workouts add up to, all time: a counter, not a rescan."""

    __tablename__ = "workout_totals"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    workouts: so.Mapped[int] = so.mapped_column(default=0)
    duration_minutes: so.Mapped[int] = so.mapped_column(default=0)
    distance_km: so.Mapped[float] = so.mapped_column(default=0.0)
