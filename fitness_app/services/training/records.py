"""Personal records: the best distance and duration per activity, kept as rows.

A completion compares the workout with at most two stored bests instead of
rescanning history. The per-user lock taken before the read makes racing
completions see each other, so each record is announced exactly once. Only
editing or deleting the very workout that holds a record reads history: that
best is looked up again among the activity's workouts, quietly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db
from fitness_app.models import PersonalRecord, User, Workout, utcnow
from fitness_app.services import units
from fitness_app.services.notifications import store
from fitness_app.services.sql import lock_user
from fitness_app.services.training.goal_rules import format_number
from fitness_app.signals import (
    workout_changed,
    workout_completed,
    workout_deleted,
    workout_imported,
)

#: The measures a record is kept for, in the order a new record is announced.
MEASURES = {"distance_km": ("km", "km"), "duration_minutes": ("minute", "minutes")}
NOUNS = {"strength": "strength session", "yoga": "yoga session", "other": "workout"}


@dataclass(frozen=True)
class NewRecord:
    activity: str
    record: str
    value: float
    previous: float

    def message(self, unit: str = units.METRIC) -> str:
        """`Longest ride yet: 82 km, 12 km more than before`, distances in the user's unit."""
        noun = NOUNS.get(self.activity, self.activity)
        return (
            f"Longest {noun} yet: {_amount(self.record, self.value, unit)}, "
            f"{_amount(self.record, self.value - self.previous, unit)} more than before"
        )

    def data(self) -> dict[str, object]:
        return {"activity": self.activity, "record": self.record, "value": self.value,
                "previous": self.previous}


def _amount(record: str, value: float, unit: str) -> str:
    if record == "distance_km":
        return units.distance(value, unit)
    singular, plural = MEASURES[record]
    return f"{format_number(value)} {singular if value == 1 else plural}"


def beats(value: float | None, best: float | None) -> bool:
    """A new best: a real value above the stored one (the first one is not announced)."""
    return bool(value) and best is not None and value > best


def user_records(user_id: int) -> list[PersonalRecord]:
    return list(
        db.session.scalars(
            sa.select(PersonalRecord)
            .where(PersonalRecord.user_id == user_id)
            .order_by(PersonalRecord.activity, PersonalRecord.record)
        )
    )


def _bests(user_id: int, activity: str) -> dict[str, PersonalRecord]:
    """The stored bests of one activity, read after the per-user lock."""
    lock_user(user_id)
    return {
        row.record: row
        for row in db.session.scalars(_bests_of(), {"user_id": user_id, "activity": activity})
    }


@functools.cache
def _bests_of() -> sa.Select[Any]:
    """Built once per process: every completed workout runs it."""
    return (
        sa.select(PersonalRecord)
        .where(PersonalRecord.user_id == sa.bindparam("user_id"),
               PersonalRecord.activity == sa.bindparam("activity"))
        .execution_options(populate_existing=True)
    )


def _keep(workout: Workout) -> list[NewRecord]:
    """Store the workout's figures where they are the first or a better best.

    First bests (a user's first workout of an activity) are written by one
    Core INSERT, not added to the session: the ORM's flush of them cost more
    than the rest of that completion's records and streak work together.
    """
    stored = _bests(workout.user_id, workout.activity)
    news = []
    first = []
    for record in MEASURES:
        value = getattr(workout, record)
        if not value:
            continue
        row = stored.get(record)
        if row is None:
            first.append({"user_id": workout.user_id, "activity": workout.activity,
                          "record": record, "value": value,
                          "performed_on": workout.performed_on, "workout_id": workout.id,
                          "set_at": utcnow()})
        elif beats(value, row.value):
            news.append(NewRecord(workout.activity, record, float(value), row.value))
            row.value, row.performed_on, row.workout_id = value, workout.performed_on, workout.id
    if first:
        db.session.execute(_insert_bests(), first)
    return news


@functools.cache
def _insert_bests() -> sa.Insert:
    """Built once per process, its rows given at execution."""
    return sa.insert(PersonalRecord.__table__)


def check(workout: Workout) -> NewRecord | None:
    """Keep the bests up to date with a completed workout; announce one new record.

    When a workout beats both distance and duration, both are kept and the
    distance is announced: one popup per workout.
    """
    news = _keep(workout)
    if not news:
        return None
    new = news[0]
    unit = units.of(db.session.get(User, workout.user_id))
    store.notify(workout.user_id, "personal_record", "Personal record",
                 new.message(unit), new.data())
    return new


def settle(user_id: int, workout_id: int | None) -> None:
    """Look up again, quietly, the bests that `workout_id` held (None: a deleted holder).

    An edit may lower a mistyped figure or change the activity; the best is
    then the activity's best completed workout, or no record at all.
    """
    lock_user(user_id)
    held = db.session.scalars(
        sa.select(PersonalRecord).where(
            PersonalRecord.user_id == user_id,
            PersonalRecord.workout_id.is_(None) if workout_id is None
            else PersonalRecord.workout_id == workout_id,
        ).execution_options(populate_existing=True)
    ).all()
    for row in held:
        measure = getattr(Workout, row.record)
        best = db.session.execute(
            sa.select(Workout.id, measure, Workout.performed_on)
            .where(Workout.user_id == user_id, Workout.activity == row.activity,
                   Workout.completed_at.is_not(None), measure > 0)
            .order_by(measure.desc(), Workout.id)
            .limit(1)
        ).first()
        if best is None:
            db.session.delete(row)
        else:
            row.workout_id, row.value, row.performed_on = best


def _on_completed(sender: Workout, workout: Workout, **_: object) -> None:
    check(workout)


def _on_changed(sender: Workout, workout: Workout, **_: object) -> None:
    settle(workout.user_id, workout.id)
    db.session.flush()
    _keep(workout)


def _on_deleted(sender: Workout, workout: Workout, **_: object) -> None:
    settle(workout.user_id, None)


def _on_imported(sender: Workout, workout: Workout, **_: object) -> None:
    # History from a file: the bests move quietly; a years-old record is no news.
    _keep(workout)


def init_app(app: Flask) -> None:
    """Listen for workouts; connect once even when tests build many apps."""
    workout_completed.connect(_on_completed)
    workout_changed.connect(_on_changed)
    workout_deleted.connect(_on_deleted)
    workout_imported.connect(_on_imported)
