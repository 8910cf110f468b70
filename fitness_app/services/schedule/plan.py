"""Writing a user's due rows, always inside the caller's transaction.

Whatever changes when something is due (settings saved, a workout logged,
edited or completed) rewrites the rows in the same transaction, so a moved or
cancelled reminder commits, or rolls back, with the change that moved it.
Deleting a workout or a user deletes their rows by ON DELETE CASCADE.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import DueItem, User, Workout
from fitness_app.services import timezones
from fitness_app.services.schedule import clock

REMINDER = "reminder"
#: The kinds that come back every day or week: one row per user and kind.
RECURRING = ("goal_nudge", "weekly_summary", "digest")


class Person(Protocol):
    """What the scheduler reads of a user: a `User`, or a row of `PERSON_COLUMNS`.

    The loop reads its batches' users as plain rows: building and expiring an
    ORM object per user cost more than the rest of a nudge.
    """

    id: int
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    muted: str
    units: str
    goal_count: int
    reminder_minutes: int | None
    nudge_time: time | None
    summary_day: str | None
    summary_time: time | None
    digest_time: time | None


PERSON_COLUMNS = (
    User.id, User.timezone, User.quiet_start, User.quiet_end, User.muted, User.units,
    User.goal_count,
    User.reminder_minutes, User.nudge_time, User.summary_day, User.summary_time,
    User.digest_time,
)


def aware(moment: datetime) -> datetime:
    """A stored instant as an aware UTC datetime (SQLite hands them back without a zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def starts_at(workout: Workout, zone_name: str | None) -> datetime | None:
    """When a workout with a time starts, in UTC: its date and time on the user's clock."""
    if workout.start_time is None:
        return None
    return clock.at_local(workout.performed_on, workout.start_time, timezones.zone(zone_name))


def reminder_due(workout: Workout, user: Person) -> datetime | None:
    """When a planned workout's reminder is due, or None when it gets none."""
    start = starts_at(workout, user.timezone)
    if workout.completed_at is not None or start is None or user.reminder_minutes is None:
        return None
    return start - timedelta(minutes=user.reminder_minutes)


def next_due(user: Person, kind: str, after: datetime) -> datetime | None:
    """The first instant after `after` of a recurring kind, from the user's settings."""
    zone = timezones.zone(user.timezone)
    if kind == "goal_nudge" and user.nudge_time is not None:
        return clock.next_daily(user.nudge_time, zone, after)
    if kind == "digest" and user.digest_time is not None:
        return clock.next_daily(user.digest_time, zone, after)
    if (kind == "weekly_summary" and user.summary_day in clock.WEEKDAYS
            and user.summary_time is not None):
        return clock.next_weekly(user.summary_day, user.summary_time, zone, after)
    return None


def plan_reminder(workout: Workout, user: User, now: datetime) -> None:
    """Give the workout the reminder its date, time and state call for now (or none).

    A reminder whose moment has already passed is not planned: the person is
    looking at the workout as they save it.
    """
    cancel_reminder(workout.id)
    due = reminder_due(workout, user)
    if due is not None and due > now:
        db.session.execute(sa.insert(DueItem).values(
            kind=REMINDER, user_id=user.id, workout_id=workout.id, due_at=due))


def cancel_reminder(workout_id: int) -> None:
    db.session.execute(sa.delete(DueItem).where(DueItem.workout_id == workout_id))


def replan_user(user: User, now: datetime) -> None:
    """Rewrite every due row of the user from their settings: zone, times, reminder lead.

    Reminders are re-derived from the planned workouts that can still be ahead
    (from yesterday on, in the user's zone): a read of the (user_id,
    performed_on) index over a few days, however long the user's history.
    """
    db.session.execute(sa.delete(DueItem).where(DueItem.user_id == user.id))
    rows = [
        {"kind": kind, "user_id": user.id, "workout_id": None, "due_at": due}
        for kind in RECURRING
        if (due := next_due(user, kind, now)) is not None
    ]
    if user.reminder_minutes is not None:
        since = timezones.local_today(user.timezone, now) - timedelta(days=1)
        planned = db.session.scalars(sa.select(Workout).where(
            Workout.user_id == user.id,
            Workout.performed_on >= since,
            Workout.completed_at.is_(None),
            Workout.start_time.is_not(None),
        ))
        rows += [
            {"kind": REMINDER, "user_id": user.id, "workout_id": workout.id, "due_at": due}
            for workout in planned
            if (due := reminder_due(workout, user)) is not None and due > now
        ]
    if rows:
        db.session.execute(sa.insert(DueItem), rows)


def upcoming(user: User) -> dict[str, datetime]:
    """The next moment of each recurring kind the user has on: the settings page shows them."""
    rows = db.session.execute(sa.select(DueItem.kind, DueItem.due_at).where(
        DueItem.user_id == user.id, DueItem.workout_id.is_(None)))
    return {kind: aware(due) for kind, due in rows}
