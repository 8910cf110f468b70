"""Workout reminders: planned with the workout, sent at its start minus the user's lead.

The rows are written by the listeners below, inside the transaction that logs,
edits or completes the workout (`fitness_app.signals`), so completing or moving
a workout cancels or moves its reminder in the same COMMIT; deleting it
deletes the row by ON DELETE CASCADE.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db
from fitness_app.models import User, Workout, utcnow
from fitness_app.services import preferences, timezones
from fitness_app.services.notifications import store
from fitness_app.services.notifications.payload import iso_utc
from fitness_app.services.schedule import plan
from fitness_app.services.schedule.batch import Claimed, Work
from fitness_app.signals import workout_completed, workout_saved

if TYPE_CHECKING:
    from fitness_app.services.schedule.plan import Person


def run(items: list[Claimed], users: dict[int, Person], now: datetime) -> Work:
    """A reminder for each claimed row whose workout is still planned with a time."""
    ids = [item.workout_id for item in items if item.workout_id is not None]
    workouts = {w.id: w for w in db.session.scalars(sa.select(Workout).where(Workout.id.in_(ids)))}
    drafts: list[store.Draft] = []
    for item in items:
        workout = workouts.get(item.workout_id)
        user = users.get(item.user_id)
        if workout is None or user is None or workout.completed_at is not None:
            continue
        start = plan.starts_at(workout, user.timezone)
        if start is None:
            continue
        local = timezones.local_time(start, user.timezone)
        drafts.append(store.Draft(
            user.id,
            "reminder",
            f"{workout.title} at {local:%H:%M}",
            starts_in(start, now, local),
            {"workout_id": workout.id, "starts_at": iso_utc(start)},
            silent=preferences.is_silent(user, "reminder", now),
        ))
    return Work(drafts)


def starts_in(start: datetime, now: datetime, local: datetime) -> str:
    """`Starts in 30 minutes.`: the lead as a person says it, from the moment it is sent."""
    minutes = round((start - now) / timedelta(minutes=1))
    if minutes < 0:
        return f"It was planned to start at {local:%H:%M}."
    if minutes == 0:
        return "It starts now."
    if minutes < 60:
        return f"It starts in {minutes} minute{'s' if minutes != 1 else ''}."
    hours, rest = divmod(minutes, 60)
    if hours >= 20:
        return f"It starts at {local:%H:%M} on {local:%A}."
    if rest == 0:
        return f"It starts in {hours} hour{'s' if hours != 1 else ''}."
    return f"It starts in {hours} h {rest} min."


def _on_saved(sender: Any, workout: Workout, created: bool, **extra: Any) -> None:
    if created and (workout.completed_at is not None or workout.start_time is None):
        return  # a new row without a reminder to plan: nothing to read or write
    user = db.session.get(User, workout.user_id)
    if user is not None:
        plan.plan_reminder(workout, user, utcnow())


def _on_completed(sender: Any, workout: Workout, **extra: Any) -> None:
    if workout.start_time is None:
        return  # reminders are planned only for workouts with a time: none to cancel
    plan.cancel_reminder(workout.id)


def init_app(app: Flask) -> None:
    """Listen for workouts; blinker connects each receiver once, however many apps."""
    workout_saved.connect(_on_saved)
    workout_completed.connect(_on_completed)
