"""Logging, completing, editing and deleting workouts, each in one transaction.

Completion is the hook later features build on: it flips `completed_at` with a
conditional UPDATE (so racing requests complete a workout once), stores the
`workout_completed` notification, and sends the `workout_completed` signal for
the goals service, all before the single COMMIT.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import User, Workout, utcnow
from fitness_app.services import units
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.social import feed_items
from fitness_app.signals import (
    workout_changed,
    workout_completed,
    workout_deleted,
    workout_imported,
    workout_saved,
)

FIELDS = (
    "title", "activity", "duration_minutes", "distance_km", "performed_on", "visibility",
    "start_time",
)


class Completion(enum.Enum):
    COMPLETED = "completed"
    ALREADY_COMPLETED = "already_completed"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class WorkoutInput:
    title: str
    activity: str
    duration_minutes: int
    distance_km: float | None
    performed_on: date
    start_time: time | None = None
    # None: the owner's `default_visibility` (the column's default).
    visibility: str | None = None

    def as_dict(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in FIELDS}
        if values["visibility"] is None:
            del values["visibility"]
        return values


def summary(workout: Workout, unit: str = units.METRIC) -> str:
    """`Tempo run, 6.2 km in 31 min`: what a person wants to read in a popup, in their unit."""
    parts = [workout.title]
    if workout.distance_km:
        parts.append(f", {units.distance(workout.distance_km, unit)} in")
    else:
        parts.append(",")
    parts.append(f" {workout.duration_minutes} min")
    return "".join(parts)


def _completion_flow(workout: Workout) -> bool:
    """Store the notification and tell the listeners; True when followers may hear of it
    (decided here, inside the transaction, so a completion nobody follows starts no task)."""
    owner = db.session.get(User, workout.user_id)
    store.notify(
        workout.user_id,
        "workout_completed",
        "Workout completed",
        # Written once, in the owner's unit: the row is what every later read shows.
        summary(workout, units.of(owner)),
        {"workout_id": workout.id, "activity": workout.activity},
    )
    workout_completed.send(workout, workout=workout)
    return feed_items.may_reach_anyone(workout, owner)


def log_workout(user_id: int, data: WorkoutInput, completed: bool) -> Workout:
    """Save a workout; a completed one fires the completion flow in the same commit,
    and after it the followers' open feeds hear of it."""
    announce = False
    with delivery():
        # An ORM INSERT ... RETURNING: the row comes back as a persistent Workout without
        # a unit-of-work flush, which sorted every mapper related to workouts on each
        # completion (issue 25 measured it among the completion's added CPU).
        workout = db.session.scalars(_insert_returning(), [
            {"user_id": user_id, "completed_at": utcnow() if completed else None,
             **data.as_dict()},
        ]).one()
        workout_id = workout.id
        workout_saved.send(workout, workout=workout, created=True)
        if completed:
            announce = _completion_flow(workout)
    if announce:
        feed_items.announce_completed(workout_id)
    return workout


@functools.cache
def _insert_returning() -> sa.Insert:
    """Built once per process: one workout, returned as an ORM object."""
    return sa.insert(Workout).returning(Workout)


def add_past_workout(user_id: int, data: WorkoutInput, completed_at: datetime) -> Workout:
    """Store a completed workout read from a file, in the caller's transaction.

    No completion flow: an import of years of history announces nothing per
    workout. Records move quietly (`workout_imported`); the streak, totals and
    goals are brought up to date once per import (`goals.history_added`).
    """
    workout = Workout(user_id=user_id, completed_at=completed_at, **data.as_dict())
    db.session.add(workout)
    db.session.flush()
    workout_imported.send(workout, workout=workout)
    return workout


def complete_workout(user_id: int, workout_id: int) -> Completion:
    """Complete a planned workout once, however many requests race to do it;
    after the COMMIT, the followers' open feeds hear of it."""
    announce = False
    with delivery() as unit:
        result = db.session.execute(
            sa.update(Workout)
            .where(
                Workout.id == workout_id,
                Workout.user_id == user_id,
                Workout.completed_at.is_(None),
            )
            .values(completed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        completed = result.rowcount == 1
        if completed:
            workout = db.session.get(Workout, workout_id, populate_existing=True)
            announce = _completion_flow(workout)
        else:
            unit.abandon()
    if announce:
        feed_items.announce_completed(workout_id)
    if completed:
        return Completion.COMPLETED
    exists = db.session.scalar(
        sa.select(Workout.id).where(Workout.id == workout_id, Workout.user_id == user_id)
    )
    db.session.rollback()
    return Completion.ALREADY_COMPLETED if exists else Completion.NOT_FOUND


def update_workout(workout: Workout, data: WorkoutInput) -> None:
    """Apply an edit. Goals are re-checked when a completed workout's figures change;
    a planned one's reminder moves with its date and time."""
    with delivery():
        for name, value in data.as_dict().items():
            setattr(workout, name, value)
        db.session.flush()
        workout_saved.send(workout, workout=workout, created=False)
        if workout.completed:
            workout_changed.send(workout, workout=workout)


def delete_workout(workout: Workout) -> None:
    """Delete; a completed workout's streak is re-derived in the same commit."""
    with delivery():
        db.session.delete(workout)
        if workout.completed:
            db.session.flush()
            workout_deleted.send(workout, workout=workout)


def get_owned(user_id: int, workout_id: int) -> Workout | None:
    """A workout only if it belongs to the user; others' ids look like missing ones."""
    return db.session.scalar(
        sa.select(Workout).where(Workout.id == workout_id, Workout.user_id == user_id)
    )
